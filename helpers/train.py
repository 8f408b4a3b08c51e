"""The one training loop of the collection: classification, regression and language modelling.

``fit`` trains for whole epochs, evaluates on a dev loader every ``eval_every`` optimizer
steps (and at the end), keeps a copy of the best-on-dev weights and restores them, and
returns a :class:`History`. ``evaluate`` computes a dev/test loss and metric weighted by
the number of targets.

Conventions
-----------
* A loader yields ``(x, y)`` pairs; both are moved to the device. ``loss_fn(output, y)``
  receives the model's output and the targets exactly as given (no reshaping), and must
  return the MEAN loss over the targets. If the model returns a tuple (e.g. ``(output,
  state)``) its first item is the output.
* Language modelling: the model returns ``(batch, steps, vocab)`` logits and ``y`` is
  ``(batch, steps)``; use :func:`sequence_cross_entropy` as ``loss_fn`` and
  ``metric="perplexity"``.
* Weighting: a batch's mean loss (and metric) counts with weight ``y.numel()``: the batch
  size for one target per sample, the number of tokens for language modelling. Perplexity
  is ``exp`` of the token-weighted mean loss over the whole loader, not a mean of per-batch
  perplexities.
* Speed: the per-step loss is kept as a detached tensor and only copied to the host at
  evaluation time, so there is no per-step device synchronisation and no per-step copy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from helpers.config import device as default_device
from helpers.config import show_progress

__all__ = ["History", "fit", "evaluate", "sequence_cross_entropy", "METRICS", "IGNORE_INDEX"]

#: Integer targets equal to this are padding: ``evaluate`` leaves them out of the weights and the
#: accuracy (the same default as ``ignore_index`` in ``F.nll_loss`` and ``F.cross_entropy``).
IGNORE_INDEX = -100

#: Metric names ``fit``/``evaluate`` understand, and whether higher is better.
METRICS: dict[str, bool] = {"accuracy": True, "perplexity": False}

MetricArg = str | Callable[[Tensor, Tensor], Tensor | float] | None


def sequence_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean cross-entropy over every token: logits ``(batch, steps, vocab)``, targets ``(batch, steps)``."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@dataclass(repr=False)
class History:
    """What happened in one :func:`fit` run; ``to_frame()`` gives a tidy table."""

    steps: list[int] = field(default_factory=list)        # optimizer step 1..n of each train_loss
    train_loss: list[float] = field(default_factory=list)  # loss of each optimizer step
    eval_steps: list[int] = field(default_factory=list)    # steps after which dev was evaluated
    dev_loss: list[float] = field(default_factory=list)
    dev_metric: list[float] = field(default_factory=list)  # empty when metric is None
    grad_norm: list[float] = field(default_factory=list)   # pre-clipping global norm (with clip_norm)
    metric_name: str | None = None
    best_by: str | None = None          # e.g. "dev accuracy (higher is better)" or "dev loss (lower ...)"
    best_step: int | None = None
    best_value: float | None = None
    restored_best: bool = False         # True when the best weights were loaded back at the end
    epochs: int = 0
    wall_time_s: float = 0.0            # the whole fit, evaluation included
    train_time_s: float = 0.0           # training steps only (evaluation excluded)
    samples: int = 0                    # training samples seen (sum of x.shape[0])
    targets: int = 0                    # training targets seen (sum of y.numel(); tokens in LM)

    @property
    def samples_per_s(self) -> float:
        """Training samples per second (evaluation time excluded)."""
        return self.samples / self.train_time_s if self.train_time_s > 0 else float("nan")

    @property
    def targets_per_s(self) -> float:
        """Training targets per second: tokens per second for language modelling."""
        return self.targets / self.train_time_s if self.train_time_s > 0 else float("nan")

    @property
    def final_dev_loss(self) -> float | None:
        """The last dev loss (after the last step, before any restore)."""
        return self.dev_loss[-1] if self.dev_loss else None

    def to_frame(self):
        """One row per optimizer step: step, train_loss, and dev_loss/dev_metric where evaluated."""
        import pandas as pd

        frame = pd.DataFrame({"step": self.steps, "train_loss": self.train_loss})
        if self.grad_norm:
            frame["grad_norm"] = self.grad_norm
        if self.eval_steps:
            dev = pd.DataFrame({"step": self.eval_steps, "dev_loss": self.dev_loss})
            if self.dev_metric:
                dev[f"dev_{self.metric_name}"] = self.dev_metric
            frame = frame.merge(dev, on="step", how="left")
        return frame

    def train_loss_windows(self) -> list[float]:
        """Mean train loss over each evaluation window (steps after the previous eval up to this one)."""
        means, start = [], 0
        for end in self.eval_steps:
            chunk = self.train_loss[start:end]
            means.append(sum(chunk) / len(chunk) if chunk else float("nan"))
            start = end
        return means

    def __repr__(self) -> str:
        best = "no dev evaluation"
        if self.best_step is not None:
            criterion = (self.best_by or "dev").split(" (")[0]
            best = f"best {criterion} {self.best_value:.4g} at step {self.best_step}"
        last = f"last train loss {self.train_loss[-1]:.4g}" if self.train_loss else "no steps"
        return (f"History({len(self.steps)} steps, {len(self.eval_steps)} evals, {last}, {best}, "
                f"{self.wall_time_s:.1f} s)")

    def summary(self) -> dict[str, Any]:
        """The scalar fields (no per-step lists) as a dict."""
        skip = {"steps", "train_loss", "eval_steps", "dev_loss", "dev_metric", "grad_norm"}
        out = {k: v for k, v in asdict(self).items() if k not in skip}
        out.update(samples_per_s=self.samples_per_s, targets_per_s=self.targets_per_s)
        return out


# ----------------------------------------------------------------------------- helpers

def _metric_spec(metric: MetricArg, higher_is_better: bool | None) -> tuple[str | None, bool]:
    """Validate ``metric``; return its display name and whether higher is better."""
    if metric is None:
        return None, False
    if isinstance(metric, str):
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}: use one of {sorted(METRICS)}, None, "
                             f"or a callable metric(output, target)")
        return metric, METRICS[metric]
    if callable(metric):
        return getattr(metric, "__name__", "metric"), True if higher_is_better is None else higher_is_better
    raise ValueError(f"metric must be a name in {sorted(METRICS)}, None, or a callable; got {metric!r}")


def _output(model: nn.Module, x: Tensor) -> Tensor:
    """Call the model; take the first item when it returns ``(output, state)``."""
    out = model(x)
    return out[0] if isinstance(out, (tuple, list)) else out


def _to(batch: Any, dev: torch.device) -> tuple[Tensor, Tensor]:
    """Split a loader item into ``(x, y)`` and move both to the device."""
    x, y = batch
    return x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, *, loss_fn: Callable[[Tensor, Tensor], Tensor],
             metric: MetricArg = None,
             device: torch.device | str | None = None) -> tuple[float, float | None]:
    """Mean loss (and metric) over a loader, each batch weighted by ``y.numel()``.

    ``metric="accuracy"``: fraction of targets where ``output.argmax(-1) == y``;
    ``"perplexity"``: ``exp`` of the weighted mean loss; a callable ``metric(output, y)``
    returns a per-batch mean that is weighted like the loss. Integer targets equal to
    ``IGNORE_INDEX`` (-100, padding) are skipped: ``loss_fn`` must skip them too (the default
    ``ignore_index`` of ``F.nll_loss``/``F.cross_entropy`` does). Returns ``(loss, metric or None)``.
    The model is put in eval mode and returned to its previous mode.
    """
    name, _ = _metric_spec(metric, None)
    if device is not None:
        dev = torch.device(device)
    else:   # where the model's parameters are (the default device for a parameter-free model)
        dev = next((p.device for p in model.parameters()), None) or default_device()
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
    metric_sum = torch.zeros((), dtype=torch.float64, device=dev)
    count = 0
    for batch in loader:
        x, y = _to(batch, dev)
        out = _output(model, x)
        # targets equal to IGNORE_INDEX (padding) count for neither the weight nor the accuracy
        n = y.numel() if y.is_floating_point() else (y != IGNORE_INDEX).sum()
        loss_sum += loss_fn(out, y).detach().double() * n
        if name == "accuracy":
            metric_sum += (out.argmax(dim=-1) == y).sum().double()   # never equal to IGNORE_INDEX
        elif callable(metric):
            metric_sum += torch.as_tensor(metric(out, y), dtype=torch.float64, device=dev) * n
        count += n
    model.train(was_training)
    count = int(count)   # one host sync per evaluation
    if count == 0:
        raise ValueError("evaluate got an empty loader")
    loss = float(loss_sum) / count
    if name is None:
        return loss, None
    if name == "perplexity":
        return loss, math.exp(loss)
    return loss, float(metric_sum) / count


def _check_args(epochs: int, dev_loader: Any, eval_every: int | None, clip_norm: float | None) -> None:
    """Raise ValueError with the fix for arguments ``fit`` cannot use."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if eval_every is not None:
        if dev_loader is None:
            raise ValueError("eval_every needs a dev_loader: pass dev_loader=... or drop eval_every")
        if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
            raise ValueError(f"eval_every must be an int >= 1 (optimizer steps), got {eval_every!r}")
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"clip_norm must be > 0 (or None for no clipping), got {clip_norm!r}")


