"""Instructor and maintainer tooling; students never import it.

What lives where:

* ``helpers/`` is the library the notebooks import (cells, data, training, plots,
  checks, config); it is the one installed package (``pip install -e .``).
* ``tools/`` is run from the repository root and is not installed: ``python -m
  tools.exercises ...``; pytest finds it through ``pythonpath = ["."]`` in
  ``pyproject.toml``; ``benchmarks/run.py`` puts the repository root on its path.

  - :mod:`tools.notebooks`: the chapter files, a kernel of this environment,
    executing a notebook (:func:`~tools.notebooks.execute`) or snippets in one
    long-lived kernel (:class:`~tools.notebooks.Kernel`);
  - :mod:`tools.exercises`: the exercise format check, the student versions built with
    nbgrader's own preprocessors, and the visible / hidden-only parts of a check cell;
  - :mod:`tools.wrong_answers`: the harness that runs each exercise's stub, wrong
    answers (``tests/wrong_answers/chNN.py``) and reference solution in one kernel
    per chapter (``tests/test_wrong_answers.py``, ``python -m tools.exercises verify``);
  - :mod:`tools.edition`, :mod:`tools.student_run`: the student edition handed out
    (``python3 tasks.py edition``) and its own test command;
  - :mod:`tools.book`: the read-only HTML book (``python3 tasks.py book``).
"""
