"""The batched digit-sum trainer must train every model exactly as if it were trained alone."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers.data import digit_sum_splits
from helpers.digitsum import (
    CELLS,
    PARAM_NAMES,
    BatchedDigitSum,
    DigitSumModel,
    TrainConfig,
    check_cell,
    epoch_orders,
    make_model,
    run_sweep,
    train_batched,
)

LENGTHS, SEEDS = [9, 6, 6], [0, 1, 2]   # M = 3 models: different lengths and seeds
CONFIG = TrainConfig(epochs=3, eval_every=10)   # 13 batches per epoch -> 39 steps, 4 dev checks


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread is faster, and on a busy machine far faster (no waiting threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train_alone(cell: str, seed: int, split: dict, config: TrainConfig) -> dict:
    """One DigitSumModel with torch's own layer and Adam, the same batch order and best-dev rule."""
    torch.manual_seed(1234)   # the reference must not depend on the global RNG either
    model = make_model(cell, seed).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    (x, y), (x_dev, y_dev) = split["train"], split["dev"]
    orders = epoch_orders(len(y), config.epochs, seed)
    total = -(-len(y) // config.batch_size) * config.epochs
    losses, best, step = [], {"accuracy": -1.0}, 0
    for epoch in range(config.epochs):
        for begin in range(0, len(y), config.batch_size):
            idx = orders[epoch, begin:begin + config.batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if step % config.eval_every == 0 or step == total:
                with torch.no_grad():
                    accuracy = (model(x_dev).argmax(-1) == y_dev).double().mean().item()
                if accuracy > best["accuracy"]:
                    best = {"accuracy": accuracy, "step": step,
                            "state": {k: v.clone() for k, v in model.state_dict().items()}}
    return {"losses": torch.tensor(losses, dtype=torch.float64), "final": model.state_dict(), **best}


@pytest.mark.parametrize("cell", CELLS)
def test_batched_training_equals_separate_training(cell):
    splits = [digit_sum_splits(n, (1, 1, 1), s) for n, s in zip(LENGTHS, SEEDS, strict=True)]
    models = [make_model(cell, s) for s in SEEDS]
    result = train_batched(models, LENGTHS, SEEDS, splits, CONFIG, dtype=torch.float64)
    assert result.train_loss.shape == (39, 3)
    assert list(result.eval_steps) == [10, 20, 30, 39]
    for m, (length, seed) in enumerate(zip(LENGTHS, SEEDS, strict=True)):
        alone = train_alone(cell, seed, splits[m], CONFIG)
        torch.testing.assert_close(torch.from_numpy(result.train_loss[:, m]), alone["losses"],
                                   atol=1e-10, rtol=0)
        final = DigitSumModel(cell).double()
        keys = list(final.state_dict())
        final.load_state_dict(dict(zip(keys, _model_state(result.final_state, m), strict=True)))
        for key, value in alone["final"].items():
            torch.testing.assert_close(final.state_dict()[key], value, atol=1e-10, rtol=0, msg=key)
        assert result.best_step[m] == alone["step"]
        assert result.best_dev_accuracy[m] == pytest.approx(alone["accuracy"])
        kept = result.model(length, seed)
        for key, value in alone["state"].items():
            torch.testing.assert_close(kept.state_dict()[key], value, atol=1e-10, rtol=0, msg=key)
        x_test, y_test = splits[m]["test"]
        with torch.no_grad():
            reference = alone_model_accuracy(cell, alone["state"], x_test, y_test)
        assert result.test_accuracy[m] == pytest.approx(reference)


def _model_state(flat: dict, m: int) -> list:
    """Model m's tensors from a BatchedDigitSum state, in DigitSumModel.state_dict() order."""
    return [flat[name][m] for name in PARAM_NAMES]


def alone_model_accuracy(cell: str, state: dict, x: torch.Tensor, y: torch.Tensor) -> float:
    model = DigitSumModel(cell).double()
    model.load_state_dict(state)
    return (model(x).argmax(-1) == y).double().mean().item()


def test_best_weights_ties_keep_the_earliest():
    # With a vanishing learning rate every dev check scores the same: the first one must be kept.
    config = TrainConfig(epochs=2, eval_every=5, lr=1e-12)
    result = run_sweep("lstm", [5, 4], [3], copies=(1, 1, 1), config=config, dtype=torch.float64)
    assert (result.dev_accuracy == result.dev_accuracy[0]).all()
    assert list(result.best_step) == [5, 5]


@pytest.mark.parametrize("cell", CELLS)
def test_round_trip_and_padded_forward_match_torch(cell):
    lengths, seeds = [7, 7, 4], [5, 6, 7]
    models = [make_model(cell, s).double() for s in seeds]
    batched = BatchedDigitSum(models, lengths).double()
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randint(0, 10, (5, n), generator=gen) for n in lengths]
    padded = torch.stack([F.pad(x, (0, 9 - x.shape[1]), value=3) for x in xs])   # (M, 5, 9), junk padding
    logits = batched(padded)
    for m, model in enumerate(models):
        back = batched.to_model(m)
        for (key, ours), theirs in zip(back.state_dict().items(), model.state_dict().values(), strict=True):
            assert torch.equal(ours, theirs), key
        torch.testing.assert_close(logits[m], model(xs[m]), atol=1e-12, rtol=0)


def test_two_forwards_before_one_backward_give_torch_gradients():
    # The reusable workspace must not be overwritten by a second forward before backward.
    lengths, seeds = [6, 5], [0, 1]
    models = [make_model("gru", s).double() for s in seeds]
    batched = BatchedDigitSum(models, lengths).double()
    gen = torch.Generator().manual_seed(1)
    x1, x2 = torch.randint(0, 10, (2, 4, 6), generator=gen), torch.randint(0, 10, (2, 4, 6), generator=gen)
    (batched(x1).square().sum() + batched(x2).sum()).backward()
    for m, model in enumerate(models):
        (model(x1[m, :, :lengths[m]]).square().sum() + model(x2[m, :, :lengths[m]]).sum()).backward()
        torch.testing.assert_close(batched.weight_hh.grad[m], model.rnn.weight_hh_l0.grad, atol=1e-12, rtol=0)
        torch.testing.assert_close(batched.embedding.grad[m], model.embedding.weight.grad, atol=1e-12, rtol=0)


def test_bad_inputs_raise_with_the_fix():
    with pytest.raises(ValueError, match="'srn', 'lstm', 'gru'"):
        check_cell("transformer")
    with pytest.raises(ValueError, match="'srn', 'lstm', 'gru'"):
        DigitSumModel("elman")
    assert check_cell("RNN") == "srn"
    with pytest.raises(ValueError, match="non-increasing"):
        BatchedDigitSum([make_model("srn", 0), make_model("srn", 1)], [4, 6])
    with pytest.raises(ValueError, match="positive int"):
        TrainConfig(epochs=0)
