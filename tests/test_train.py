"""Tests for helpers.train: the loop learns, restores the best weights, clips, is seeded, weighs right."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from helpers.train import History, evaluate, fit, sequence_cross_entropy

CPU = torch.device("cpu")


def _classification(n: int = 96, seed: int = 0) -> TensorDataset:
    """Two Gaussian blobs in 2-D, labels 0/1."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) * 0.5 + (y.float() * 2 - 1).unsqueeze(1)
    return TensorDataset(x, y)


def _fit_quiet(model, loader, **kwargs) -> History:
    kwargs.setdefault("device", CPU)
    kwargs.setdefault("progress", False)
    return fit(model, loader, **kwargs)


def test_loss_decreases_and_accuracy_rises():
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    data = _classification()
    loader = DataLoader(data, batch_size=16, shuffle=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    before, acc_before = evaluate(model, DataLoader(data, batch_size=32), loss_fn=nn.functional.cross_entropy,
                                  metric="accuracy")
    h = _fit_quiet(model, loader, loss_fn=nn.functional.cross_entropy, optimizer=opt, epochs=5,
                   dev_loader=DataLoader(data, batch_size=32), metric="accuracy", seed=0)
    assert len(h.train_loss) == len(h.steps) == 30 and h.steps[-1] == 30
    assert sum(h.train_loss[-6:]) / 6 < 0.5 * sum(h.train_loss[:6]) / 6
    assert h.dev_loss[-1] < before and h.dev_metric[-1] > 0.95 >= acc_before - 0.5
    assert h.eval_steps == [6, 12, 18, 24, 30]           # once per epoch by default
    assert h.best_by == "dev accuracy (higher is better)"
    assert h.samples == 5 * 96 and h.samples_per_s > 0 and h.wall_time_s >= h.train_time_s > 0
    frame = h.to_frame()
    assert list(frame.columns) == ["step", "train_loss", "dev_loss", "dev_accuracy"]
    assert len(frame) == 30 and frame["dev_loss"].notna().sum() == 5
    windows = h.train_loss_windows()
    assert len(windows) == 5 and windows[0] == pytest.approx(sum(h.train_loss[:6]) / 6)
    assert "30 steps, 5 evals" in repr(h)


def test_best_on_dev_weights_are_restored():
    # training pulls w from 0 to 2 (y = 2x) but dev wants w = 1: the best dev weights come mid-run
    x = torch.linspace(-1, 1, 32).unsqueeze(1)
    train = DataLoader(TensorDataset(x, 2 * x), batch_size=32)
    dev = DataLoader(TensorDataset(x, 1 * x), batch_size=32)
    weights = []

    def run(keep_best: bool) -> tuple[nn.Linear, History]:
        model = nn.Linear(1, 1, bias=False)
        nn.init.zeros_(model.weight)
        opt = torch.optim.SGD(model.parameters(), lr=0.3)
        weights.clear()
        opt.register_step_post_hook(lambda *_: weights.append(model.weight.item()))
        return model, _fit_quiet(model, train, loss_fn=nn.functional.mse_loss, optimizer=opt, epochs=40,
                                 dev_loader=dev, eval_every=1, keep_best=keep_best)

    model, h = run(keep_best=True)
    assert h.best_by == "dev loss (lower is better)" and h.restored_best
    assert 1 < h.best_step < 40 and abs(weights[h.best_step - 1] - 1.0) < 0.2 and weights[-1] > 1.9
    assert model.weight.item() == weights[h.best_step - 1]                      # exactly the best copy
    restored_loss, _ = evaluate(model, dev, loss_fn=nn.functional.mse_loss)
    assert restored_loss == pytest.approx(h.best_value) and restored_loss < h.dev_loss[-1]
    assert h.best_value == min(h.dev_loss)
    model_last, h_last = run(keep_best=False)
    assert not h_last.restored_best and model_last.weight.item() == weights[-1]


def test_clipping_bounds_the_gradient_norm():
    torch.manual_seed(0)
    x = torch.randn(64, 4) * 10
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True) * 5), batch_size=16)
    seen = []

    def run(clip_norm):
        model = nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=1e-5)
        seen.clear()

        def record(optimizer, args, kwargs):   # the norm the optimizer actually uses
            grads = [p.grad for p in model.parameters()]
            seen.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())

        opt.register_step_pre_hook(record)
        return _fit_quiet(model, loader, loss_fn=nn.functional.mse_loss, optimizer=opt, epochs=2,
                          clip_norm=clip_norm)

    h = run(None)
    assert max(seen) > 10 and h.grad_norm == []
    h = run(1.0)
    assert len(seen) == 8 and max(seen) <= 1.0 + 1e-4
    assert len(h.grad_norm) == 8 and min(h.grad_norm) > 1.0                   # pre-clipping norms


