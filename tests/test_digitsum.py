"""The batched digit-sum trainer must train every model exactly as if it were trained alone."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers.data import digit_sum_splits
from helpers.digitsum import (
    CELLS,
    GATE_BLOCKS,
    INITS,
    PARAM_NAMES,
    BatchedDigitSum,
    DigitSumModel,
    TrainConfig,
    book_digit_sum_splits,
    check_cell,
    epoch_orders,
    make_model,
    run_sweep,
    scaled_orthogonal_,
    spectral_radius,
    train_batched,
    train_one,
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


def train_alone(cell: str, seed: int, split: dict, config: TrainConfig, init: str = "torch") -> dict:
    """One DigitSumModel with torch's own layer and Adam, the same batch order and best-dev rule."""
    torch.manual_seed(1234)   # the reference must not depend on the global RNG either
    model = make_model(cell, seed, init=init).double()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    (x, y), (x_dev, y_dev) = split["train"], split["dev"]
    orders = epoch_orders(len(y), config.epochs, seed, config.shuffle)
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


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("cell", CELLS)
def test_batched_training_equals_separate_training(cell, init):
    config = CONFIG if init == "torch" else TrainConfig(epochs=3, eval_every=10, shuffle=False)
    splits = [digit_sum_splits(n, (1, 1, 1), s) for n, s in zip(LENGTHS, SEEDS, strict=True)]
    models = [make_model(cell, s, init=init) for s in SEEDS]
    result = train_batched(models, LENGTHS, SEEDS, splits, config, dtype=torch.float64)
    assert result.train_loss.shape == (39, 3)
    assert list(result.eval_steps) == [10, 20, 30, 39]
    assert result.init == init
    if init == "nndl":   # the frozen second bias stays exactly zero
        assert not result.final_state["bias_hh"].any()
    for m, (length, seed) in enumerate(zip(LENGTHS, SEEDS, strict=True)):
        alone = train_alone(cell, seed, splits[m], config, init)
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
    result = run_sweep("LSTM", [5, 4], [3], copies=(1, 1, 1), config=config, dtype=torch.float64)
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
    models = [make_model("GRU", s).double() for s in seeds]
    batched = BatchedDigitSum(models, lengths).double()
    gen = torch.Generator().manual_seed(1)
    x1, x2 = torch.randint(0, 10, (2, 4, 6), generator=gen), torch.randint(0, 10, (2, 4, 6), generator=gen)
    (batched(x1).square().sum() + batched(x2).sum()).backward()
    for m, model in enumerate(models):
        (model(x1[m, :, :lengths[m]]).square().sum() + model(x2[m, :, :lengths[m]]).sum()).backward()
        torch.testing.assert_close(batched.weight_hh.grad[m], model.rnn.weight_hh_l0.grad, atol=1e-12, rtol=0)
        torch.testing.assert_close(batched.embedding.grad[m], model.embedding.weight.grad, atol=1e-12, rtol=0)


def test_bad_inputs_raise_with_the_fix():
    with pytest.raises(ValueError, match="'RNN', 'LSTM', 'GRU'"):
        check_cell("transformer")
    with pytest.raises(ValueError, match="'RNN', 'LSTM', 'GRU'"):
        DigitSumModel("elman")
    with pytest.raises(ValueError, match="non-increasing"):
        BatchedDigitSum([make_model("RNN", 0), make_model("RNN", 1)], [4, 6])
    with pytest.raises(ValueError, match="positive int"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="True or False"):
        TrainConfig(shuffle="no")
    with pytest.raises(ValueError, match="'torch', 'nndl'"):
        make_model("LSTM", 0, init="xavier")
    with pytest.raises(ValueError, match="frozen in others"):
        BatchedDigitSum([make_model("RNN", 0), make_model("RNN", 1, init="nndl")], [4, 4])
    with pytest.raises(ValueError, match="'bptt', 'autograd'"):
        BatchedDigitSum([make_model("RNN", 0)], [4], engine="jit")
    with pytest.raises(ValueError, match="lengths .5, 10"):
        book_digit_sum_splits(12)
    with pytest.raises(ValueError, match="copies"):
        run_sweep("RNN", [10], [0], copies=(1, 1, 1), data="book")
    with pytest.raises(ValueError, match="positive number"):
        scaled_orthogonal_(make_model("RNN", 0), 0.0, 0)


