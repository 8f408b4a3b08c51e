"""How the test command spreads tests over two workers (pytest-xdist, ``--dist loadgroup``).

Each test belongs to a group that a single worker runs in order. By default the group is the
test's file, so the cells of one notebook (nbval) share one kernel and a module's fixtures are
built once. The wrong-answer harness keeps one kernel per chapter, so its tests are grouped by
chapter instead, and two chapters can run side by side. The book's build tests and the browser
tests share one build of build/book/, so they form one group. Without xdist the marks do nothing.
"""

from __future__ import annotations

import pytest

SHARED_BOOK_BUILD = ("test_book.py", "test_browser.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        group = str(item.path)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if item.path.name == "test_wrong_answers.py" and "tag" in params:
            group = f"wrong-answers-{params['tag']}"
        elif item.path.name in SHARED_BOOK_BUILD:
            group = "book"
        item.add_marker(pytest.mark.xdist_group(group))