def _progress_bar(total: int, progress: bool | None):
    """A tqdm.auto bar, or None with progress=False (None: ``helpers.config.show_progress()``)."""
    if progress is False or (progress is None and not show_progress()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="training", unit="step", leave=False, mininterval=0.5)


# ----------------------------------------------------------------------------- fit

def fit(model: nn.Module, train_loader: Iterable, *, loss_fn: Callable[[Tensor, Tensor], Tensor],
        optimizer: torch.optim.Optimizer, epochs: int, dev_loader: Iterable | None = None,
        eval_every: int | None = None, metric: MetricArg = None, clip_norm: float | None = None,
        device: torch.device | str | None = None, seed: int | None = None, keep_best: bool = True,
        progress: bool | None = None, higher_is_better: bool | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return a :class:`History`.

    * ``device`` (default ``helpers.config.device()``): the model and every batch move there.
    * ``clip_norm``: clip the global gradient norm with ``torch.nn.utils.clip_grad_norm_``
      (the pre-clipping norms are recorded in ``History.grad_norm``).
    * ``dev_loader``: evaluated every ``eval_every`` optimizer steps, or once per epoch when
      ``eval_every`` is None, and always after the last step.
    * ``metric``: ``"accuracy"``, ``"perplexity"``, None, or a callable ``metric(output, y)``
      (higher is better unless ``higher_is_better=False``). The best dev evaluation is chosen
      by the metric, or by the dev loss when ``metric`` is None (``History.best_by`` says which).
    * ``keep_best``: copy the weights (``state_dict``) at each new best and load them back at
      the end; with ``keep_best=False`` the final weights stay.
    * ``seed``: ``torch.manual_seed(seed)`` before training, which also fixes the shuffling
      of a DataLoader that has no generator of its own.
    * ``progress``: a tqdm bar; None means ``helpers.config.show_progress()``: on, except in
      the CI profile or with ``RNN_PROGRESS=0`` (set by ``tasks.py execute``).
    """
    _check_args(epochs, dev_loader, eval_every, clip_norm)
    metric_name, higher = _metric_spec(metric, higher_is_better)
    dev = torch.device(device) if device is not None else default_device()
    if seed is not None:
        torch.manual_seed(seed)
    model.to(dev)
    try:
        steps_per_epoch = len(train_loader)  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = None
    if steps_per_epoch == 0:
        raise ValueError("train_loader is empty: check the dataset size and batch_size")

    history = History(metric_name=metric_name, epochs=epochs)
    by_metric = metric_name is not None
    if dev_loader is not None:
        history.best_by = (f"dev {metric_name} ({'higher' if higher else 'lower'} is better)" if by_metric
                           else "dev loss (lower is better)")
    better = (lambda a, b: a > b) if (by_metric and higher) else (lambda a, b: a < b)
    best_state: dict[str, Tensor] | None = None

    pending: list[Tensor] = []     # detached per-step losses not yet copied to the host
    pending_norms: list[Tensor] = []
    bar = _progress_bar(epochs * steps_per_epoch if steps_per_epoch else None, progress)
    start = time.perf_counter()
    eval_time = 0.0
    step = 0

    def flush() -> None:
        """Copy the pending step losses to the host (one sync)."""
        if pending:
            history.train_loss.extend(torch.stack(pending).float().tolist())
            pending.clear()
        if pending_norms:
            history.grad_norm.extend(torch.stack(pending_norms).float().tolist())
            pending_norms.clear()

    def run_eval() -> None:
        """Evaluate on dev, record it, and copy the weights when they are the best so far."""
        nonlocal best_state, eval_time
        t0 = time.perf_counter()
        flush()
        loss, value = evaluate(model, dev_loader, loss_fn=loss_fn, metric=metric, device=dev)
        history.eval_steps.append(step)
        history.dev_loss.append(loss)
        if value is not None:
            history.dev_metric.append(value)
        score = value if by_metric else loss
        if history.best_value is None or better(score, history.best_value):
            history.best_value, history.best_step = score, step
            if keep_best:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if bar is not None:
            shown = f"{value:.4g}" if value is not None else "-"
            bar.set_postfix_str(f"dev loss {loss:.4g}, {metric_name or 'metric'} {shown}")
        eval_time += time.perf_counter() - t0

    try:
        model.train()
        for _ in range(epochs):
            for batch in train_loader:
                x, y = _to(batch, dev)
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(_output(model, x), y)
                loss.backward()
                if clip_norm is not None:
                    pending_norms.append(nn.utils.clip_grad_norm_(model.parameters(), clip_norm).detach())
                optimizer.step()
                step += 1
                pending.append(loss.detach())
                history.samples += x.shape[0]
                history.targets += y.numel()
                if bar is not None:
                    bar.update(1)
                if eval_every is not None and step % eval_every == 0:
                    run_eval()
            if dev_loader is not None and eval_every is None:
                run_eval()
            flush()   # one host sync per epoch at most, so the pending list stays short
        if step == 0:
            raise ValueError("train_loader yielded no batches")
        if dev_loader is not None and (not history.eval_steps or history.eval_steps[-1] != step):
            run_eval()
        flush()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        history.wall_time_s = time.perf_counter() - start
        history.train_time_s = history.wall_time_s - eval_time
        history.steps = list(range(1, step + 1))
        if keep_best and best_state is not None:
            model.load_state_dict(best_state)
            history.restored_best = True
    finally:   # also when interrupted (KeyboardInterrupt in a notebook)
        if bar is not None:
            bar.close()
    return history
