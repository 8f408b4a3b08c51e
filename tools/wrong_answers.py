"""The wrong-answer harness: does each exercise's check reject the misconceptions it targets?

For one chapter notebook and its wrong answers (``tests/wrong_answers/chNN.py``, format in
``tests/wrong_answers/__init__.py``), :func:`run_chapter` starts one kernel (CI profile,
``RNN_PROGRESS=0``, ``OMP_NUM_THREADS=1``, ``MPLBACKEND=agg``, working folder ``notebooks/``)
and walks the notebook once, top to bottom:

* a teaching cell runs once, as it stands (its errors are recorded);
* at an exercise, the namespace and the random-number states are saved, and then each
  *variant* of the solution cell runs from that saved state: every wrong answer, then the
  reference solution, then the student stub. Before each variant the namespace is reset:
  every name bound since the save is deleted, every rebound name gets its saved object back
  (shallow: an object changed in place stays changed), and the random states (``random``,
  NumPy, torch, CUDA) are restored. After a wrong answer or the reference:

  - the **visible check** runs: the check cell with its hidden-test regions removed,
    exactly what students see;
  - the namespace is put back to what the variant left, and the **hidden tests alone**
    run: the check cell in which every ``assert`` outside the hidden regions is replaced
    by ``pass`` and every top-level statement outside them is wrapped in ``try: ...
    except AssertionError: pass`` (:func:`tools.exercises.hidden_only_check`). The
    set-up lines run, so the hidden tests find the names they need, but only a hidden
    test can raise ``AssertionError``;

  after the stub, the visible check runs. The stub's state is the one the chapter
  continues with, as in the student version, so later teaching cells run without the
  solution.

:func:`exercise_problems` then judges: the stub fails only with ``NotImplementedError``
(raised by the stub cell, or by the check calling a stubbed function); each wrong answer
runs without error and both the visible check and the hidden tests alone raise
``AssertionError``; the reference passes both. :func:`listing_problems` requires a module
for every chapter with exercises and at least :data:`MIN_WRONG_ANSWERS` per exercise.

Command line: ``python -m tools.exercises verify [notebooks...]``.
"""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tools.exercises import (
    STUB_RAISE,
    find_exercises,
    hidden_line_ranges,
    hidden_only_check,
    student_version,
    visible_check,
)
from tools.notebooks import ROOT, Kernel, RunResult, chapter_number

WRONG_ANSWERS_DIR = ROOT / "tests" / "wrong_answers"
MIN_WRONG_ANSWERS = 2
KERNEL_ENV = {"RNN_PROFILE": "ci", "RNN_PROGRESS": "0", "OMP_NUM_THREADS": "1", "MPLBACKEND": "agg"}
REFERENCE, STUB = "reference solution", "student stub"

# Installed in the kernel as the module `_rnn_harness` (it binds no user name).
_KERNEL_HELPER = '''
import random, re, sys

_IPYTHON = re.compile(r"^(_{1,3}|_i+|_i\\d+|_\\d+|In|Out|_oh|_ih|_dh|exit|quit|get_ipython)$")
_MISSING = object()
_saved = []


def _rng_states():
    states = {"random": random.getstate()}
    if "numpy" in sys.modules:
        states["numpy"] = sys.modules["numpy"].random.get_state()
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        states["torch"] = torch.get_rng_state()
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states):
    random.setstate(states["random"])
    if "numpy" in states:
        sys.modules["numpy"].random.set_state(states["numpy"])
    if "torch" in states:
        sys.modules["torch"].set_rng_state(states["torch"])
    if "cuda" in states:
        sys.modules["torch"].cuda.set_rng_state_all(states["cuda"])


def save(ns):
    _saved.append((dict(ns), _rng_states()))


def reset(ns, drop=False):
    names, rng = _saved[-1]
    for key in [k for k in ns if k not in names and not _IPYTHON.match(k)]:
        del ns[key]
    for key, value in names.items():
        if not _IPYTHON.match(key) and ns.get(key, _MISSING) is not value:
            ns[key] = value
    _set_rng_states(rng)
    if drop:
        _saved.pop()


def forget():
    _saved.pop()


def close_figures():
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
'''
_INSTALL = f'''
def __rnn_install():
    import sys, types
    module = types.ModuleType("_rnn_harness")
    exec({_KERNEL_HELPER!r}, module.__dict__)
    sys.modules["_rnn_harness"] = module
__rnn_install()
del __rnn_install
'''
_SAVE = '__import__("_rnn_harness").save(globals())'
_RESET = '__import__("_rnn_harness").reset(globals())'
_DROP = '__import__("_rnn_harness").reset(globals(), drop=True)'
_FORGET = '__import__("_rnn_harness").forget()'
_CLOSE = '__import__("_rnn_harness").close_figures()'


# ---------------------------------------------------------------- the wrong answers


def wrong_answers_path(chapter: int) -> Path:
    """Where chapter ``chapter``'s wrong answers live: ``tests/wrong_answers/chNN.py``."""
    return WRONG_ANSWERS_DIR / f"ch{chapter:02d}.py"


