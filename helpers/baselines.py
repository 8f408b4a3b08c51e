"""The strongest simple baselines that the trained networks are compared with.

Every trained result in the collection stands beside one of these: a model that needs
no gradient descent through time, or none at all. Each function is small, seeded where
it draws anything, and tested in ``tests/test_baselines.py``.

Sections: forecasting (last value, linear AR(k), seasonal naive), images (logistic
regression on pixels), text (most-frequent tag, bigram HMM tagger, character n-grams).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

# ---------------------------------------------------------------- forecasting (chapter 05)

def _as_windows(windows: np.ndarray | Tensor) -> np.ndarray:
    """Windows as a float64 array (n, k): accepts (n, k) or (n, k, 1), numpy or torch."""
    arr = np.asarray(windows.detach().cpu() if isinstance(windows, Tensor) else windows, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"expected windows of shape (n, k) or (n, k, 1), got {tuple(arr.shape)}")
    return arr


def last_value_forecast(windows: np.ndarray | Tensor) -> np.ndarray:
    """Persistence: predict each window's next value by its last value; returns (n,)."""
    return _as_windows(windows)[:, -1].copy()


@dataclass
class LinearAR:
    """A least-squares AR(order) model: next = intercept + sum_j coef[j] * x_{t-order+1+j}."""

    order: int
    coef: np.ndarray      # (order,), oldest lag first
    intercept: float

    def predict(self, windows: np.ndarray | Tensor) -> np.ndarray:
        """One-step predictions from the last ``order`` values of each window: (n,)."""
        arr = _as_windows(windows)
        if arr.shape[1] < self.order:
            raise ValueError(f"AR({self.order}) needs windows of at least {self.order} values, "
                             f"got {arr.shape[1]}")
        return arr[:, -self.order:] @ self.coef + self.intercept


def fit_linear_ar(windows: np.ndarray | Tensor, targets: np.ndarray | Tensor, order: int) -> LinearAR:
    """Fit next value = intercept + linear function of the last ``order`` values, by least squares."""
    arr = _as_windows(windows)
    y = np.asarray(targets.detach().cpu() if isinstance(targets, Tensor) else targets,
                   dtype=np.float64).reshape(-1)
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= arr.shape[1]:
        raise ValueError(f"order must be an int between 1 and the window length {arr.shape[1]}, "
                         f"got {order!r}")
    if len(y) != len(arr):
        raise ValueError(f"got {len(arr)} windows but {len(y)} targets; pass one target per window")
    design = np.column_stack([arr[:, -order:], np.ones(len(arr))])   # (n, order + 1)
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return LinearAR(order=order, coef=solution[:order], intercept=float(solution[order]))


def _history(history: np.ndarray | Tensor, season: int, n_seasons: int) -> np.ndarray:
    arr = np.asarray(history.detach().cpu() if isinstance(history, Tensor) else history,
                     dtype=np.float64).reshape(-1)
    if isinstance(season, bool) or not isinstance(season, int) or season < 1:
        raise ValueError(f"season must be a positive int (12 for monthly data), got {season!r}")
    if len(arr) < n_seasons * season:
        raise ValueError(f"need at least {n_seasons} seasons ({n_seasons * season} values) of history, "
                         f"got {len(arr)}")
    return arr


def seasonal_naive(history: np.ndarray | Tensor, horizon: int, season: int = 12) -> np.ndarray:
    """Forecast ``horizon`` values by repeating the last season of ``history``: (horizon,)."""
    arr = _history(history, season, 1)
    last = arr[-season:]
    return np.resize(last, horizon).astype(np.float64)


def seasonal_naive_growth(history: np.ndarray | Tensor, horizon: int, season: int = 12) -> np.ndarray:
    """Seasonal naive times last season's growth: last season * (its total / the total before).

    For monthly data: each month of the last year, scaled by that year's total over the
    previous year's total. Uses only ``history``; returns (horizon,).
    """
    arr = _history(history, season, 2)
    last, before = arr[-season:], arr[-2 * season:-season]
    if before.sum() <= 0:
        raise ValueError("the growth factor needs a positive total in the season before the last")
    growth = last.sum() / before.sum()
    return seasonal_naive(last * growth, horizon, season)


