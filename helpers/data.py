"""Datasets for the collection: synthetic tasks and the real loaders, all reading one folder.

Every file lives in :data:`helpers.config.DATA_DIR` (``<repository>/data``; from
``notebooks/`` that is ``../data``, d2l's default). Each loader takes an optional
``root`` to read another folder instead (the tests use temporary folders).

When a file is missing and cannot be downloaded, the loaders raise
:class:`MissingDataError`, whose message says which file, which folder, where it comes
from and how to place it by hand. Downloads are verified: :func:`time_machine` checks
the file's SHA-1 after every download and never keeps a file that does not match.

Contents
--------
* digit sum (NNDL memory task): :func:`digit_sum_dataset`, :func:`digit_sum_splits`
* sine wave windows: :func:`sine_series`, :func:`sine_windows`, :func:`split_by_time`
* airline passengers: :func:`flights_series`, :class:`Normalizer`, :func:`flights_windows`
* MNIST as sequences of rows: :func:`mnist`, :func:`mnist_loaders`, :func:`mnist_split_name`
* part-of-speech: the toy corpus :func:`pos_corpus`; the generated train/dev/test corpus
  :func:`pos_splits` and its padding ``collate_fn`` :func:`pad_tagged`
* character-level Time Machine (d2l): :func:`time_machine`
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from helpers.config import DATA_DIR

__all__ = [
    "MissingDataError", "DataChecksumError", "data_root", "sha1_of", "fetch_checked",
    "digit_sum_dataset", "digit_sum_splits", "digit_sum_split_seeds",
    "sine_series", "sine_windows", "split_by_time",
    "flights_series", "flights_months", "Normalizer", "FlightsWindows", "flights_windows",
    "MnistSequences", "mnist", "mnist_loaders", "mnist_split_name", "MNIST_RAW_FILES",
    "PosCorpus", "pos_corpus", "pos_splits", "pad_tagged", "POS_SPLIT_SIZES", "POS_SPLITS_SHA1",
    "TIME_MACHINE_URL", "TIME_MACHINE_SHA1", "time_machine",
]

README_HINT = "see data/README.md"


# ----------------------------------------------------------------------------- errors and files

class MissingDataError(FileNotFoundError):
    """A data file is absent and could not be downloaded (no network or a failed download)."""


class DataChecksumError(ValueError):
    """A data file's SHA-1 does not match the expected one (e.g. a captive-portal page)."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder a loader reads: ``root`` when given, else :data:`helpers.config.DATA_DIR`."""
    return Path(root) if root is not None else DATA_DIR


def sha1_of(path: Path) -> str:
    """Hex SHA-1 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download_to(url: str, dest: Path, timeout: float = 30.0) -> None:
    """Download ``url`` into ``dest`` (raises OSError / HTTPException on failure)."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as f:
        while chunk := response.read(1 << 20):
            f.write(chunk)


#: What a failed download can raise (URLError and ConnectionError are OSErrors).
DOWNLOAD_ERRORS: tuple[type[BaseException], ...] = (OSError, http.client.HTTPException)


def _missing_message(fname: str, folder: Path, source: str, sha1: str | None = None,
                     cause: BaseException | None = None) -> str:
    """The text of a MissingDataError: the file, the folder, its source and the manual fix."""
    checksum = f" (sha1 {sha1})" if sha1 else ""
    reason = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
    return (f"{fname} is not in {folder}/ and could not be downloaded from {source}{reason}. "
            f"Copy {fname}{checksum} into {folder}/ by hand; {README_HINT}.")


def fetch_checked(url: str, fname: str, sha1: str, root: str | os.PathLike | None = None) -> Path:
    """Return ``root/fname``, downloading it if absent; its SHA-1 must equal ``sha1``.

    A download goes to ``fname + '.part'`` first and replaces ``fname`` only when its
    SHA-1 matches, so a wrong response (a captive-portal page, a truncated file) is never
    saved under the real name. A present file with the wrong SHA-1 is re-downloaded; if
    that fails or does not match either, :class:`DataChecksumError` is raised.
    """
    folder = data_root(root)
    path = folder / fname
    if path.exists():
        if sha1_of(path) == sha1:
            return path
        found = sha1_of(path)
    else:
        found = None
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / (fname + ".part")
    try:
        _download_to(url, part)
    except DOWNLOAD_ERRORS as err:
        part.unlink(missing_ok=True)
        if found is None:
            raise MissingDataError(_missing_message(fname, folder, url, sha1, err)) from err
        raise DataChecksumError(
            f"{path} has sha1 {found}, expected {sha1}, and a fresh download from {url} failed "
            f"({type(err).__name__}: {err}). Delete it and copy the real {fname} into {folder}/; "
            f"{README_HINT}.") from err
    got = sha1_of(part)
    if got != sha1:
        part.unlink(missing_ok=True)
        raise DataChecksumError(
            f"The download of {fname} from {url} has sha1 {got}, expected {sha1} "
            f"(a captive-portal or error page?). Nothing was saved. Copy the real {fname} "
            f"into {folder}/ by hand; {README_HINT}.")
    os.replace(part, path)
    return path


