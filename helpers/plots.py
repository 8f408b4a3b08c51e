"""Figures and tables for the notebooks (matplotlib): training curves, gate heatmaps, results tables.

Every function builds its figure inside ``matplotlib.rc_context(STYLE)``, so the house
look (moderate size, readable fonts) never changes the global matplotlib settings, and
returns the Figure (call ``plt.show()`` at the end of the notebook cell).

Gate heatmaps use FIXED colour ranges so two heatmaps can be compared: gates (I, F, O, R,
Z) span 0..1 with a sequential map; candidates, cell and hidden states (C_tilde, C,
H_tilde, H) span -bound..bound with a diverging map centred on 0 (bound 1 by default; the
cell state C is not squashed and may saturate the colours, see ``cell_bound``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["STYLE", "style", "plot_history", "gate_heatmaps", "GATE_INFO", "results_table",
           "mean_std"]

#: The house style, applied only inside the plotting functions (no global changes).
STYLE: dict[str, Any] = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def style():
    """A context manager with the house style, for notebook figures made by hand."""
    return plt.rc_context(STYLE)


# ----------------------------------------------------------------------------- training curves

def _moving_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving mean (shorter at the start) of a 1-D array."""
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (cumsum[idx] - cumsum[lo]) / (idx - lo)


def plot_history(history, ax: Axes | None = None, *, title: str = "Training curves",
                 smooth: int | None = None, log_loss: bool = False, eval_label: str = "dev",
                 xlabel: str = "optimizer step") -> Figure:
    """Train loss (raw and moving mean) and evaluation loss against optimizer steps; metric beside it.

    With ``ax=None`` the figure has one panel, or two when the history has a metric
    (loss | metric). With a given ``ax`` the metric goes on a twin y axis of that panel.
    ``smooth`` is the moving-mean window in steps (default: about 2% of the run).
    ``eval_label`` names the set that ``fit`` evaluated (``"dev"``, ``"test"``, ...); the
    best-step line is drawn only when ``fit`` restored those best weights (``keep_best``).
    """
    steps = np.asarray(history.steps)
    train = np.asarray(history.train_loss, dtype=float)
    has_metric = bool(history.dev_metric)
    with plt.rc_context(STYLE):
        if ax is None:
            ncols = 2 if has_metric else 1
            fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.6), squeeze=False,
                                     layout="constrained")
            loss_ax, metric_ax = axes[0, 0], (axes[0, 1] if has_metric else None)
        else:
            fig, loss_ax = ax.figure, ax
            metric_ax = ax.twinx() if has_metric else None
        window = smooth or max(1, len(train) // 50)
        smoothed = window >= 3
        loss_ax.plot(steps, train, color="C0", alpha=0.25 if smoothed else 1.0, lw=0.8 if smoothed else 1.4,
                     label="train loss (per step)")
        if smoothed:
            loss_ax.plot(steps, _moving_mean(train, window), color="C0", lw=1.6,
                         label=f"train loss (mean of {window} steps)")
        if history.dev_loss:
            loss_ax.plot(history.eval_steps, history.dev_loss, "o-", color="C1", ms=3,
                         label=f"{eval_label} loss")
        best_label = None
        if history.best_step is not None and history.restored_best:
            criterion = (history.best_by or "dev").split(" (")[0].replace("dev", eval_label, 1)
            best_label = f"best {criterion} at step {history.best_step}"
            loss_ax.axvline(history.best_step, color="0.4", ls="--", lw=1, label=best_label)
        if log_loss:
            loss_ax.set_yscale("log")
        loss_ax.set_xlabel(xlabel)
        loss_ax.set_ylabel("loss")
        loss_ax.legend(loc="best")
        if metric_ax is not None:
            name = history.metric_name or "metric"
            metric_ax.plot(history.eval_steps, history.dev_metric, "s-", color="C2", ms=3,
                           label=f"{eval_label} {name}")
            metric_ax.set_ylabel(f"{eval_label} {name}")
            if ax is None:
                if best_label is not None:
                    metric_ax.axvline(history.best_step, color="0.4", ls="--", lw=1, label=best_label)
                    metric_ax.legend(loc="best")
                metric_ax.set_xlabel(xlabel)
                metric_ax.set_title(f"{eval_label} {name}")
                loss_ax.set_title("loss")
                fig.suptitle(title)
            else:   # one legend for both y axes, drawn on the twin axis (which is on top)
                metric_ax.grid(False)
                handles = loss_ax.get_legend_handles_labels()[0] + metric_ax.get_legend_handles_labels()[0]
                loss_ax.get_legend().remove()
                metric_ax.legend(handles=handles, loc="best")
                loss_ax.set_title(title)
        else:
            loss_ax.set_title(title)
    return fig


# ----------------------------------------------------------------------------- gate heatmaps

#: key -> (readable panel name, kind); kind "gate" = 0..1, "state" = symmetric about 0.
GATE_INFO: dict[str, tuple[str, str]] = {
    "I": ("input gate I", "gate"),
    "F": ("forget gate F", "gate"),
    "O": ("output gate O", "gate"),
    "R": ("reset gate R", "gate"),
    "Z": ("update gate Z", "gate"),
    "C_tilde": ("candidate cell C~", "state"),
    "C": ("cell state C", "state"),
    "H_tilde": ("candidate hidden H~", "state"),
    "H": ("hidden state H", "state"),
}
GATE_CMAP = "viridis"     # sequential, for 0..1
STATE_CMAP = "RdBu_r"     # diverging, centred on 0


def _as_steps_hidden(key: str, value: Any, batch_index: int) -> np.ndarray:
    """A record entry as a (steps, hidden) array; accepts (steps, hidden) or (steps, batch, hidden)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().float().numpy()
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 3:
        if not -arr.shape[1] <= batch_index < arr.shape[1]:
            raise ValueError(f"batch_index={batch_index} is out of range for record[{key!r}] of shape "
                             f"{tuple(arr.shape)} (steps, batch, hidden)")
        arr = arr[:, batch_index, :]
    elif arr.ndim != 2:
        raise ValueError(f"record[{key!r}] has shape {tuple(arr.shape)}; expected (steps, hidden) or "
                         f"(steps, batch, hidden)")
    return arr


def _default_keys(record: Mapping[str, Any]) -> list[str]:
    """The known keys present in the record, in the order of GATE_INFO."""
    return [k for k in GATE_INFO if k in record]


def gate_heatmaps(record: Mapping[str, Any], tokens: Sequence[str], *, keys: Sequence[str] | None = None,
                  title: str | None = None, prediction: str | None = None, batch_index: int = 0,
                  state_bound: float = 1.0, cell_bound: float | None = None,
                  max_unit_labels: int = 16, difference: bool = False) -> Figure:
    """One heatmap per key: rows = hidden units, columns = time steps labelled "step:token" (1-based).

    ``record`` maps keys of :data:`GATE_INFO` (``"I", "F", "O", "C_tilde", "C", "H"`` for
    an LSTM; ``"R", "Z", "H_tilde", "H"`` for a GRU) to tensors of shape (steps, hidden)
    or (steps, batch, hidden) (then item ``batch_index`` is shown). Gates use the fixed
    range 0..1; states use -state_bound..state_bound (``cell_bound`` for ``"C"``, default
    ``state_bound``). Values outside the range are drawn in the end colour and the colour bar
    gets a pointed end on that side. ``difference=True`` marks the panels as differences of
    two runs (colour bar "ΔC", title "difference of ..."). ``prediction`` is added to the
    figure title. Returns the Figure.
    """
    keys = list(keys) if keys is not None else _default_keys(record)
    if not keys:
        raise ValueError(f"no known keys in the record (got {sorted(record)}); known: {list(GATE_INFO)}")
    unknown = [k for k in keys if k not in GATE_INFO]
    missing = [k for k in keys if k not in record]
    if unknown or missing:
        raise ValueError(f"cannot plot keys {unknown + missing}: known keys are {list(GATE_INFO)}, "
                         f"record has {sorted(record)}")
    tokens = [str(t) for t in tokens]
    panels = {k: _as_steps_hidden(k, record[k], batch_index) for k in keys}   # (steps, hidden) each
    for k, arr in panels.items():
        if arr.shape[0] != len(tokens):
            raise ValueError(f"record[{k!r}] has {arr.shape[0]} steps (shape {tuple(record[k].shape)}) "
                             f"but {len(tokens)} tokens were given; pass one token per time step")
    hidden = max(arr.shape[1] for arr in panels.values())
    width = min(16.0, max(6.0, 0.42 * len(tokens) + 2.5))
    height_each = min(3.2, max(1.4, 0.11 * hidden + 1.0))
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(keys), 1, figsize=(width, height_each * len(keys) + 0.4), squeeze=False,
                                 layout="constrained")
        for ax, key in zip(axes[:, 0], keys, strict=True):
            name, kind = GATE_INFO[key]
            if kind == "gate":
                vmin, vmax, cmap = 0.0, 1.0, GATE_CMAP
            else:
                bound = cell_bound if (key == "C" and cell_bound is not None) else state_bound
                vmin, vmax, cmap = -bound, bound, STATE_CMAP
            arr = panels[key].T                                                   # (hidden, steps)
            image = ax.imshow(arr, vmin=vmin, vmax=vmax, cmap=cmap, aspect="auto", interpolation="nearest")
            low, high = bool((arr < vmin).any()), bool((arr > vmax).any())   # clipped on either side?
            extend = {(True, True): "both", (True, False): "min", (False, True): "max"}.get((low, high),
                                                                                          "neither")
            label = f"{'Δ' if difference else ''}{key} ({vmin:g}..{vmax:g})"
            fig.colorbar(image, ax=ax, pad=0.01, label=label, extend=extend)
            ax.set_xticks(range(len(tokens)), [f"{t + 1}:{tok}" for t, tok in enumerate(tokens)])
            every = max(1, int(np.ceil(arr.shape[0] / max_unit_labels)))
            ax.set_yticks(range(0, arr.shape[0], every))
            ax.set_title(f"difference of {name}" if difference else name)
            ax.set_ylabel("hidden unit")
            ax.set_xlabel("time step : input token")
            ax.grid(False)
        heading = title or "Gate activations"
        if prediction is not None:
            heading = f"{heading}: prediction {prediction}"
        fig.suptitle(heading)
    return fig


# ----------------------------------------------------------------------------- tables

def mean_std(values: Sequence[float], digits: int = 3) -> str:
    """``'mean ± std'`` (sample std, ddof=1; just the mean for one value) with ``digits`` decimals."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return "-"
    if arr.size == 1:
        return f"{arr[0]:.{digits}f}"
    return f"{arr.mean():.{digits}f} ± {arr.std(ddof=1):.{digits}f}"


def results_table(rows: pd.DataFrame | Sequence[Mapping[str, Any]], *, by: str | Sequence[str] | None = None,
                  values: Sequence[str] | None = None, digits: int = 3, count: bool = True) -> pd.DataFrame:
    """A small readable results table (a DataFrame whose cells are formatted strings).

    Without ``by``: the rows as given, floats rounded to ``digits`` decimals. With ``by``
    (e.g. ``by=["model", "length"]``): one row per group and, for each column in ``values``
    (default: every numeric column not in ``by``), ``'mean ± std'`` over the group (sample
    std), plus an ``n`` column with the group size when ``count``.
    """
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if by is None:
        return frame.apply(lambda col: col.map(
            lambda v: f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else v))
    by = [by] if isinstance(by, str) else list(by)
    absent = [c for c in by if c not in frame.columns]
    if absent:
        raise ValueError(f"by columns {absent} are not in the table; columns: {list(frame.columns)}")
    if values is None:
        values = [c for c in frame.columns if c not in by and pd.api.types.is_numeric_dtype(frame[c])]
    grouped = frame.groupby(by, sort=False)
    table = pd.DataFrame({c: grouped[c].agg(lambda s: mean_std(s.to_numpy(), digits)) for c in values})
    if count:
        table["n"] = grouped.size()
    return table.reset_index()
