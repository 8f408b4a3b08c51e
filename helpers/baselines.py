"""The strongest simple baselines that the trained networks are compared with.

Every trained result in the collection stands beside one of these: a model that needs
no gradient descent through time, or none at all. Each function is small, seeded where
it draws anything, and tested in ``tests/test_baselines.py``.

Sections: forecasting (last value, linear AR(k), seasonal naive), images (logistic
regression on pixels), text (most-frequent tag, character n-grams).
"""

from __future__ import annotations

# ---------------------------------------------------------------- forecasting (chapter 05)

# ---------------------------------------------------------------- images (chapter 04)

# ---------------------------------------------------------------- text (chapters 06, 07, 09)