def load_wrong_answers(path: Path) -> dict[int, dict[str, str]] | None:
    """The ``WRONG_ANSWERS`` dict of a chapter module, checked; None when the file is missing."""
    path = Path(path)
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"wrong_answers_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = getattr(module, "WRONG_ANSWERS", None)
    if not isinstance(found, dict):
        raise ValueError(f"{path.name} must define WRONG_ANSWERS = {{exercise number: {{misconception: "
                         f"source}}}} (see tests/wrong_answers/__init__.py), found {type(found).__name__}")
    for number, answers in found.items():
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"{path.name}: the keys of WRONG_ANSWERS are exercise numbers (int), "
                             f"got {number!r}")
        if not isinstance(answers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in answers.items()):
            raise ValueError(f"{path.name}: WRONG_ANSWERS[{number}] must map a misconception (str) to the "
                             "source that replaces the solution cell (str)")
    return {number: {label: textwrap.dedent(source).strip("\n") for label, source in answers.items()}
            for number, answers in found.items()}


def listing_problems(exercise_numbers: Iterable[int], wrong: Mapping[int, Mapping[str, str]] | None,
                     module: str) -> list[str]:
    """Each exercise needs at least MIN_WRONG_ANSWERS wrong answers; none for missing exercises."""
    numbers = list(exercise_numbers)
    if not numbers:
        return []
    if wrong is None:
        return [f"{module} is missing: the chapter has exercises {numbers}; write at least "
                f"{MIN_WRONG_ANSWERS} wrong answers for each (format: tests/wrong_answers/__init__.py)"]
    problems = [f"exercise {n}: {len(wrong.get(n, {}))} wrong answer(s) in {module}, at least "
                f"{MIN_WRONG_ANSWERS} are needed"
                for n in numbers if len(wrong.get(n, {})) < MIN_WRONG_ANSWERS]
    problems += [f"{module} has wrong answers for exercise {n}, which the notebook does not have"
                 for n in sorted(set(wrong) - set(numbers))]
    return problems


# ---------------------------------------------------------------- running a chapter


@dataclass
class Variant:
    """One version of a solution cell and what it and the check did."""

    label: str
    source: str
    solution: RunResult
    visible: RunResult | None = None
    hidden: RunResult | None = None


@dataclass
class ExerciseRun:
    """Every variant of one exercise, by label (wrong answers, reference, stub)."""

    number: int
    has_hidden_tests: bool
    stub_in_function_body: bool
    variants: dict[str, Variant] = field(default_factory=dict)
    problem: str | None = None  # set when the exercise could not be run at all


@dataclass
class ChapterRun:
    """The outcome of one harness run over one chapter notebook."""

    path: Path
    exercises: dict[int, ExerciseRun] = field(default_factory=dict)
    teaching_errors: list[str] = field(default_factory=list)


def _first_line(source: str) -> str:
    lines = [line for line in source.strip().splitlines() if line.strip()]
    return lines[0][:60] if lines else ""


def _run_exercise(kernel: Kernel, run: ExerciseRun, variants: list[tuple[str, str]], check: str) -> None:
    visible, hidden = visible_check(check), hidden_only_check(check)
    kernel.run(_SAVE)
    for label, source in variants:
        kernel.run(_RESET)
        variant = run.variants[label] = Variant(label, source, kernel.run(source))
        if label == STUB:
            variant.visible = kernel.run(visible)
        elif variant.solution.ok:
            kernel.run(_SAVE)
            variant.visible = kernel.run(visible)
            kernel.run(_DROP)  # back to what the variant left
            variant.hidden = kernel.run(hidden)
    kernel.run(_FORGET)  # the namespace stays the stub's, as in the student version
    kernel.run(_CLOSE)


def run_chapter(path: Path, wrong: Mapping[int, Mapping[str, str]] | None, *,
                env: Mapping[str, str] | None = None, timeout: int = 600) -> ChapterRun:
    """Run the teaching cells once and every variant of every exercise (see the module doc)."""
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    try:
        student = student_version(nb)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"{path.name}: nbgrader cannot build the student version ({err}); "
                         f"`python -m tools.exercises check {path.name}` lists the format problems") from err
    exercises, _ = find_exercises(nb, chapter_number(path))
    by_cell = {ex.solution: ex for ex in exercises if ex.solution is not None}
    checks = {ex.check for ex in exercises}
    result = ChapterRun(path)
    for ex in exercises:
        if ex.solution is None or ex.check is None:
            result.exercises[ex.number] = ExerciseRun(
                ex.number, False, False, problem="no solution or check cell (see the format check)")
    with Kernel(path.parent, env={**KERNEL_ENV, **(env or {})}, timeout=timeout) as kernel:
        kernel.run(_INSTALL)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or index in checks:
                continue
            ex = by_cell.get(index)
            if ex is None or ex.check is None:
                outcome = kernel.run(student.cells[index].source)
                kernel.run(_CLOSE)
                if not outcome.ok:
                    result.teaching_errors.append(
                        f"cell {index} ({_first_line(cell.source)!r}) raised {outcome.ename}: "
                        f"{outcome.describe(1500)}")
                continue
            stub = student.cells[index].source
            in_body = any(line.startswith((" ", "\t")) and line.strip() == STUB_RAISE
                          for line in stub.splitlines())
            run = result.exercises[ex.number] = ExerciseRun(
                ex.number, bool(hidden_line_ranges(nb.cells[ex.check].source)), in_body)
            variants = [*(wrong or {}).get(ex.number, {}).items(), (REFERENCE, cell.source), (STUB, stub)]
            _run_exercise(kernel, run, variants, nb.cells[ex.check].source)
    return result


