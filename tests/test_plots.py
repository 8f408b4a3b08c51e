"""Tests for helpers.plots: fixed heatmap colour ranges, token tick labels, shapes, curves, tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import plots  # noqa: E402
from helpers.train import History  # noqa: E402

TOKENS = ["3", "5", "0", "7", "0"]


def _lstm_record(steps: int = 5, batch: int = 2, hidden: int = 4) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    gate = lambda: torch.rand(steps, batch, hidden, generator=g) * 0.5  # noqa: E731  (max 0.5)
    state = lambda: torch.randn(steps, batch, hidden, generator=g) * 0.2  # noqa: E731
    return {"I": gate(), "F": gate(), "O": gate(), "C_tilde": state(), "C": state(), "H": state()}


def _mesh(ax):
    return ax.images[0]


def test_heatmap_panels_have_fixed_limits_and_token_labels():
    rec = _lstm_record()
    fig = plots.gate_heatmaps(rec, TOKENS, title="digit sum", prediction="8")
    axes = [ax for ax in fig.axes if ax.get_title()]           # panels (colour bars have no title)
    assert [ax.get_title() for ax in axes] == ["input gate I", "forget gate F", "output gate O",
                                              "candidate cell C~", "cell state C", "hidden state H"]
    for ax in axes[:3]:
        assert _mesh(ax).get_clim() == (0.0, 1.0)               # not the data range (max 0.5)
        assert _mesh(ax).get_cmap().name == plots.GATE_CMAP
    for ax in axes[3:]:
        assert _mesh(ax).get_clim() == (-1.0, 1.0)
        assert _mesh(ax).get_cmap().name == plots.STATE_CMAP
    for ax in axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == [f"{i + 1}:{t}" for i, t in enumerate(TOKENS)]
        assert _mesh(ax).colorbar is not None
        assert _mesh(ax).get_array().shape == (4, 5)            # rows = hidden units, columns = steps
    assert "prediction 8" in fig._suptitle.get_text()
    assert len(fig.axes) == 12                                  # six panels + six colour bars
    plt.close(fig)


def test_heatmap_shows_the_chosen_batch_item_and_bounds():
    rec = _lstm_record()
    fig = plots.gate_heatmaps(rec, TOKENS, keys=["F", "C"], batch_index=1, cell_bound=3.0)
    f_ax, c_ax = [ax for ax in fig.axes if ax.get_title()]
    assert torch.allclose(torch.as_tensor(_mesh(f_ax).get_array()).float(), rec["F"][:, 1, :].T)
    assert _mesh(c_ax).get_clim() == (-3.0, 3.0)
    plt.close(fig)
    fig = plots.gate_heatmaps({"Z": rec["I"][:, 0, :], "H": rec["H"][:, 0, :]}, TOKENS)   # (steps, hidden)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["update gate Z", "hidden state H"]
    plt.close(fig)


def test_heatmap_marks_clipped_values_and_differences():
    rec = _lstm_record()                                        # states within +-1 (0.2 * randn, 40 values)
    fig = plots.gate_heatmaps(rec, TOKENS, keys=["F", "C"], cell_bound=3.0)
    assert [_mesh(ax).colorbar.extend for ax in fig.axes if ax.get_title()] == ["neither", "neither"]
    plt.close(fig)
    big = {"C": rec["C"] * 100, "H": rec["H"].abs() * 100}      # C beyond both ends, H only above
    fig = plots.gate_heatmaps(big, TOKENS, cell_bound=2.0, difference=True)
    c_ax, h_ax = [ax for ax in fig.axes if ax.get_title()]
    assert (_mesh(c_ax).colorbar.extend, _mesh(h_ax).colorbar.extend) == ("both", "max")
    assert _mesh(c_ax).colorbar.ax.get_ylabel() == "ΔC (-2..2)"
    assert c_ax.get_title() == "difference of cell state C"
    plt.close(fig)


@pytest.mark.parametrize("record,tokens,fragment", [
    ({"I": torch.rand(5)}, TOKENS, r"shape \(5,\)"),
    ({"I": torch.rand(5, 2, 3, 1)}, TOKENS, r"shape \(5, 2, 3, 1\)"),
    ({"I": torch.rand(4, 3)}, TOKENS, "4 steps"),
    ({"I": torch.rand(5, 1, 3)}, TOKENS + ["x"], "6 tokens"),
    ({"gates": torch.rand(5, 3)}, TOKENS, "no known keys"),
])
def test_heatmap_wrong_input_raises(record, tokens, fragment):
    with pytest.raises(ValueError, match=fragment):
        plots.gate_heatmaps(record, tokens)
    plt.close("all")


def test_heatmap_bad_batch_index_and_keys():
    with pytest.raises(ValueError, match="batch_index=3"):
        plots.gate_heatmaps({"I": torch.rand(5, 2, 3)}, TOKENS, batch_index=3)
    with pytest.raises(ValueError, match="cannot plot keys"):
        plots.gate_heatmaps({"I": torch.rand(5, 3)}, TOKENS, keys=["I", "F"])
    plt.close("all")


def test_plot_history_panels_and_no_global_style_change():
    before = dict(matplotlib.rcParams)
    h = History(steps=[1, 2, 3, 4], train_loss=[1.0, 0.8, 0.7, 0.6], eval_steps=[2, 4], dev_loss=[0.9, 0.75],
                dev_metric=[0.5, 0.7], metric_name="accuracy", best_by="dev accuracy (higher is better)",
                best_step=4, best_value=0.7, restored_best=True)
    fig = plots.plot_history(h, title="toy")
    loss_ax, metric_ax = fig.axes
    assert loss_ax.get_xlabel() == "optimizer step" and loss_ax.get_ylabel() == "loss"
    assert metric_ax.get_ylabel() == "dev accuracy" and fig._suptitle.get_text() == "toy"
    labels = [line.get_label() for line in loss_ax.get_lines()]
    assert "dev loss" in labels and any(lbl.startswith("best") for lbl in labels)
    plt.close(fig)
    fig, ax = plt.subplots()
    assert plots.plot_history(h, ax=ax) is fig and len(fig.axes) == 2   # metric on a twin axis
    plt.close(fig)
    assert dict(matplotlib.rcParams) == before


def test_results_table():
    rows = [{"model": "lstm", "length": 10, "acc": 0.9}, {"model": "lstm", "length": 10, "acc": 0.8},
            {"model": "srn", "length": 10, "acc": 0.5}]
    table = plots.results_table(rows, by=["model", "length"])
    assert list(table.columns) == ["model", "length", "acc", "n"]
    assert table["acc"].tolist() == ["0.850 ± 0.071", "0.500"] and table["n"].tolist() == [2, 1]
    plain = plots.results_table(pd.DataFrame(rows).astype({"acc": "float32"}), digits=2)
    assert plain["acc"].tolist() == ["0.90", "0.80", "0.50"] and plain["length"].tolist() == [10, 10, 10]
    with pytest.raises(ValueError, match="by columns"):
        plots.results_table(rows, by="seed")


def test_plot_history_names_the_evaluated_set_and_marks_best_only_when_restored():
    h = History(steps=[1, 2, 3, 4], train_loss=[1.0, 0.8, 0.7, 0.6], eval_steps=[2, 4], dev_loss=[0.9, 0.75],
                dev_metric=[0.5, 0.7], metric_name="accuracy", best_by="dev accuracy (higher is better)",
                best_step=4, best_value=0.7, restored_best=False)
    fig = plots.plot_history(h, eval_label="test", xlabel="step (batch of 128)")
    loss_ax, metric_ax = fig.axes
    labels = [line.get_label() for line in loss_ax.get_lines() + metric_ax.get_lines()]
    assert "test loss" in labels and "test accuracy" in labels
    assert not any("dev" in lbl or lbl.startswith("best") for lbl in labels), labels
    assert metric_ax.get_title() == "test accuracy" and loss_ax.get_xlabel() == "step (batch of 128)"
    plt.close(fig)
    h.restored_best = True
    fig = plots.plot_history(h, eval_label="test")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "best test accuracy at step 4" in labels
    plt.close(fig)