def seasonal_naive_mean_growth(history: np.ndarray | Tensor, horizon: int, season: int = 12) -> np.ndarray:
    """Seasonal naive times the average growth over a season: last season * exp(mean of d).

    ``d_t = log y_t - log y_(t - season)`` over all of ``history`` (for monthly data: the growth
    over the same month a year before, in log units). Every forecast month is the same month of
    the last season times ``exp(mean d)``, the constant growth a model of d would give if it
    predicted its training mean. Longer horizons repeat that first forecast season without
    compounding (as :func:`seasonal_naive_growth`). Needs positive values; returns (horizon,).
    """
    arr = _history(history, season, 2)
    if (arr <= 0).any():
        raise ValueError("the log growth needs positive values; shift or drop the non-positive ones first")
    d = np.log(arr[season:]) - np.log(arr[:-season])     # (len(history) - season,)
    return seasonal_naive(arr[-season:] * np.exp(d.mean()), horizon, season)


# ---------------------------------------------------------------- images (chapter 04)

def binomial_standard_error(accuracy: float, n: int) -> float:
    """Standard error of an accuracy measured on ``n`` independent test items: sqrt(p(1-p)/n)."""
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be a fraction in [0, 1] (not percent), got {accuracy!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (the number of test items), got {n!r}")
    return math.sqrt(accuracy * (1.0 - accuracy) / n)


def _flat_pixels(images: Tensor) -> Tensor:
    if not isinstance(images, Tensor) or images.ndim < 2:
        raise ValueError("images must be a tensor (n, ...) such as (n, 28, 28); "
                         f"got {type(images).__name__} {getattr(images, 'shape', '')}")
    return images.reshape(len(images), -1).to(torch.float32)


def fit_logistic_regression(images: Tensor, labels: Tensor, *, n_classes: int = 10,
                            weight_decay: float = 1e-4, max_iter: int = 100, seed: int = 0) -> nn.Linear:
    """Multinomial logistic regression on raw pixels (full-batch L-BFGS); returns an ``nn.Linear``.

    ``images`` (n, ...) are flattened to (n, pixels); the loss is the mean cross-entropy plus
    ``weight_decay / 2`` times the squared weights (not the bias). Deterministic for a seed.
    """
    x = _flat_pixels(images)                                # (n, pixels)
    y = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    if len(y) != len(x):
        raise ValueError(f"got {len(x)} images but {len(y)} labels")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    torch.manual_seed(seed)
    model = nn.Linear(x.shape[1], n_classes)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=max_iter,
                                  line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y) + 0.5 * weight_decay * model.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return model


def classifier_accuracy(model: nn.Module, images: Tensor, labels: Tensor) -> float:
    """Fraction of ``images`` whose argmax prediction equals the label (pixels flattened)."""
    with torch.no_grad():
        predicted = model(_flat_pixels(images)).argmax(dim=-1)
    return (predicted == torch.as_tensor(labels).reshape(-1)).float().mean().item()


# ---------------------------------------------------------------- text (chapters 06, 07, 09)

@dataclass(frozen=True)
class MostFrequentTag:
    """Each word index gets the tag it carried most often in training: ``model(words) -> tags``.

    ``table[i]`` is the predicted tag of word index ``i`` (ties go to the smaller tag index).
    A word index never seen in training (the ``<unk>`` index when no training word maps to
    it) gets ``fallback``, the most frequent tag of all training words.
    """

    table: Tensor   # (vocab_size,) int64 tag per word index
    fallback: int   # the tag of word indices unseen in training

    def __call__(self, words: Tensor) -> Tensor:
        """Tags for word indices of any shape (same shape, int64)."""
        if words.dtype != torch.int64:
            raise TypeError(f"word indices must be int64 (as corpus.encode_words gives), got {words.dtype}")
        if words.numel() and (int(words.min()) < 0 or int(words.max()) >= len(self.table)):
            raise ValueError(f"word indices must lie in 0..{len(self.table) - 1} (the vocabulary the "
                             f"baseline was fitted with), got {int(words.min())}..{int(words.max())}")
        return self.table[words]


def fit_most_frequent_tag(pairs: Sequence[tuple[Tensor, Tensor]], vocab_size: int,
                          n_tags: int) -> MostFrequentTag:
    """The most-frequent-tag baseline from ``(word indices (n,), tag indices (n,))`` training pairs.

    Fit it on the same encoded sentences the network trains on (``corpus.encoded()``), so an
    unknown word is handled exactly as the network sees it: it has become ``unk_index``, and
    that index gets the tag ``<unk>`` carried in training (with ``min_count=2`` vocabularies
    or word dropout), or else the most frequent training tag.
    """
    if not pairs:
        raise ValueError("fit_most_frequent_tag needs at least one (words, tags) training pair")
    counts = torch.zeros(vocab_size, n_tags, dtype=torch.int64)
    for words, tags in pairs:
        if words.shape != tags.shape:
            raise ValueError(f"words and tags must have the same shape, got {tuple(words.shape)} "
                             f"and {tuple(tags.shape)}")
        keep = tags != -100                       # padding, if the pairs come from a padded batch
        counts.index_put_((words[keep], tags[keep]), torch.ones_like(words[keep]), accumulate=True)
    fallback = int(counts.sum(0).argmax())        # the most frequent tag overall
    table = counts.argmax(1)                      # first maximum: ties -> smaller tag index
    table[counts.sum(1) == 0] = fallback
    return MostFrequentTag(table=table, fallback=fallback)


