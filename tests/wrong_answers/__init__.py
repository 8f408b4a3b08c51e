"""Wrong answers for the chapter exercises: the misconceptions each check must reject.

One module per chapter, ``tests/wrong_answers/chNN.py``, holds a dict::

    WRONG_ANSWERS = {
        1: {  # exercise number
            "what the student got wrong, in a few words": '''
    n_params = 32 * 32          # forgot the input weights and both biases
    ''',
            ...
        },
        ...
    }

Each source replaces the whole solution cell (what a student would have typed there, no
nbgrader markers); it is dedented, so it may be indented inside the triple quotes.

``tests/test_wrong_answers.py`` runs the harness ``tools/wrong_answers.py`` (its docstring is
the full definition): one kernel per chapter (CI profile), the teaching cells run once, and at
each exercise every wrong answer, the reference solution and the student stub run in turn from
the same saved state (names bound since the save deleted, rebound names and the random states
restored). Each wrong answer must run without error and then be rejected with an
``AssertionError`` both by

* the visible check: the check cell with its hidden-test regions removed (what students see),
* the hidden tests alone: the check cell with every ``assert`` outside the hidden regions
  turned into ``pass`` and every other top-level statement outside them wrapped in
  ``try/except AssertionError``, so the set-up lines still run but only a hidden test rejects.

The reference solution must pass both; the stub must fail with ``NotImplementedError`` only
(from the stub cell, or from the check calling a stubbed function). Every exercise of every
chapter with exercises has at least two wrong answers. Run one chapter with
``python -m pytest tests/test_wrong_answers.py -k ch05`` or ``python -m tools.exercises verify
notebooks/05_forecasting.ipynb``.
"""