# ---------------------------------------------------------------- judging


def _show(title: str, outcome: RunResult | None) -> str:
    return f"\n--- {title} ---\n{outcome.describe() if outcome is not None else '(not run)'}"


def _must_reject(where: str, outcome: RunResult, part: str) -> list[str]:
    if outcome.ename == "AssertionError":
        return []
    if outcome.ok:
        return [f"{where}: the {part} passed it; it must raise AssertionError" + _show(part, outcome)]
    return [f"{where}: the {part} raised {outcome.ename}, not AssertionError (check the type and shape "
            "with an assert first, so that a wrong answer gets a message)" + _show(part, outcome)]


def variant_problems(run: ExerciseRun, label: str, chapter: str) -> list[str]:
    """What is wrong with one variant's outcome (a wrong answer, the reference or the stub)."""
    where = f"{chapter} exercise {run.number}, {label if label in (REFERENCE, STUB) else repr(label)}"
    if run.problem:
        return [f"{chapter} exercise {run.number}: {run.problem}"]
    variant = run.variants.get(label)
    if variant is None:
        return [f"{where}: not run (an earlier error stopped the chapter?)"]
    sol = variant.solution
    if label == STUB:
        if sol.ename == "NotImplementedError":
            return [] if not variant.visible.ok else [
                f"{where}: the check passes without a solution" + _show("visible check", variant.visible)]
        if sol.ok and run.stub_in_function_body:
            if variant.visible.ename == "NotImplementedError":
                return []
            return [f"{where}: with the stubbed function, the check must fail with NotImplementedError, "
                    f"it {'passed' if variant.visible.ok else 'raised ' + str(variant.visible.ename)}"
                    + _show("visible check", variant.visible)]
        return [f"{where}: the stub must fail with NotImplementedError, it "
                f"{'ran without error' if sol.ok else 'raised ' + str(sol.ename)}" + _show("stub", sol)]
    if not sol.ok:
        kind = "reference solution" if label == REFERENCE else "wrong answer"
        return [f"{where}: the {kind} itself raised {sol.ename}; it must run without error"
                + _show("solution cell", sol)]
    if label == REFERENCE:
        parts = (("visible check", variant.visible), ("hidden tests alone", variant.hidden))
        return [f"{where}: the {part} fails on the reference solution" + _show(part, outcome)
                for part, outcome in parts if not outcome.ok]
    problems = _must_reject(where, variant.visible, "visible check")
    if not run.has_hidden_tests:
        problems.append(f"{where}: the check has no hidden tests ('### BEGIN HIDDEN TESTS' ... "
                        "'### END HIDDEN TESTS'), so the hidden tests alone cannot reject it")
    else:
        problems += _must_reject(where, variant.hidden, "hidden tests alone")
    return problems


def exercise_problems(run: ExerciseRun, chapter: str) -> list[str]:
    """Every problem of one exercise's run, all variants together."""
    labels = [*(label for label in run.variants if label not in (REFERENCE, STUB)), REFERENCE, STUB]
    return [p for label in labels for p in variant_problems(run, label, chapter)]


def verify(paths: Iterable[Path]) -> int:
    """Run the harness on each notebook, print every problem; exit status 1 when there are any."""
    failed = 0
    for path in paths:
        chapter = chapter_number(path)
        tag = f"ch{chapter:02d}" if chapter is not None else Path(path).stem
        nb = nbformat.read(path, as_version=4)
        numbers = [ex.number for ex in find_exercises(nb, chapter)[0]]
        if not numbers:
            print(f"{tag}: no exercises")
            continue
        module = wrong_answers_path(chapter) if chapter is not None else None
        wrong = load_wrong_answers(module) if module is not None else None
        problems = listing_problems(numbers, wrong, f"tests/wrong_answers/{tag}.py")
        run = run_chapter(path, wrong)
        problems += [f"{tag}: teaching {e}" for e in run.teaching_errors]
        problems += [p for n in sorted(run.exercises) for p in exercise_problems(run.exercises[n], tag)]
        print(f"{tag}: {len(problems)} problem(s)", flush=True)
        for problem in problems:
            print(problem + "\n")
        failed += bool(problems)
    return 1 if failed else 0
