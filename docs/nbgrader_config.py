"""nbgrader configuration for a course built from this collection.

Copy this file into the course folder as ``nbgrader_config.py`` (see docs/instructors.md) and run
every ``nbgrader`` command from that folder. tests/test_nbgrader_flow.py loads this very file, so
what the guide describes is what the test runs. Edit the course id if you like; the rest follows
from where the file lies.
"""

import os
import re

import zmq
from nbgrader.converters import GenerateAssignment
from nbgrader.converters.autograde import Autograde
from nbgrader.converters.generate_feedback import GenerateFeedback
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import compute_checksum

c = get_config()  # noqa: F821 (provided by nbgrader when it reads this file)

COURSE_DIR = os.path.dirname(os.path.abspath(__file__))

# An explicit course id: the exchange commands (release, fetch, submit, collect) need one, and
# students pass the same id with --course.
c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.root = COURSE_DIR
# A course-local exchange folder. nbgrader's default is /usr/local/share/nbgrader/exchange, which
# release_assignment creates world-writable when run as root; keep the exchange inside the course.
# On a shared JupyterHub, point this at the folder every user server mounts (docs/instructors.md).
c.Exchange.root = os.path.join(COURSE_DIR, "exchange")
# The gradebook is a file of the course folder (nbgrader's default, spelled out).
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(COURSE_DIR, "gradebook.db")

# Seconds per cell when nbgrader executes a notebook; its default of 30 is too short for the
# training cells of chapters 04, 07 and 08 even in the CI profile on a slow machine.
c.Execute.timeout = 600
# The kernels nbgrader starts get CurveZMQ keys from the kernel manager, so their TCP traffic is
# encrypted (and ipykernel's "Kernel is running over TCP without encryption" warning goes away).
c.KernelManager.transport_encryption = "auto" if zmq.has("curve") else "disabled"

# zip_collect: how to read a student id and the notebook out of a downloaded file's name. nbgrader
# matches the pattern against the file's full path. This one reads "<student id>_<notebook>.ipynb",
# e.g. ".../s0042_03_gru.ipynb", and also accepts the copy suffix a browser adds on a second
# download, "s0042_03_gru (1).ipynb", storing it under the released name 03_gru.ipynb.
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[A-Za-z0-9.-]+)_(?P<file_id>\d\d_[a-z0-9_]+?)(?: \(\d+\))?\.ipynb$"
)

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NBVAL = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")
HIDDEN_FAILED = ("a hidden test of this check failed; hidden tests are not shown in feedback. "
                 "Re-read the exercise statement: the visible asserts are not the whole check.")


def hidden_test_lines(source):
    """The non-blank lines of a cell's hidden-test regions (the markers included), stripped."""
    lines, inside = [], False
    for line in source.splitlines():
        text = line.strip()
        if text == HIDDEN_BEGIN:
            inside = True
        if inside and len(text) >= 3:
            lines.append(text)
        if text == HIDDEN_END:
            inside = False
    return lines


class RedactHiddenTestErrors(NbGraderPreprocessor):
    """Feedback: keep a check cell's error, but no line of its hidden tests.

    IPython's traceback quotes the lines around the failing one, so a failing *visible* assert
    would show the hidden asserts below it; those lines are dropped. When a hidden assert itself
    failed, its message (which may hold the expected value) is replaced by a plain sentence.
    Runs before ClearHiddenTests, which removes the hidden region from the cell's source.
    """

    def preprocess_cell(self, cell, resources, index):
        hidden = hidden_test_lines(cell.source) if cell.cell_type == "code" else []
        for output in cell.get("outputs", []) if hidden else []:
            if output.get("output_type") != "error":
                continue

            def quotes_hidden(line):
                plain = _ANSI.sub("", line)
                return any(text in plain for text in hidden)

            lines = [line for entry in output.traceback for line in entry.split("\n")]
            if any("->" in _ANSI.sub("", line) and quotes_hidden(line) for line in lines):
                output.evalue = HIDDEN_FAILED
                output.traceback = [f"{output.ename}: {HIDDEN_FAILED}"]
            else:
                output.traceback = ["\n".join(line for line in entry.split("\n") if not quotes_hidden(line))
                                    for entry in output.traceback]
        return cell, resources


class StripNbvalMarkers(NbGraderPreprocessor):
    """Release: drop the ``# NBVAL_...`` lines, which only tell the test suite what to compare.

    The same step tools/edition.py and ``tasks.py student`` take, so a released notebook and the
    student edition's copy are the same file. It runs first, before nbgrader records the cells.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.split("\n") if not _NBVAL.match(line))
        return cell, resources


class ReportEditedChecks(NbGraderPreprocessor):
    """Autograde: name every locked cell the student really edited.

    nbgrader's "checksum ... has changed" warning fires for every check cell with hidden tests,
    edited or not (nbgrader issue #1961): the gradebook holds the checksum taken *before* the hidden
    tests were removed. The released cell carries the checksum of what the student received, so a
    mismatch there is a real edit. Either way nbgrader grades the original check cell.
    """

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and "checksum" in meta and compute_checksum(cell) != meta["checksum"]:
            where = resources.get("nbgrader", {})
            self.log.warning("EDITED by the student: locked cell %r of %s/%s/%s (graded with the original)",
                             meta.get("grade_id"), where.get("student"), where.get("assignment"),
                             where.get("notebook"))
        return cell, resources


def _with(defaults, new, before):
    """nbgrader's own preprocessor list with ``new`` inserted before ``before`` (no hand copy)."""
    defaults = list(defaults)
    at = defaults.index(before)
    return defaults[:at] + list(new) + defaults[at:]


c.GenerateAssignment.preprocessors = [
    StripNbvalMarkers, *GenerateAssignment.class_traits()["preprocessors"].default()]
c.Autograde.sanitize_preprocessors = _with(
    Autograde.class_traits()["sanitize_preprocessors"].default(), [ReportEditedChecks], OverwriteCells)
# Feedback without hidden tests (nbgrader's default shows them, its issue #917).
_feedback = list(GenerateFeedback.class_traits()["preprocessors"].default())
c.GenerateFeedback.preprocessors = _feedback[:1] + [RedactHiddenTestErrors, ClearHiddenTests] + _feedback[1:]