def tagging_accuracy(predict: Callable[[Tensor], Tensor], pairs: Sequence[tuple[Tensor, Tensor]],
                     only: Callable[[Tensor], Tensor] | None = None) -> tuple[int, int]:
    """``(correct, total)`` tags of ``predict(words)`` over ``(words, tags)`` pairs.

    ``only(words)`` returns a boolean mask of the positions to count (for example
    ``lambda w: w == corpus.unk_index`` for the unknown words); default: every position.
    """
    correct = total = 0
    for words, tags in pairs:
        keep = torch.ones_like(tags, dtype=torch.bool) if only is None else only(words)
        predicted = predict(words)
        correct += int((predicted[keep] == tags[keep]).sum())
        total += int(keep.sum())
    return correct, total


@dataclass(frozen=True)
class BigramHMM:
    """A bigram hidden Markov tagger, decoded with Viterbi: ``model(words) -> tags``.

    ``P(tags, words) = start[y_1] * prod_t trans[y_{t-1}, y_t] * prod_t emit[y_t, w_t]``; the
    fields hold the logs. Unlike the most-frequent-tag lookup it uses the previous tag, so a
    word seen with two tags is decided by the tag before it.
    """

    log_start: Tensor   # (n_tags,) log P(first tag)
    log_trans: Tensor   # (n_tags, n_tags) log P(tag t | tag t-1), rows = previous tag
    log_emit: Tensor    # (n_tags, vocab_size) log P(word | tag)

    def _viterbi(self, words: Tensor) -> Tensor:
        """The most probable tag sequence (T,) for one sentence ``words (T,)``."""
        if words.numel() == 0:
            return torch.zeros(0, dtype=torch.int64)
        delta = self.log_start + self.log_emit[:, words[0]]              # (n_tags,)
        back = []
        for w in words[1:].tolist():
            scores = delta.unsqueeze(1) + self.log_trans                   # (previous, next)
            delta, best_prev = scores.max(0)                               # (n_tags,) each
            delta = delta + self.log_emit[:, w]
            back.append(best_prev)
        path = [int(delta.argmax())]
        for best_prev in reversed(back):
            path.append(int(best_prev[path[-1]]))
        return torch.tensor(path[::-1], dtype=torch.int64)

    def __call__(self, words: Tensor) -> Tensor:
        """Tags for word indices ``(T,)`` or ``(batch, T)`` (every row a whole sentence)."""
        if words.dtype != torch.int64:
            raise TypeError(f"word indices must be int64 (as corpus.encode_words gives), got {words.dtype}")
        vocab_size = self.log_emit.shape[1]
        if words.numel() and (int(words.min()) < 0 or int(words.max()) >= vocab_size):
            raise ValueError(f"word indices must lie in 0..{vocab_size - 1} (the vocabulary the "
                             f"HMM was fitted with), got {int(words.min())}..{int(words.max())}")
        if words.dim() == 1:
            return self._viterbi(words)
        if words.dim() == 2:
            return torch.stack([self._viterbi(row) for row in words]) if len(words) else words.clone()
        raise ValueError(f"expected word indices of shape (T,) or (batch, T), got {tuple(words.shape)}")