def test_one_name_per_cell_type():
    # The collection's rule: "RNN", "LSTM", "GRU", any case; "srn" (NNDL's name) is an alias of "RNN".
    assert CELLS == ("RNN", "LSTM", "GRU")
    names = [check_cell(c) for c in ("srn", "SRN", "rnn", "Rnn", " lstm ", "gru")]
    assert names == ["RNN", "RNN", "RNN", "RNN", "LSTM", "GRU"]
    assert make_model("srn", 0).cell == "RNN"


@pytest.mark.parametrize("cell", CELLS)
def test_nndl_init_is_xavier_per_block_with_one_bias(cell):
    H, E, G = 32, 32, GATE_BLOCKS[cell]
    model = make_model(cell, 3, init="nndl")
    rnn = model.rnn

    def spans(t: torch.Tensor, bound: float) -> None:   # inside U(-bound, bound) and filling most of it
        assert t.abs().max() <= bound + 1e-7, (tuple(t.shape), t.abs().max().item(), bound)
        assert t.abs().max() >= 0.8 * bound and t.min() < 0 < t.max(), \
            (tuple(t.shape), t.abs().max().item(), bound)

    spans(model.embedding.weight, (6 / (10 + E)) ** 0.5)                 # Paddle shape [10, E]: 0.378
    for k in range(G):
        block = slice(k * H, (k + 1) * H)
        spans(rnn.weight_ih_l0[block], (6 / (E + H)) ** 0.5)             # [E, H] per gate: 0.306
        spans(rnn.weight_hh_l0[block], (6 / (H + H)) ** 0.5)
        spans(rnn.bias_ih_l0[block], (6 / (1 + H)) ** 0.5)               # the ONE bias [1, H]: 0.426
    assert not rnn.bias_hh_l0.any() and not rnn.bias_hh_l0.requires_grad  # the second bias: zero, frozen
    spans(model.classifier.weight, (6 / (H + 19)) ** 0.5)                # Paddle Linear weight [H, 19]
    assert not model.classifier.bias.any()                               # Paddle Linear bias: zero
    # torch's default for comparison: two trainable biases, everything U(+-1/sqrt(H)), embedding N(0, 1)
    default = make_model(cell, 3)
    assert default.rnn.bias_hh_l0.requires_grad and default.rnn.bias_hh_l0.abs().max() <= H ** -0.5
    assert default.rnn.weight_hh_l0.abs().max() <= H ** -0.5
    assert default.embedding.weight.std() > 0.8
    # the init depends only on the seed
    assert torch.equal(make_model(cell, 3, init="nndl").rnn.weight_hh_l0, rnn.weight_hh_l0)


def test_spectral_radius_of_the_two_inits_and_of_rho_q():
    # The gradient story of the chapter: torch's W_hh is a contraction, the book's is not.
    torch_radius = [spectral_radius(make_model("RNN", s)) for s in range(5)]
    nndl_radius = [spectral_radius(make_model("RNN", s, init="nndl")) for s in range(5)]
    assert max(torch_radius) < 0.8 < 0.95 < min(nndl_radius), (torch_radius, nndl_radius)
    for rho in (0.5, 1.0, 1.3):
        model = scaled_orthogonal_(make_model("RNN", 0, init="nndl"), rho, seed=1)
        assert spectral_radius(model) == pytest.approx(rho, abs=1e-6)
        singular = torch.linalg.svdvals(model.rnn.weight_hh_l0.double())
        torch.testing.assert_close(singular, torch.full((32,), rho, dtype=torch.float64), atol=1e-6, rtol=0)
    lstm = scaled_orthogonal_(make_model("LSTM", 0), 0.9, seed=1)
    for k in range(4):
        block = lstm.rnn.weight_hh_l0[k * 32:(k + 1) * 32].double()
        torch.testing.assert_close(block @ block.T, 0.81 * torch.eye(32, dtype=torch.float64),
                                   atol=1e-6, rtol=0)


