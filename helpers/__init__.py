"""Shared plumbing for the recurrent-networks notebooks.

Import what you need by module, e.g. ``from helpers.cells import LSTMCellScratch``.
The run profile, device and data folder live in :mod:`helpers.config` and are
re-exported here.
"""

from helpers.config import DATA_DIR, PROFILE_ENV, device, is_ci, pick, profile, seed_everything, setup

__all__ = ["DATA_DIR", "PROFILE_ENV", "device", "is_ci", "pick", "profile", "seed_everything", "setup"]