# ----------------------------------------------------------------------------- digit sum

def _check_int(name: str, value: Any, minimum: int, what: str) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise ValueError naming the fix."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} ({what}), got {value!r}")
    return int(value)


def digit_sum_dataset(length: int, copies: int, seed: int) -> tuple[Tensor, Tensor]:
    """The NNDL digit-sum memory task: ``[a, b, 0, ..., 0]`` with one noisy position, label a + b.

    For every pair ``(a, b)`` in 0..9 x 0..9 there are ``copies`` sequences of the given
    ``length``. In each copy ONE position drawn uniformly from ``[2, length)`` is overwritten
    by a digit drawn uniformly from 0..9 (possibly 0, so a copy can look noise-free). The
    label is ``a + b`` (19 classes, 0..18). Row ``(10 * a + b) * copies + c`` holds copy
    ``c`` of pair ``(a, b)``. Randomness comes only from ``numpy.random.default_rng(seed)``.

    Returns int64 tensors ``x`` of shape ``(100 * copies, length)`` and ``y`` of shape
    ``(100 * copies,)``.
    """
    length = _check_int("length", length, 3, "two digits plus at least one noise position")
    copies = _check_int("copies", copies, 1, "sequences per (a, b) pair")
    seed = _check_int("seed", seed, 0, "a non-negative integer seed")
    rng = np.random.default_rng(seed)
    pairs = np.array([(a, b) for a in range(10) for b in range(10)], dtype=np.int64)  # (100, 2)
    pairs = np.repeat(pairs, copies, axis=0)                                          # (N, 2)
    n = pairs.shape[0]
    x = np.zeros((n, length), dtype=np.int64)                                         # (N, length)
    x[:, :2] = pairs
    positions = rng.integers(2, length, size=n)                                       # (N,)
    digits = rng.integers(0, 10, size=n)                                              # (N,)
    x[np.arange(n), positions] = digits
    y = pairs.sum(axis=1)                                                             # (N,)
    return torch.from_numpy(x), torch.from_numpy(y)


SPLIT_NAMES = ("train", "dev", "test")


def digit_sum_split_seeds(seed: int) -> dict[str, int]:
    """The three seeds :func:`digit_sum_splits` uses, derived from ``seed`` independently.

    ``numpy.random.SeedSequence(seed).spawn(3)`` gives three statistically independent
    children, in the order train, dev, test; each child's ``generate_state(1)[0]`` (a
    32-bit unsigned int) is the seed passed to :func:`digit_sum_dataset`.
    """
    seed = _check_int("seed", seed, 0, "a non-negative integer seed")
    children = np.random.SeedSequence(seed).spawn(len(SPLIT_NAMES))
    return {name: int(child.generate_state(1)[0]) for name, child in zip(SPLIT_NAMES, children, strict=True)}


def digit_sum_splits(length: int, copies: Sequence[int] = (3, 1, 1),
                     seed: int = 0) -> dict[str, tuple[Tensor, Tensor]]:
    """Train/dev/test digit-sum sets with ``copies`` = (train, dev, test) copies per pair.

    Each split is ``digit_sum_dataset(length, copies_i, seed_i)`` with the seeds of
    :func:`digit_sum_split_seeds` (300/100/100 sequences by default). Every split contains
    all 100 pairs; only the noise differs, so a dev/test sequence can coincide with a
    training sequence by chance (there are only ``100 * 10 * (length - 2)`` distinct ones).
    """
    if isinstance(copies, (int, np.integer)) or len(copies) != 3:
        raise ValueError(f"copies must be three ints (train, dev, test), e.g. (3, 1, 1); got {copies!r}")
    seeds = digit_sum_split_seeds(seed)
    return {name: digit_sum_dataset(length, n, seeds[name])
            for name, n in zip(SPLIT_NAMES, copies, strict=True)}


# ----------------------------------------------------------------------------- sine wave