def fit_bigram_hmm(pairs: Sequence[tuple[Tensor, Tensor]], vocab_size: int, n_tags: int) -> BigramHMM:
    """A bigram HMM from ``(word indices (n,), tag indices (n,))`` training pairs, by counting.

    Start, transition and emission probabilities are relative frequencies with 1 added to every
    count (add-one smoothing), so an unknown word (index ``unk_index``, never seen in training)
    has the same small emission count under every tag and the neighbouring tags decide it.
    Positions tagged -100 (padding) are skipped.
    """
    if not pairs:
        raise ValueError("fit_bigram_hmm needs at least one (words, tags) training pair")
    start = torch.ones(n_tags, dtype=torch.float64)
    trans = torch.ones(n_tags, n_tags, dtype=torch.float64)
    emit = torch.ones(n_tags, vocab_size, dtype=torch.float64)
    for words, tags in pairs:
        if words.shape != tags.shape or words.dim() != 1:
            raise ValueError(f"words and tags must be 1-D of the same shape, got {tuple(words.shape)} "
                             f"and {tuple(tags.shape)}")
        keep = tags != -100
        words, tags = words[keep], tags[keep]
        if len(tags) == 0:
            continue
        if (int(words.min()) < 0 or int(words.max()) >= vocab_size
                or int(tags.min()) < 0 or int(tags.max()) >= n_tags):
            raise ValueError(f"word indices must lie in 0..{vocab_size - 1} and tags in 0..{n_tags - 1}, "
                             f"got words {int(words.min())}..{int(words.max())}, "
                             f"tags {int(tags.min())}..{int(tags.max())}")
        start[tags[0]] += 1
        ones = torch.ones(len(tags), dtype=torch.float64)
        trans.index_put_((tags[:-1], tags[1:]), ones[1:], accumulate=True)
        emit.index_put_((tags, words), ones, accumulate=True)
    return BigramHMM(log_start=(start / start.sum()).log(),
                     log_trans=(trans / trans.sum(1, keepdim=True)).log(),
                     log_emit=(emit / emit.sum(1, keepdim=True)).log())


class CharNGram:
    """An interpolated Witten-Bell character n-gram model on integer token ids.

    ``P(c | h)`` for a history ``h`` of up to ``n - 1`` characters is
    ``(count(h, c) + u(h) * P(c | h')) / (count(h) + u(h))``, where ``h'`` drops the oldest
    character and ``u(h)`` is the number of distinct characters seen after ``h``; a history
    never seen falls back to ``P(c | h')``. The recursion ends at the unigram, interpolated the
    same way with the uniform distribution over ``vocab_size``, so no character has probability 0.
    """

    def __init__(self, ids: Sequence[int] | Tensor, n: int, vocab_size: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1 (1 = unigram), got {n!r}")
        ids = [int(i) for i in (ids.tolist() if isinstance(ids, Tensor) else ids)]
        if not ids:
            raise ValueError("CharNGram needs a non-empty training sequence of token ids")
        if min(ids) < 0 or max(ids) >= vocab_size:
            raise ValueError(f"token ids must lie in 0..{vocab_size - 1}, got {min(ids)}..{max(ids)}")
        self.n, self.vocab_size = n, vocab_size
        self.counts: dict[tuple[int, ...], dict[int, int]] = {}   # history -> next id -> count
        for order in range(n):                                     # history length 0..n-1
            for t in range(order, len(ids)):
                following = self.counts.setdefault(tuple(ids[t - order:t]), {})
                following[ids[t]] = following.get(ids[t], 0) + 1
        self._totals = {h: sum(f.values()) for h, f in self.counts.items()}
        self._cache: dict[tuple[int, ...], dict[int, float]] = {}

    def prob(self, history: Sequence[int], token: int) -> float:
        """``P(token | history)``; only the last ``n - 1`` items of ``history`` are used."""
        history = tuple(int(i) for i in history)[max(0, len(history) - (self.n - 1)):] if self.n > 1 else ()
        p = 1.0 / self.vocab_size
        for start in range(len(history), -1, -1):                  # from the empty history upwards
            h = history[start:]
            following = self.counts.get(h)
            if following is None:
                continue                                           # unseen history: keep the lower order
            distinct, total = len(following), self._totals[h]
            p = (following.get(int(token), 0) + distinct * p) / (total + distinct)
        return p

    def perplexity(self, inputs: Tensor, targets: Tensor) -> float:
        """Perplexity on windows: ``inputs``/``targets`` ``(windows, steps)``, targets shifted by one.

        The history of target ``t`` is the window's inputs ``0..t`` only (cut at the window
        start, as a language model whose state is reset at every window sees it).
        """
        if inputs.shape != targets.shape or inputs.dim() != 2:
            raise ValueError(f"inputs and targets must both be (windows, steps), got {tuple(inputs.shape)} "
                             f"and {tuple(targets.shape)}")
        nll, memo = 0.0, {}
        for x, y in zip(inputs.tolist(), targets.tolist(), strict=True):
            for t, target in enumerate(y):
                key = (tuple(x[max(0, t + 2 - self.n):t + 1]), target)
                if key not in memo:
                    memo[key] = -math.log(self.prob(key[0], target))
                nll += memo[key]
        return math.exp(nll / targets.numel())