def test_runs_are_reproducible_under_a_seed():
    data = _classification(64)

    def run(seed, disturb):
        torch.manual_seed(1)
        model = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.3), nn.Tanh(), nn.Linear(8, 2))
        torch.rand(disturb)        # the global RNG differs between runs; only fit's seed resets it
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        return _fit_quiet(model, DataLoader(data, batch_size=8, shuffle=True), seed=seed,
                          loss_fn=nn.functional.cross_entropy, optimizer=opt, epochs=2,
                          dev_loader=DataLoader(data, batch_size=16), eval_every=5, metric="accuracy")

    a, b, c = run(3, disturb=1), run(3, disturb=7), run(4, disturb=1)
    assert a.train_loss == b.train_loss and a.dev_loss == b.dev_loss and a.dev_metric == b.dev_metric
    assert a.eval_steps == b.eval_steps == [5, 10, 15, 16] and a.best_step == b.best_step
    assert a.train_loss != c.train_loss     # the seed drives shuffling and dropout


class _TinyLM(nn.Module):
    """Embedding + linear: logits (batch, steps, vocab)."""

    def __init__(self, vocab: int = 7) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 5)
        self.out = nn.Linear(5, vocab)

    def forward(self, x):
        return self.out(self.embed(x)), None    # (batch, steps, vocab) and a dummy state


def test_lm_perplexity_is_exp_of_token_weighted_loss():
    torch.manual_seed(0)
    model = _TinyLM()
    x = torch.randint(0, 7, (10, 6))
    y = torch.randint(0, 7, (10, 6))
    loader = DataLoader(TensorDataset(x, y), batch_size=4)      # batches of 4, 4, 2 sequences
    loss, ppl = evaluate(model, loader, loss_fn=sequence_cross_entropy, metric="perplexity")
    with torch.no_grad():
        logits = model(x)[0]
        token_loss = nn.functional.cross_entropy(logits.reshape(-1, 7), y.reshape(-1), reduction="none")
    assert loss == pytest.approx(token_loss.mean().item(), rel=1e-6)
    assert ppl == pytest.approx(math.exp(token_loss.mean().item()), rel=1e-6)
    per_batch = [math.exp(token_loss.view(10, 6)[s].mean().item()) for s in (slice(0, 4), slice(4, 8),
                                                                             slice(8, 10))]
    assert abs(ppl - sum(per_batch) / 3) > 1e-4     # not a mean of per-batch perplexities
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    h = _fit_quiet(model, loader, loss_fn=sequence_cross_entropy, optimizer=opt, epochs=3,
                   dev_loader=loader, metric="perplexity")
    assert h.best_by == "dev perplexity (lower is better)" and h.targets == 3 * 60
    assert h.dev_metric == pytest.approx([math.exp(v) for v in h.dev_loss])
    assert h.dev_loss[-1] < loss


def test_accuracy_is_weighted_by_batch_size():
    model = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[-1.0], [1.0]]))   # predicts 1 for x > 0
    x = torch.tensor([[1.0]] * 4 + [[-1.0]])                # last (size-1) batch is wrong
    y = torch.ones(5, dtype=torch.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    _, acc = evaluate(model, loader, loss_fn=nn.functional.cross_entropy, metric="accuracy")
    assert acc == pytest.approx(4 / 5)                       # a mean of batch accuracies would give 0.5
    _, custom = evaluate(model, loader, loss_fn=nn.functional.cross_entropy,
                         metric=lambda out, t: (out.argmax(-1) == t).float().mean())
    assert custom == pytest.approx(4 / 5)
    assert model.training                                   # evaluate restores the mode


def test_progress_bar_is_silent_in_ci(monkeypatch, capsys):
    data = _classification(16)
    loader = DataLoader(data, batch_size=8)

    def run(progress):
        model = nn.Linear(2, 2)
        fit(model, loader, loss_fn=nn.functional.cross_entropy, device=CPU, epochs=1, progress=progress,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
        return capsys.readouterr()

    monkeypatch.setenv("RNN_PROFILE", "ci")
    monkeypatch.delenv("RNN_PROGRESS", raising=False)
    quiet = run(None)
    assert quiet.out == "" and quiet.err == ""
    monkeypatch.setenv("RNN_PROFILE", "full")
    assert "training" in run(None).err
    assert run(False).err == ""
    monkeypatch.setenv("RNN_PROGRESS", "0")                 # headless `tasks.py execute`
    assert run(None).err == ""
    assert "training" in run(True).err


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(epochs=0), "epochs must be an int >= 1"),
    (dict(epochs=1.5), "epochs must be an int"),
    (dict(metric="f1"), "unknown metric 'f1'"),
    (dict(eval_every=5), "eval_every needs a dev_loader"),
    (dict(clip_norm=0.0), "clip_norm must be > 0"),
])
def test_fit_errors(kwargs, fragment):
    model = nn.Linear(2, 2)
    args = dict(loss_fn=nn.functional.cross_entropy, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                epochs=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=fragment):
        _fit_quiet(model, DataLoader(_classification(8), batch_size=4), **args)


