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
nbgrader markers). ``tests/test_wrong_answers.py`` executes the chapter's teaching cells once
(CI profile), then, for every exercise: the student stub must fail with NotImplementedError;
every wrong answer must run, and then be rejected with an AssertionError both by the visible
check (hidden tests removed) and by the hidden tests run alone; the reference solution must
pass both. Before each variant the names the reference solution binds are deleted, so a
variant cannot lean on what an earlier one left behind. Every exercise has at least two.
"""