def sine_series(n_points: int = 1000, period: float = 50.0, noise: float = 0.0,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Time steps ``t = 0..n_points-1`` and ``sin(2 pi t / period)`` plus optional Gaussian noise.

    ``noise`` is the noise standard deviation, drawn from ``numpy.random.default_rng(seed)``.
    Returns float32 arrays ``t`` and ``values``, both of shape ``(n_points,)``.
    """
    n_points = _check_int("n_points", n_points, 2, "length of the series")
    if period <= 0 or noise < 0:
        raise ValueError(f"period must be > 0 and noise >= 0, got period={period}, noise={noise}")
    t = np.arange(n_points, dtype=np.float32)                          # (n_points,)
    values = np.sin(2 * np.pi * t / period).astype(np.float32)         # (n_points,)
    if noise > 0:
        rng = np.random.default_rng(seed)
        values = values + rng.normal(0.0, noise, size=n_points).astype(np.float32)
    return t, values


def sine_windows(k: int, n_points: int = 1000, period: float = 50.0, noise: float = 0.0,
                 seed: int = 0) -> tuple[Tensor, Tensor]:
    """Windows of ``k`` consecutive values of :func:`sine_series` and the value that follows.

    Window ``i`` holds values ``i .. i+k-1`` and its target is value ``i+k``, so there are
    ``N = n_points - k`` windows in time order. Returns float32 ``x`` of shape ``(N, k, 1)``
    and ``y`` of shape ``(N, 1)``. Split them with :func:`split_by_time`.
    """
    k = _check_int("k", k, 1, "window length")
    if k >= n_points:
        raise ValueError(f"k={k} must be smaller than n_points={n_points} to leave a target")
    _, values = sine_series(n_points, period, noise, seed)
    series = torch.from_numpy(values)                                  # (n_points,)
    x = series.unfold(0, k, 1)[:-1].unsqueeze(-1).contiguous()         # (N, k, 1)
    y = series[k:].unsqueeze(-1).clone()                               # (N, 1)
    return x, y


def split_by_time(x: Tensor, y: Tensor, n_train: int | None = None,
                  train_fraction: float = 0.8) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """Split time-ordered windows: the first ``n_train`` for training, the later rest held out.

    ``n_train`` defaults to ``int(train_fraction * len(x))``. Every held-out target lies
    later in time than every training target (held-out inputs may include the last
    training values, as in real forecasting). Returns ``(x_train, y_train), (x_held, y_held)``.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if n_train is None:
        n_train = int(train_fraction * len(x))
    if not 0 < n_train < len(x):
        raise ValueError(f"n_train must be between 1 and {len(x) - 1} to leave both parts non-empty, "
                         f"got {n_train}")
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


# ----------------------------------------------------------------------------- flights

FLIGHTS_SOURCE = "https://github.com/mwaskom/seaborn-data (flights.csv, via seaborn.load_dataset)"


def flights_series(root: str | os.PathLike | None = None) -> np.ndarray:
    """The 144 monthly airline passenger counts (thousands), 1949-01 .. 1960-12, float32 ``(144,)``.

    Loaded with ``seaborn.load_dataset("flights", data_home=root)`` which reads
    ``root/flights.csv`` offline and downloads it only when absent.
    """
    import seaborn as sns

    folder = data_root(root)
    try:
        frame = sns.load_dataset("flights", data_home=str(folder))
    except DOWNLOAD_ERRORS as err:
        if (folder / "flights.csv").exists():
            raise
        raise MissingDataError(_missing_message("flights.csv", folder, FLIGHTS_SOURCE, cause=err)) from err
    values = frame["passengers"].to_numpy(dtype=np.float32)
    if values.shape != (144,) or int(frame["year"].iloc[0]) != 1949 or int(frame["year"].iloc[-1]) != 1960:
        raise ValueError(f"{folder / 'flights.csv'} is not the seaborn flights table "
                         f"(expected 144 months 1949-1960, got {values.shape[0]} rows); "
                         f"delete it and place the real file; {README_HINT}.")
    return values


def flights_months() -> list[str]:
    """The 144 month labels ``'1949-01' .. '1960-12'`` matching :func:`flights_series`."""
    return [f"{year}-{month:02d}" for year in range(1949, 1961) for month in range(1, 13)]


class Normalizer:
    """Standardise with the mean and std of the data it was fitted on (and only that data).

    ``fit`` may be called once; a second call raises, so a normaliser fitted on training
    months cannot silently be refitted on the whole series. Works on numpy arrays and
    tensors and returns the same kind it was given.
    """

    def __init__(self) -> None:
        self.mean: float | None = None
        self.std: float | None = None
        self.n_fitted: int = 0

    @property
    def fitted(self) -> bool:
        """True once :meth:`fit` has been called."""
        return self.mean is not None

    def fit(self, values: np.ndarray | Tensor) -> Normalizer:
        """Record the mean and (population) std of a 1-D array or tensor; return self."""
        if self.fitted:
            raise RuntimeError(f"This Normalizer is already fitted (on {self.n_fitted} values); "
                               f"create a new Normalizer() to fit other data.")
        arr = np.asarray(values.detach().cpu() if isinstance(values, Tensor) else values, dtype=np.float64)
        if arr.ndim != 1 or arr.size < 2:
            raise ValueError(f"fit expects a 1-D array with at least 2 values, got shape {arr.shape}")
        std = float(arr.std())
        if std == 0.0:
            raise ValueError("cannot normalise constant data (std = 0)")
        self.mean, self.std, self.n_fitted = float(arr.mean()), std, int(arr.size)
        return self

    def _check(self) -> None:
        if not self.fitted:
            raise RuntimeError("Normalizer used before fit: call .fit(training_values) first.")

    def transform(self, values: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """``(values - mean) / std`` with the fitted statistics."""
        self._check()
        return (values - self.mean) / self.std

    def inverse_transform(self, values: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """``values * std + mean``: back to the original units."""
        self._check()
        return values * self.std + self.mean

    def __repr__(self) -> str:
        if not self.fitted:
            return "Normalizer(not fitted)"
        return f"Normalizer(mean={self.mean:.4g}, std={self.std:.4g}, fitted on {self.n_fitted} values)"


@dataclass
class FlightsWindows:
    """Training windows and forecasting inputs for the flights series (see :func:`flights_windows`)."""

    window: int
    n_train: int
    series: np.ndarray            # (144,) raw passenger counts
    months: list[str]             # (144,) '1949-01' .. '1960-12'
    normalizer: Normalizer        # fitted on series[:n_train] only
    x_train: Tensor               # (n_train - window, window, 1) normalised
    y_train: Tensor               # (n_train - window, 1) normalised
    context: Tensor               # (window, 1) normalised: the last `window` training months
    x_test: Tensor                # (n_test, window, 1) normalised one-step-ahead inputs
    y_test: Tensor                # (n_test, 1) normalised targets: the test months
    test_values: np.ndarray       # (n_test,) raw test-month counts
    test_months: list[str] = field(default_factory=list)

    @property
    def n_test(self) -> int:
        """Number of held-out months at the end of the series."""
        return len(self.series) - self.n_train


def flights_windows(window: int = 12, n_train: int = 132,
                    root: str | os.PathLike | None = None) -> FlightsWindows:
    """Windows over the flights series with the normaliser fitted on the first ``n_train`` months.

    Month index ``m`` runs 0..143 (0 = 1949-01). Training window ``i`` (``i = 0 ..
    n_train - window - 1``) feeds months ``i .. i+window-1`` and predicts month
    ``i+window``; the last one predicts month ``n_train - 1``, so no training window
    touches a test month. ``context`` is months ``n_train-window .. n_train-1`` (what an
    autoregressive forecast of the test months starts from). ``x_test[j]`` is the
    one-step-ahead input for test month ``t = n_train + j``: months ``t-window .. t-1``
    (later ones include earlier TRUE test months; use ``context`` for a pure forecast).
    All values are normalised with the training months' mean and std.
    """
    series = flights_series(root)
    total = len(series)
    window = _check_int("window", window, 1, "months per input window")
    n_train = _check_int("n_train", n_train, window + 1, "training months, more than one window")
    if n_train >= total:
        raise ValueError(f"n_train must be < {total} to leave test months, got {n_train}")
    normalizer = Normalizer().fit(series[:n_train])                      # training months only
    scaled = torch.from_numpy(np.asarray(normalizer.transform(series), dtype=np.float32))  # (144,)
    windows = scaled.unfold(0, window + 1, 1)                            # (144 - window, window + 1)
    inputs, targets = windows[:, :window].unsqueeze(-1), windows[:, window:]  # (.., window, 1), (.., 1)
    n_windows_train = n_train - window                                   # windows with target < n_train
    months = flights_months()
    return FlightsWindows(
        window=window, n_train=n_train, series=series, months=months, normalizer=normalizer,
        x_train=inputs[:n_windows_train].contiguous(), y_train=targets[:n_windows_train].contiguous(),
        context=scaled[n_train - window:n_train].unsqueeze(-1).contiguous(),
        x_test=inputs[n_windows_train:].contiguous(), y_test=targets[n_windows_train:].contiguous(),
        test_values=series[n_train:].copy(), test_months=months[n_train:],
    )


# ----------------------------------------------------------------------------- MNIST

MNIST_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MNIST_FULL_SIZES = {"train": 60_000, "test": 10_000}


class MnistSequences(Dataset):
    """MNIST as sequences: item ``i`` is ``(image (28 steps, 28 features) float32 in [0, 1], label)``."""

    def __init__(self, images: Tensor, labels: Tensor, train: bool) -> None:
        self.images = images.to(torch.float32).div_(255.0)   # (N, 28, 28): row = time step
        self.labels = labels.to(torch.int64)                 # (N,)
        self.train = train

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.images[index], int(self.labels[index])

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"MnistSequences({split}, {len(self)} images of 28 steps x 28 features)"


def _mnist_missing(folder: Path, err: BaseException) -> MissingDataError:
    """A MissingDataError naming the four raw MNIST files and where they go."""
    raw = folder / "MNIST" / "raw"
    names = ", ".join(MNIST_RAW_FILES)
    return MissingDataError(
        f"MNIST is not in {raw}/ and could not be downloaded by torchvision "
        f"({type(err).__name__}: {err}). Copy the four uncompressed raw files {names} into "
        f"{raw}/ (that is data/MNIST/raw/) by hand; {README_HINT}.")


def mnist(train: bool, root: str | os.PathLike | None = None) -> MnistSequences:
    """MNIST (``torchvision.datasets.MNIST(root, train, download=True)``) as row sequences."""
    import torchvision

    folder = data_root(root)
    try:
        base = torchvision.datasets.MNIST(root=str(folder), train=train, download=True)
    except (RuntimeError, *DOWNLOAD_ERRORS) as err:
        raise _mnist_missing(folder, err) from err
    return MnistSequences(base.data, base.targets, train)   # (N, 28, 28) uint8, (N,)


def mnist_loaders(batch_size: int, *, seed: int = 0, root: str | os.PathLike | None = None,
                  test_batch_size: int | None = None,
                  limit: tuple[int | None, int | None] = (None, None)) -> tuple[DataLoader, DataLoader]:
    """Train (shuffled by a generator seeded with ``seed``) and test DataLoaders, ``num_workers=0``.

    ``limit = (n_train, n_test)`` keeps only the first images of each split (e.g. for the CI
    profile). Batches are ``(x (batch, 28, 28) float32, y (batch,) int64)``.
    """
    batch_size = _check_int("batch_size", batch_size, 1, "images per batch")
    loaders = []
    for train, n, size in ((True, limit[0], batch_size), (False, limit[1], test_batch_size or batch_size)):
        data: Dataset = mnist(train, root)
        if n is not None:
            data = torch.utils.data.Subset(data, range(min(n, len(data))))
        generator = torch.Generator().manual_seed(seed) if train else None
        loaders.append(DataLoader(data, batch_size=size, shuffle=train, generator=generator, num_workers=0))
    return loaders[0], loaders[1]


def _idx_count(path: Path) -> int:
    """Number of items in an IDX file, read from its header (bytes 4..8, big-endian)."""
    with open(path, "rb") as f:
        header = f.read(8)
    if len(header) < 8:
        raise ValueError(f"{path} is not an IDX file (header too short)")
    return int.from_bytes(header[4:8], "big")


def mnist_split_name(root: str | os.PathLike | None = None) -> str:
    """Say which MNIST split is on disk: ``'full MNIST (60,000 train / 10,000 test)'`` or a smaller cache.

    Counts the items in the raw label files (their headers), without loading images.
    """
    raw = data_root(root) / "MNIST" / "raw"
    counts = {}
    for split, fname in (("train", "train-labels-idx1-ubyte"), ("test", "t10k-labels-idx1-ubyte")):
        if not (raw / fname).exists():
            raise _mnist_missing(data_root(root), FileNotFoundError(str(raw / fname)))
        counts[split] = _idx_count(raw / fname)
    sizes = f"{counts['train']:,} train / {counts['test']:,} test"
    return f"full MNIST ({sizes})" if counts == MNIST_FULL_SIZES else f"a smaller MNIST cache ({sizes})"


# ----------------------------------------------------------------------------- part of speech

UNK = "<unk>"

# Our own toy sentences. Tags: DET determiner, ADJ adjective, NN noun, V verb,
# ADP preposition, PRON pronoun, ADV adverb. 'watch' is a verb in one sentence and a
# noun in another, so a tagger must use context.
_POS_SENTENCES: tuple[tuple[str, str], ...] = (
    ("the old dog sleeps", "DET ADJ NN V"),
    ("a small bird sings loudly", "DET ADJ NN V ADV"),
    ("the children read a long book", "DET NN V DET ADJ NN"),
    ("she walks to the quiet park", "PRON V ADP DET ADJ NN"),
    ("they watch the red train from the bridge", "PRON V DET ADJ NN ADP DET NN"),
    ("her new watch stops at noon", "DET ADJ NN V ADP NN"),
    ("he quickly paints the blue door", "PRON ADV V DET ADJ NN"),
    ("a cold wind blows across the field", "DET ADJ NN V ADP DET NN"),
)


@dataclass(frozen=True)
class PosCorpus:
    """A tagged toy corpus with word and tag vocabularies (``'<unk>'`` is word index 0)."""

    sentences: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (words, tags) pairs
    words: tuple[str, ...]     # index -> word; words[0] == '<unk>'
    tags: tuple[str, ...]      # index -> tag

    @property
    def word_to_index(self) -> dict[str, int]:
        """Word -> index (``'<unk>'`` -> 0)."""
        return {w: i for i, w in enumerate(self.words)}

    @property
    def tag_to_index(self) -> dict[str, int]:
        """Tag -> index."""
        return {t: i for i, t in enumerate(self.tags)}

    @property
    def unk_index(self) -> int:
        """Index of the unknown word."""
        return 0

    def encode_words(self, words: Sequence[str] | str) -> Tensor:
        """Word indices ``(len(words),)`` int64; unseen words map to ``unk_index`` (lower-cased first)."""
        if isinstance(words, str):
            words = words.split()
        lookup = self.word_to_index
        return torch.tensor([lookup.get(w.lower(), self.unk_index) for w in words], dtype=torch.int64)

    def encode_tags(self, tags: Sequence[str]) -> Tensor:
        """Tag indices ``(len(tags),)`` int64 (an unknown tag is an error: tags are a closed set)."""
        lookup = self.tag_to_index
        unknown = [t for t in tags if t not in lookup]
        if unknown:
            raise ValueError(f"unknown tags {unknown}; the tag set is {list(self.tags)}")
        return torch.tensor([lookup[t] for t in tags], dtype=torch.int64)

    def decode_tags(self, indices: Sequence[int] | Tensor) -> list[str]:
        """Tag names for a sequence of tag indices."""
        if isinstance(indices, Tensor):
            indices = indices.tolist()
        return [self.tags[int(i)] for i in indices]

    def encoded(self) -> list[tuple[Tensor, Tensor]]:
        """Every sentence as ``(word indices (n,), tag indices (n,))``."""
        return [(self.encode_words(w), self.encode_tags(t)) for w, t in self.sentences]


def pos_corpus() -> PosCorpus:
    """Our part-of-speech toy corpus: 8 short tagged sentences, 7 tags, vocabularies sorted."""
    sentences = tuple((tuple(s.split()), tuple(t.split())) for s, t in _POS_SENTENCES)
    for words, tags in sentences:
        assert len(words) == len(tags), (words, tags)
    words = (UNK, *sorted({w for ws, _ in sentences for w in ws}))
    tags = tuple(sorted({t for _, ts in sentences for t in ts}))
    return PosCorpus(sentences=sentences, words=words, tags=tags)


# A generated tagging corpus with a real train/dev/test split (no English POS-tagged corpus
# ships inside a PyPI package with a licence that allows it; see chapter 06). Sentences come
# from a small grammar of our own: six sentence patterns over a lexicon whose open classes
# are drawn with Zipf-like frequencies, so rare words meet the model first in dev or test, as in
# real text. Several words are both nouns and verbs (*watch*, *train*, *park*, ...): only the
# context tells which, so a lookup of each word's most frequent tag cannot be perfect.
_POS_LEXICON: dict[str, tuple[str, ...]] = {
    "DET": ("the", "a", "this", "every"),
    "PRON_3SG": ("she", "he", "it"),
    "PRON": ("they", "we", "i", "you"),
    "ADV": ("quickly", "often", "slowly", "loudly", "quietly", "never", "always", "gladly"),
    "ADP": ("at", "to", "from", "across", "near", "under", "behind", "into", "over", "past"),
    "ADJ": ("old", "small", "red", "new", "long", "quiet", "cold", "big", "blue", "young",
            "dark", "green", "warm", "tall", "bright", "happy", "heavy", "empty", "narrow",
            "silver", "broken", "gentle", "muddy", "wooden", "hollow", "pale", "rusty"),
    "NN": ("dog", "park", "train", "watch", "book", "bird", "door", "teacher", "river",
           "house", "light", "garden", "boat", "letter", "field", "bridge", "cat", "window",
           "farmer", "song", "road", "child", "play", "painter", "table", "horse", "stone",
           "kettle", "ladder", "lantern", "meadow", "violin", "pebble", "orchard", "anchor",
           "tunnel", "harbour", "falcon", "compass", "curtain"),
    # verbs as (base form, third person singular); transitive take an object noun phrase
    "V_TR": ("watch/watches", "train/trains", "park/parks", "book/books", "light/lights",
             "paint/paints", "read/reads", "play/plays", "see/sees", "carry/carries",
             "open/opens", "find/finds", "clean/cleans", "follow/follows", "mend/mends",
             "sketch/sketches", "polish/polishes", "weigh/weighs", "chase/chases"),
    "V_IN": ("sleeps/sleep", "waits/wait", "sings/sing", "stops/stop", "runs/run",
             "falls/fall", "shines/shine", "rests/rest", "wanders/wander", "glows/glow",
             "shivers/shiver", "drifts/drift"),
}
# sentence patterns: (subject, verb kind, what follows); '?' marks an optional item
_POS_PATTERNS: tuple[str, ...] = (
    "NP V_IN ADV?",           # the old dog sleeps quietly
    "NP V_IN PP",             # a cat waits near the door
    "PRON V_TR NP",           # they watch the red train
    "PRON V_TR NP PP",        # we park the boat near the bridge
    "NP V_TR NP",             # the teacher reads a long letter
    "PRON ADV V_TR NP",       # she often paints the old house
)
POS_SPLIT_SIZES: dict[str, int] = {"train": 400, "dev": 150, "test": 150}
#: SHA-1 of the generated corpus (one ``word/TAG`` sentence per line, splits in order);
#: :func:`pos_splits` refuses to return a corpus that does not match it.
POS_SPLITS_SHA1 = "22c85637d9f32259d64c1f4af4fa27bb494291a9"


def _zipf_pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    """One word of ``words``, the k-th (from 1) with probability proportional to 1/k."""
    weights = 1.0 / np.arange(1, len(words) + 1)
    cumulative = np.cumsum(weights) / weights.sum()
    return words[min(int(np.searchsorted(cumulative, rng.random(), side="right")), len(words) - 1)]


def _noun_phrase(rng: np.random.Generator) -> list[tuple[str, str]]:
    """DET (ADJ) NN, the adjective with probability 1/2."""
    phrase = [(_zipf_pick(rng, _POS_LEXICON["DET"]), "DET")]
    if rng.random() < 0.5:
        phrase.append((_zipf_pick(rng, _POS_LEXICON["ADJ"]), "ADJ"))
    return phrase + [(_zipf_pick(rng, _POS_LEXICON["NN"]), "NN")]


def _verb(rng: np.random.Generator, kind: str, third_singular: bool) -> tuple[str, str]:
    """A verb of ``kind`` ('V_TR' or 'V_IN') in the form the subject needs."""
    forms = _zipf_pick(rng, _POS_LEXICON[kind]).split("/")
    if kind == "V_TR":
        return (forms[1] if third_singular else forms[0]), "V"
    return (forms[0] if third_singular else forms[1]), "V"   # V_IN lists the -s form first


def _pos_sentence(rng: np.random.Generator) -> list[tuple[str, str]]:
    """One tagged sentence from a pattern drawn uniformly."""
    pattern = _POS_PATTERNS[int(rng.random() * len(_POS_PATTERNS))].split()
    out: list[tuple[str, str]] = []
    third = True
    for item in pattern:
        if item.endswith("?"):
            if rng.random() < 0.5:
                continue
            item = item[:-1]
        if item == "NP":
            out += _noun_phrase(rng)
        elif item == "PP":
            out += [(_zipf_pick(rng, _POS_LEXICON["ADP"]), "ADP")] + _noun_phrase(rng)
        elif item == "PRON":
            third = rng.random() < 0.5
            out.append((_zipf_pick(rng, _POS_LEXICON["PRON_3SG" if third else "PRON"]), "PRON"))
        elif item == "ADV":
            out.append((_zipf_pick(rng, _POS_LEXICON["ADV"]), "ADV"))
        else:
            out.append(_verb(rng, item, third))
    return out


def _pos_generated() -> dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]:
    """The generated corpus, split in order: train, dev, test (seeded, no global state)."""
    rng = np.random.default_rng(2024)
    splits = {}
    for name, size in POS_SPLIT_SIZES.items():
        sentences = []
        for _ in range(size):
            pairs = _pos_sentence(rng)
            sentences.append((tuple(w for w, _ in pairs), tuple(t for _, t in pairs)))
        splits[name] = tuple(sentences)
    return splits


def _pos_text(splits: dict) -> str:
    """The corpus as text: one ``word/TAG`` sentence per line, the splits in order."""
    return "".join(" ".join(f"{w}/{t}" for w, t in zip(ws, ts, strict=True)) + "\n"
                   for name in POS_SPLIT_SIZES for ws, ts in splits[name])


def pos_splits(min_count: int = 1) -> dict[str, PosCorpus]:
    """The generated tagging corpus as ``{"train", "dev", "test"}`` corpora sharing one vocabulary.

    The vocabulary is built from the TRAINING sentences only: a word enters it when it occurs
    at least ``min_count`` times there (``min_count=2`` sends training singletons to
    ``'<unk>'``, so the ``<unk>`` row of an embedding gets trained). Every split encodes with
    it (``corpus.encoded()``), so a dev or test word outside it becomes ``unk_index`` exactly
    as in the network's input. The tag set is the full closed set of 7 tags. Sizes are
    :data:`POS_SPLIT_SIZES` (400 / 150 / 150 sentences); the text is checked against
    :data:`POS_SPLITS_SHA1`.
    """
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be an int >= 1 (1 keeps every training word), got {min_count!r}")
    splits = _pos_generated()
    digest = hashlib.sha1(_pos_text(splits).encode()).hexdigest()
    if digest != POS_SPLITS_SHA1:
        raise DataChecksumError(f"the generated tagging corpus has SHA-1 {digest}, expected "
                                f"{POS_SPLITS_SHA1}: the generator changed (numpy or this file); "
                                f"regenerate and update POS_SPLITS_SHA1")
    counts: dict[str, int] = {}
    for words, _ in splits["train"]:
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    words = (UNK, *sorted(w for w, c in counts.items() if c >= min_count))
    tags = tuple(sorted({t for part in splits.values() for _, ts in part for t in ts}))
    return {name: PosCorpus(sentences=part, words=words, tags=tags) for name, part in splits.items()}


def pad_tagged(batch: Sequence[tuple[Tensor, Tensor]], pad_word: int = 0,
               pad_tag: int = -100) -> tuple[Tensor, Tensor]:
    """``collate_fn`` for tagged sentences: ``(words (B, T_max), tags (B, T_max))``, right-padded.

    Words are padded with ``pad_word`` and tags with ``pad_tag`` (-100, the ``ignore_index``
    of ``F.nll_loss``/``F.cross_entropy``, which ``helpers.train.evaluate`` also skips). A
    left-to-right LSTM's outputs at the real positions do not see the padding that follows;
    a bidirectional one does, unless it packs the batch: the lengths are ``(tags != pad_tag).sum(1)``.
    """
    if len(batch) == 0:
        raise ValueError("pad_tagged got an empty batch")
    words = torch.nn.utils.rnn.pad_sequence([w for w, _ in batch], batch_first=True, padding_value=pad_word)
    tags = torch.nn.utils.rnn.pad_sequence([t for _, t in batch], batch_first=True, padding_value=pad_tag)
    return words, tags


# ----------------------------------------------------------------------------- Time Machine (d2l)

TIME_MACHINE_URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
TIME_MACHINE_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"


@functools.cache
def _time_machine_class() -> type:
    """Build (once) the d2l.TimeMachine subclass that reads DATA_DIR with a checked download."""
    import d2l.torch as d2l

    class CheckedTimeMachine(d2l.TimeMachine):
        """``d2l.TimeMachine`` reading ``root`` (default DATA_DIR) with a SHA-1-checked download."""

        def __init__(self, batch_size: int, num_steps: int, num_train: int = 10000,
                     num_val: int = 5000, root: str | os.PathLike | None = None) -> None:
            self._data_folder = data_root(root)
            super().__init__(batch_size, num_steps, num_train, num_val)
            self.root = str(self._data_folder)   # d2l's DataModule set '../data'; record the truth

        def _download(self) -> str:
            path = fetch_checked(TIME_MACHINE_URL, "timemachine.txt", TIME_MACHINE_SHA1, self._data_folder)
            with open(path) as f:   # read as d2l does
                return f.read()

    CheckedTimeMachine.__qualname__ = "CheckedTimeMachine"
    CheckedTimeMachine.__module__ = __name__
    return CheckedTimeMachine


def time_machine(batch_size: int, num_steps: int, num_train: int = 10000, num_val: int = 5000,
                 root: str | os.PathLike | None = None):
    """A ``d2l.TimeMachine`` (same vocabulary and windows) reading ``root`` (default DATA_DIR).

    ``timemachine.txt`` is downloaded only when absent and its SHA-1 (``TIME_MACHINE_SHA1``)
    is verified after the download; a mismatch raises :class:`DataChecksumError` and a
    missing file without network raises :class:`MissingDataError`.
    """
    return _time_machine_class()(batch_size, num_steps, num_train, num_val, root=root)