class _Threshold(nn.Module):
    """One weight w; input x (batch,) -> logits (batch, 2) that say class 1 exactly when w > x."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.stack([torch.zeros_like(x), self.w - x], dim=-1)


class _Bias(nn.Module):
    """One weight w; tokens (batch, steps) -> logits (batch, steps, 2) = (w, 0) everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.stack([self.w.expand(x.shape), torch.zeros(x.shape)], dim=-1), None


def _track(model, opt):
    weights = []
    opt.register_step_post_hook(lambda *_: weights.append(model.w.item()))
    return weights


def test_best_checkpoint_is_the_max_accuracy():
    # training pushes w up from 0 steadily; dev accuracy is 1.0 only for w in (0.45, 0.55) and
    # about 0.5 at both ends, so keeping the MIN accuracy (the worst checkpoint) is caught
    train = DataLoader(TensorDataset(torch.full((8,), 5.0), torch.ones(8, dtype=torch.int64)), batch_size=8)
    x_dev = torch.linspace(0.05, 0.95, 10)
    dev = DataLoader(TensorDataset(x_dev, (x_dev < 0.5).long()), batch_size=10)
    model = _Threshold()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    weights = _track(model, opt)
    h = _fit_quiet(model, train, loss_fn=nn.functional.cross_entropy, optimizer=opt, epochs=30,
                   dev_loader=dev, metric="accuracy")
    assert h.best_by == "dev accuracy (higher is better)" and h.restored_best
    best = max(range(len(h.dev_metric)), key=h.dev_metric.__getitem__)
    assert h.dev_metric[best] == 1.0 and max(h.dev_metric[0], h.dev_metric[-1]) <= 0.6, h.dev_metric
    assert h.best_step == h.eval_steps[best] and h.best_value == 1.0
    assert model.w.item() == weights[h.best_step - 1]            # the best weights came back
    assert evaluate(model, dev, loss_fn=nn.functional.cross_entropy, metric="accuracy")[1] == 1.0


def test_best_checkpoint_is_the_min_perplexity():
    # training (all targets 0) pushes w up for ever; dev (70 % zeros) has its lowest perplexity
    # at w = log(7/3) = 0.85, mid-run, and higher values at both ends
    tokens = torch.zeros(4, 10, dtype=torch.int64)
    train = DataLoader(TensorDataset(tokens, tokens), batch_size=4)
    dev_y = torch.tensor([[0] * 7 + [1] * 3] * 4)
    dev = DataLoader(TensorDataset(tokens, dev_y), batch_size=4)
    model = _Bias()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    weights = _track(model, opt)
    h = _fit_quiet(model, train, loss_fn=sequence_cross_entropy, optimizer=opt, epochs=30,
                   dev_loader=dev, metric="perplexity")
    assert h.best_by == "dev perplexity (lower is better)" and h.restored_best
    best = min(range(len(h.dev_metric)), key=h.dev_metric.__getitem__)
    assert h.dev_metric[best] < min(h.dev_metric[0], h.dev_metric[-1]) - 0.05, h.dev_metric
    assert h.best_step == h.eval_steps[best] and h.best_value == h.dev_metric[best]
    assert abs(model.w.item() - math.log(7 / 3)) < 0.3 and model.w.item() == weights[h.best_step - 1]


def test_evaluate_switches_dropout_off_and_restores_the_mode():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.5), nn.Linear(16, 2))
    x, y = torch.randn(64, 3), torch.arange(64) % 2
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    model.eval()
    with torch.no_grad():
        expected = nn.functional.cross_entropy(model(x), y).item()
        expected_acc = (model(x).argmax(-1) == y).float().mean().item()
    model.train()
    results = {evaluate(model, loader, loss_fn=nn.functional.cross_entropy, metric="accuracy")
               for _ in range(3)}
    assert len(results) == 1, f"evaluate is not deterministic: dropout stayed on ({results})"
    loss, acc = results.pop()
    assert loss == pytest.approx(expected, rel=1e-6) and acc == pytest.approx(expected_acc)
    assert model.training                                  # put back in training mode afterwards


def test_evaluate_skips_padding_targets():
    torch.manual_seed(0)
    model = _TinyLM()
    x = torch.randint(0, 7, (2, 5))
    y = torch.randint(0, 7, (2, 5))
    padded = y.clone()
    padded[1, 3:] = -100
    loss, acc = evaluate(model, [(x, padded)], loss_fn=sequence_cross_entropy, metric="accuracy")
    keep = padded != -100
    with torch.no_grad():
        logits = model(x)[0]
    assert loss == pytest.approx(nn.functional.cross_entropy(logits[keep], y[keep]).item(), rel=1e-6)
    assert acc == pytest.approx((logits.argmax(-1)[keep] == y[keep]).float().mean().item())
