"""Run profile, device, seeds and the one data folder: read in one place, used everywhere.

The profile is chosen by the environment variable ``RNN_PROFILE``:

* ``full`` (the default) is what students get: the real epochs and sweeps.
* ``ci`` is what the test suite uses: fewer epochs, smaller sweeps, same code.

Notebooks never edit sizes by hand; they ask :func:`pick` for the value of the
active profile, e.g. ``epochs = pick(full=500, ci=40)``.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

PROFILE_ENV = "RNN_PROFILE"
PROGRESS_ENV = "RNN_PROGRESS"
PROFILES = ("full", "ci")
DEFAULT_PROFILE = "full"
#: What the setup line says about each profile (it must be true in the profile it is printed in).
PROFILE_HINTS = {
    "full": f"the chapter's real sizes; {PROFILE_ENV}=ci gives a quick run with smaller numbers",
    "ci": "quick run: fewer epochs and smaller sweeps, so results differ from those quoted "
          "in the text, which come from the full profile",
}

#: The project's one data folder (download cache): ``<repository>/data``.
#: From ``notebooks/`` it is also ``../data``, d2l's default.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

T = TypeVar("T")


def profile() -> str:
    """Return the active run profile, ``'full'`` or ``'ci'`` (from ``RNN_PROFILE``)."""
    name = os.environ.get(PROFILE_ENV, DEFAULT_PROFILE).strip().lower() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(
            f"Unknown run profile {os.environ[PROFILE_ENV]!r} in ${PROFILE_ENV}. "
            f"Use one of {', '.join(PROFILES)} (e.g. `export {PROFILE_ENV}=ci`), "
            f"or unset it to get the default {DEFAULT_PROFILE!r}."
        )
    return name


def is_ci() -> bool:
    """True when the small CI profile is active."""
    return profile() == "ci"


def show_progress() -> bool:
    """Whether loops show progress bars: yes, except in the CI profile or with ``RNN_PROGRESS=0``.

    ``python tasks.py execute`` sets ``RNN_PROGRESS=0`` so that committed notebooks hold
    results, not the frozen snapshot of a progress bar widget.
    """
    return not is_ci() and os.environ.get(PROGRESS_ENV, "1").strip() != "0"


def pick(*, full: T, ci: T) -> T:
    """Return ``full`` or ``ci`` depending on the active profile."""
    return ci if is_ci() else full


def device() -> torch.device:
    """Pick the best available device: CUDA, else Apple MPS, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU ``torch.Generator`` seeded the same way."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS
    return torch.Generator().manual_seed(seed)


def package_versions(names: tuple[str, ...] = ("torch", "torchvision", "numpy", "matplotlib",
                                               "seaborn", "pandas", "d2l")) -> dict[str, str]:
    """Installed versions of the packages the collection relies on (``'missing'`` if absent)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


@dataclass(frozen=True)
class Setup:
    """What a notebook's setup cell chose: profile, device, seed and a seeded generator."""

    profile: str
    device: torch.device
    seed: int
    generator: torch.Generator


def setup(seed: int = 0, *, quiet: bool = False) -> Setup:
    """Seed everything, pick the device and profile, and print one line for each."""
    chosen = Setup(profile=profile(), device=device(), seed=seed,
                   generator=seed_everything(seed))
    if not quiet:
        print(f"profile : {chosen.profile}  ({PROFILE_HINTS[chosen.profile]})")
        print(f"device  : {chosen.device}")
        print(f"seed    : {chosen.seed}")
        versions = package_versions()
        print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
        sys.stdout.flush()
    return chosen