def test_book_order_is_file_order_every_epoch():
    orders = epoch_orders(7, 3, seed=5, shuffle=False)
    assert orders.tolist() == [list(range(7))] * 3
    shuffled = epoch_orders(7, 3, seed=5)
    assert sorted(shuffled[0].tolist()) == list(range(7)) and shuffled[0].tolist() != shuffled[1].tolist()


def test_book_data_equals_the_books_files():
    # Rows of datasets/10/train.txt as released with the book (nndl/nndl-practice, chap6):
    # the generator reproduces them only with the book's calls, order and seed.
    train_x, train_y = book_digit_sum_splits(10)["train"]
    assert train_x.shape == (300, 10) and train_y.shape == (300,)
    assert train_x[0].tolist() == [0, 0, 0, 0, 5, 0, 0, 0, 0, 0]
    assert train_x[1].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert train_x[2].tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 0, 3]
    assert train_x[3].tolist() == [0, 1, 0, 0, 8, 0, 0, 0, 0, 0]
    assert train_x[12].tolist() == [0, 4, 8, 0, 0, 0, 0, 0, 0, 0]
    assert train_x[296].tolist() == [9, 8, 9, 0, 0, 0, 0, 0, 0, 0]
    assert train_x[299].tolist() == [9, 9, 0, 0, 0, 0, 0, 0, 0, 0]
    assert torch.equal(train_y, train_x[:, 0] + train_x[:, 1])
    for length in (5, 35):
        splits = book_digit_sum_splits(length)
        assert [tuple(splits[k][0].shape) for k in ("train", "dev", "test")] == [(300, length), (100, length),
                                                                                 (100, length)]
        noisy = (splits["train"][0][:, 2:] != 0).sum(1)
        assert noisy.max() == 1                                          # at most one noise digit
    # a fresh copy every call: editing one does not change the next
    train_x[0, 0] = 7
    assert book_digit_sum_splits(10)["train"][0][0, 0] == 0


@pytest.mark.parametrize("cell", CELLS)
def test_hand_written_backward_equals_autograd(cell):
    lengths = [8, 8, 5]
    models = [make_model(cell, s, init="nndl").double() for s in (0, 1, 2)]
    fast = BatchedDigitSum(models, lengths).double()
    slow = BatchedDigitSum(models, lengths, engine="autograd").double()
    x = torch.randint(0, 10, (3, 4, 8), generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 19, (3, 4), generator=torch.Generator().manual_seed(3))
    for net in (fast, slow):
        F.cross_entropy(net(x).flatten(0, 1), y.flatten()).backward()
    torch.testing.assert_close(fast(x), slow(x), atol=1e-12, rtol=0)
    for (name, a), b in zip(fast.named_parameters(), slow.parameters(), strict=True):
        if a.requires_grad:
            torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=0, msg=name)
        else:
            assert a.grad is None and b.grad is None, name


def test_one_model_loop_with_the_book_protocol_matches_batched():
    config = TrainConfig(epochs=1, shuffle=False)
    split = book_digit_sum_splits(5)
    alone = train_one("srn", 4, split, config, init="nndl", dtype=torch.float64)
    together = train_batched([make_model("RNN", 4, init="nndl")], [5], [4], [split], config,
                             dtype=torch.float64, engine="autograd")
    for (key, value), name in zip(alone.state_dict().items(), PARAM_NAMES, strict=True):
        torch.testing.assert_close(together.final_state[name][0], value, atol=1e-10, rtol=0, msg=key)
