"""Scratch cells and ScratchSequence must equal torch.nn to rounding: outputs, gradients, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.cells import (
    GRUCellScratch,
    LSTMCellScratch,
    RNNCellScratch,
    ScratchSequence,
    gru_candidate_textbook,
    split_blocks,
)
from helpers.checks import compare, max_abs_diff

# kind -> (torch cell, scratch cell, torch layer, constructor options)
KINDS = {
    "rnn_tanh": (nn.RNNCell, RNNCellScratch, nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNNCell, RNNCellScratch, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTMCell, LSTMCellScratch, nn.LSTM, {}),
    "gru": (nn.GRUCell, GRUCellScratch, nn.GRU, {}),
}
# (atol, rtol) per dtype. float32 gradients summed over 120 steps carry rounding of a few ulps of
# values of size ~10, so float32 also gets a relative term; float64 is checked absolutely.
TOLERANCE = {torch.float64: (1e-10, 0.0), torch.float32: (1e-5, 1e-5)}


# ----------------------------------------------------------------------------------------------
# helpers for the tests
# ----------------------------------------------------------------------------------------------
def cell_pair(kind: str, input_size: int, hidden_size: int, bias: bool, dtype: torch.dtype, seed: int = 0):
    """A torch cell with random weights and a scratch cell loaded from it."""
    torch_cls, scratch_cls, _, options = KINDS[kind]
    torch.manual_seed(seed)
    reference = torch_cls(input_size, hidden_size, bias=bias, **options).to(dtype)
    ours = scratch_cls(input_size, hidden_size, bias=bias, **options).to(dtype)
    ours.load_state_dict(reference.state_dict())
    return reference, ours


def leaves(value) -> list[torch.Tensor]:
    """A tensor or a (nested) tuple of tensors as a flat list."""
    if isinstance(value, torch.Tensor):
        return [value]
    return [leaf for item in value for leaf in leaves(item)]


def weighted_sum(value, seed: int) -> torch.Tensor:
    """A scalar loss sum(w * out) with fixed random w, so every output element gets its own gradient."""
    generator = torch.Generator().manual_seed(seed)
    total = 0
    for leaf in leaves(value):
        w = torch.randn(leaf.shape, generator=generator, dtype=torch.float64).to(leaf.dtype)
        total = total + (w * leaf).sum()
    return total


def gradients(loss: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Gradients of loss w.r.t. inputs (zeros where an input is unused)."""
    return list(torch.autograd.grad(loss, inputs, allow_unused=True, materialize_grads=True))


def assert_same(name: str, ours, theirs, atol: float | tuple[float, float]) -> None:
    """Assert via checks.compare (atol, or (atol, rtol)), showing the largest difference on failure."""
    atol, rtol = atol if isinstance(atol, tuple) else (atol, 0.0)
    ok = compare(name, ours, theirs, atol=atol, rtol=rtol)
    assert ok, f"{name}: max |diff| = {max_abs_diff(ours, theirs):.3e}"


def random_state(kind: str, shape: tuple[int, ...], dtype: torch.dtype, generator: torch.Generator,
                 scale: float = 1.0):
    """A random initial state requiring grad: H, or (H, C) for an LSTM."""
    def one():
        return (torch.randn(shape, generator=generator, dtype=dtype) * scale).requires_grad_()
    return (one(), one()) if kind == "lstm" else one()


# ----------------------------------------------------------------------------------------------
# cells against torch.nn.*Cell: outputs and gradients
# ----------------------------------------------------------------------------------------------
CELL_SIZES = [  # (input, hidden, batch); batch None = unbatched input
    (1, 1, 1),
    (3, 5, 4),
    (7, 2, 1),
    (4, 3, None),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("sizes", CELL_SIZES, ids=lambda s: "in{}-hid{}-batch{}".format(*s))
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("with_state", [True, False], ids=["state", "nostate"])
def test_cell_matches_torch(kind, sizes, bias, dtype, with_state):
    input_size, hidden_size, batch = sizes
    reference, ours = cell_pair(kind, input_size, hidden_size, bias, dtype, seed=10 + CELL_SIZES.index(sizes))
    generator = torch.Generator().manual_seed(1)
    lead = () if batch is None else (batch,)
    for attempt in range(20):  # redraw, wider each time, until a ReLU unit is active (it can be dead)
        scale = 1.0 + attempt
        x = (torch.randn((*lead, input_size), generator=generator, dtype=dtype) * scale).requires_grad_()
        state = random_state(kind, (*lead, hidden_size), dtype, generator, scale) if with_state else None
        out_ref = reference(x, state)
        if all(leaf.ne(0).any() for leaf in leaves(out_ref)):
            break
    else:
        raise AssertionError("no input found that activates a unit")
    atol = TOLERANCE[dtype]

    out_ours = ours(x, state)
    assert_same(f"{kind} out", out_ours, out_ref, atol)

    inputs = [x] + (leaves(state) if with_state else [])
    grads_ref = gradients(weighted_sum(out_ref, 2), inputs + list(reference.parameters()))
    grads_ours = gradients(weighted_sum(out_ours, 2), inputs + list(ours.parameters()))
    names = ["x", "h0", "c0"][: len(inputs)] + [name for name, _ in ours.named_parameters()]
    assert [n for n, _ in reference.named_parameters()] == names[len(inputs):]
    assert len(grads_ref) == len(names) == len(grads_ours)
    for name, g_ours, g_ref in zip(names, grads_ours, grads_ref, strict=True):
        if with_state or name != "weight_hh":  # from a zero state, W_hh gets no gradient in one step
            assert g_ref.abs().sum() > 0, f"{name}: the torch gradient is zero, so the test would be vacuous"
        assert_same(f"grad {name}", g_ours, g_ref, atol)


# ----------------------------------------------------------------------------------------------
# ScratchSequence against torch.nn.RNN/LSTM/GRU(batch_first=True)
# ----------------------------------------------------------------------------------------------
SEQUENCE_SIZES = [  # (input, hidden, batch, steps)
    (1, 1, 1, 3),
    (4, 6, 3, 120),
    (2, 3, 1, 5),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("sizes", SEQUENCE_SIZES, ids=lambda s: "in{}-hid{}-batch{}-steps{}".format(*s))
@pytest.mark.parametrize("kind", list(KINDS))
def test_sequence_matches_torch(kind, sizes, bias, dtype):
    input_size, hidden_size, batch, steps = sizes
    _, _, layer_cls, options = KINDS[kind]
    generator = torch.Generator().manual_seed(3)
    for attempt in range(20):  # redraw until every step has an active unit (1-unit ReLU layers can die)
        torch.manual_seed(7 * steps + input_size + 100 * attempt)
        reference = layer_cls(input_size, hidden_size, bias=bias, batch_first=True, **options).to(dtype)
        x = torch.randn((batch, steps, input_size), generator=generator, dtype=dtype).requires_grad_()
        state = random_state(kind, (1, batch, hidden_size), dtype, generator)
        out_ref, final_ref = reference(x, state)
        if out_ref.ne(0).any(dim=(0, 2)).all():
            break
    else:
        raise AssertionError("no draw found with an active unit at every step")
    ours = ScratchSequence.from_torch(reference)
    atol = TOLERANCE[dtype]

    out_ours, final_ours = ours(x, state)
    assert_same(f"{kind} output", out_ours, out_ref, atol)
    assert_same(f"{kind} final", final_ours, final_ref, atol)
    assert out_ours.shape == (batch, steps, hidden_size)

    inputs = [x, *leaves(state)]
    grads_ref = gradients(weighted_sum((out_ref, final_ref), 4), inputs + list(reference.parameters()))
    grads_ours = gradients(weighted_sum((out_ours, final_ours), 4), inputs + list(ours.parameters()))
    names = ["x", "h0", "c0"][: len(inputs)] + [f"{n}_l0" for n, _ in ours.cell.named_parameters()]
    assert [n for n, _ in reference.named_parameters()] == names[len(inputs):]
    for name, g_ours, g_ref in zip(names, grads_ours, grads_ref, strict=True):
        assert g_ref.abs().sum() > 0, f"{name}: the torch gradient is zero, so the test would be vacuous"
        assert_same(f"grad {name}", g_ours, g_ref, atol)


@pytest.mark.parametrize("kind", list(KINDS))
def test_sequence_zero_state_by_default(kind):
    _, _, layer_cls, options = KINDS[kind]
    torch.manual_seed(5)
    reference = layer_cls(3, 4, batch_first=True, **options).double()
    ours = ScratchSequence.from_torch(reference)
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    out_ref, final_ref = reference(x)
    out_ours, final_ours = ours(x)
    assert_same("output", out_ours, out_ref, 1e-10)
    assert_same("final", final_ours, final_ref, 1e-10)


# ----------------------------------------------------------------------------------------------
# parameters: names, shapes, initialisation, state dicts both ways
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", list(KINDS))
def test_parameters_and_init_like_torch(kind, bias):
    torch_cls, scratch_cls, _, options = KINDS[kind]
    torch.manual_seed(11)
    reference = torch_cls(6, 9, bias=bias, **options)
    torch.manual_seed(11)
    ours = scratch_cls(6, 9, bias=bias, **options)
    shapes_ref = {n: tuple(p.shape) for n, p in reference.named_parameters()}
    shapes_ours = {n: tuple(p.shape) for n, p in ours.named_parameters()}
    assert shapes_ours == shapes_ref
    assert ("bias_ih" in shapes_ours) == bias and ("bias_hh" in shapes_ours) == bias
    gates = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}[kind]
    assert shapes_ours["weight_ih"] == (gates * 9, 6) and shapes_ours["weight_hh"] == (gates * 9, 9)
    bound = 1 / math.sqrt(9)
    for name, p in ours.named_parameters():
        assert p.abs().max() <= bound and p.abs().max() > 0.8 * bound, name
        assert torch.equal(p, getattr(reference, name)), f"{name}: same seed should give torch's values"


@pytest.mark.parametrize("kind", list(KINDS))
def test_load_state_dict_both_ways(kind):
    torch_cls, scratch_cls, _, options = KINDS[kind]
    torch.manual_seed(21)
    reference = torch_cls(3, 4, **options).double()
    ours = scratch_cls(3, 4, **options).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    assert not compare("before load", ours(x), reference(x), atol=1e-3)
    ours.load_state_dict(reference.state_dict())  # torch -> scratch
    assert_same("torch->scratch", ours(x), reference(x), 1e-10)

    torch.manual_seed(22)
    fresh_ours = scratch_cls(3, 4, **options).double()
    reference.load_state_dict(fresh_ours.state_dict())  # scratch -> torch
    assert_same("scratch->torch", fresh_ours(x), reference(x), 1e-10)
    assert set(ours.state_dict()) == set(reference.state_dict())


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kind", list(KINDS))
def test_from_torch_copies_weights_and_options(kind, batch_first):
    _, scratch_cls, layer_cls, options = KINDS[kind]
    torch.manual_seed(31)
    module = layer_cls(3, 4, batch_first=batch_first, bias=False, **options).double()
    ours = ScratchSequence.from_torch(module)
    assert isinstance(ours.cell, scratch_cls)
    assert ours.cell_type == kind.split("_")[0].upper() and ours.batch_first
    assert ours.nonlinearity == options.get("nonlinearity")
    assert (ours.input_size, ours.hidden_size, ours.cell.bias) == (3, 4, False)
    assert ours.cell.weight_ih.dtype == torch.float64
    x = torch.randn(2, 5, 3, dtype=torch.float64)  # (batch, steps, features)
    out_ref, _ = module(x if batch_first else x.transpose(0, 1))
    out_ref = out_ref if batch_first else out_ref.transpose(0, 1)
    assert_same("output", ours(x)[0], out_ref, 1e-10)
    with torch.no_grad():  # a copy, not shared storage
        module.weight_ih_l0.add_(1.0)
    assert not torch.equal(ours.cell.weight_ih, module.weight_ih_l0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_to_torch_round_trip(kind):
    _, scratch_cls, layer_cls, options = KINDS[kind]
    torch.manual_seed(41)
    ours = ScratchSequence(scratch_cls(2, 3, **options).double())
    module = ours.to_torch()
    assert isinstance(module, layer_cls) and module.batch_first and module.num_layers == 1
    x = torch.randn(4, 6, 2, dtype=torch.float64)
    assert_same("output", ours(x)[0], module(x)[0], 1e-10)
    assert_same("final", ours(x)[1], module(x)[1], 1e-10)


# ----------------------------------------------------------------------------------------------
# recording
# ----------------------------------------------------------------------------------------------
def lstm_layer(seed: int = 51):
    """A float64 torch LSTM, its scratch copy, an input and an initial state."""
    torch.manual_seed(seed)
    module = nn.LSTM(3, 5, batch_first=True).double()
    x = torch.randn(2, 9, 3, dtype=torch.float64)
    state = (torch.randn(1, 2, 5, dtype=torch.float64), torch.randn(1, 2, 5, dtype=torch.float64))
    return module, ScratchSequence.from_torch(module), x, state


def test_lstm_gates_recorded_and_consistent():
    module, ours, x, state = lstm_layer()
    out, (h_n, c_n), gates = ours(x, state, return_gates=True)
    assert set(gates) == {"I", "F", "O", "C_tilde", "C", "H"}
    assert all(g.shape == (9, 2, 5) for g in gates.values())
    for key in ("I", "F", "O"):
        assert gates[key].min() > 0 and gates[key].max() < 1, key
    assert gates["C_tilde"].abs().max() < 1
    assert_same("H record", gates["H"].transpose(0, 1), module(x, state)[0], 1e-10)
    assert_same("C last", gates["C"][-1], c_n[0], 1e-10)
    C_prev = torch.cat([state[1], gates["C"][:-1]])  # (steps, batch, hidden)
    assert_same("C update", gates["C"], gates["F"] * C_prev + gates["I"] * gates["C_tilde"], 1e-12)
    assert_same("H = O tanh C", gates["H"], gates["O"] * torch.tanh(gates["C"]), 1e-12)
    assert not ours.cell.recording, "return_gates must restore the recording flag"


def torch_gru_step_parts(cell: nn.GRUCell, x, h):
    """R, Z and the candidate, computed the fused way PyTorch documents (independent of the scratch code)."""
    gi = x @ cell.weight_ih.T + cell.bias_ih  # (batch, 3*hidden)
    gh = h @ cell.weight_hh.T + cell.bias_hh  # (batch, 3*hidden)
    i_r, i_z, i_n = gi.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    return r, z, torch.tanh(i_n + r * h_n)


def test_gru_gates_recorded_and_consistent():
    reference, ours = cell_pair("gru", 3, 4, True, torch.float64, seed=61)
    x, h = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    ours.recording = True
    H = ours(x, h)
    record = ours.last_record
    assert set(record) == {"R", "Z", "H_tilde", "H"} and all(v.shape == (5, 4) for v in record.values())
    r, z, n = torch_gru_step_parts(reference, x, h)
    assert_same("R", record["R"], r, 1e-12)
    assert_same("Z", record["Z"], z, 1e-12)
    assert_same("H_tilde", record["H_tilde"], n, 1e-12)
    assert_same("H", record["H"], H, 0.0)
    assert 0 < record["Z"].min() and record["R"].max() < 1


def test_gru_sequence_gates_match_outputs():
    torch.manual_seed(62)
    module = nn.GRU(2, 3, batch_first=True).double()
    ours = ScratchSequence.from_torch(module)
    x = torch.randn(4, 7, 2, dtype=torch.float64)
    out, h_n, gates = ours(x, return_gates=True)
    assert all(g.shape == (7, 4, 3) for g in gates.values())
    assert_same("H record", gates["H"].transpose(0, 1), module(x)[0], 1e-10)
    assert_same("H last", gates["H"][-1], h_n[0], 0.0)
    H_prev = torch.cat([torch.zeros(1, 4, 3, dtype=torch.float64), gates["H"][:-1]])
    assert_same("H update", gates["H"], (1 - gates["Z"]) * gates["H_tilde"] + gates["Z"] * H_prev, 1e-12)


def test_rnn_records_h_and_unbatched_record_shape():
    _, rnn = cell_pair("rnn_tanh", 2, 3, True, torch.float64)
    _, lstm = cell_pair("lstm", 2, 3, True, torch.float64)
    rnn.recording = lstm.recording = True
    x = torch.randn(2, dtype=torch.float64)  # unbatched
    h = rnn(x)
    assert set(rnn.last_record) == {"H"} and torch.equal(rnn.last_record["H"], h)
    lstm(x)
    assert all(v.shape == (3,) for v in lstm.last_record.values())


@pytest.mark.parametrize("kind", list(KINDS))
def test_recording_changes_neither_outputs_nor_gradients(kind):
    _, ours = cell_pair(kind, 3, 4, True, torch.float64, seed=71)
    layer = ScratchSequence(ours)
    x = torch.randn(2, 8, 3, dtype=torch.float64)
    results = []
    for recording in (False, True):
        layer.zero_grad()
        ours.recording = recording
        out, final, *_ = layer(x, return_gates=recording)
        weighted_sum((out, final), 5).backward()
        results.append((out.detach(), [p.grad.clone() for p in layer.parameters()]))
    assert ours.last_record is not None and ours.recording
    (out_off, grads_off), (out_on, grads_on) = results
    assert torch.equal(out_off, out_on)
    assert all(torch.equal(a, b) for a, b in zip(grads_off, grads_on, strict=True))


def test_no_record_when_not_recording():
    _, ours = cell_pair("lstm", 2, 3, True, torch.float64)
    ours(torch.randn(4, 2, dtype=torch.float64))
    assert ours.last_record is None


def test_record_is_detached_copy():
    _, ours = cell_pair("gru", 2, 3, True, torch.float64)
    ours.recording = True
    H = ours(torch.randn(4, 2, dtype=torch.float64, requires_grad=True))
    assert H.requires_grad and not ours.last_record["H"].requires_grad
    H.data.add_(1.0)  # editing the output later must not edit the record
    assert not torch.equal(ours.last_record["H"], H)


# ----------------------------------------------------------------------------------------------
# the comparison is sharp enough to catch the classic bugs
# ----------------------------------------------------------------------------------------------
def shared_gate_lstm_step(cell: LSTMCellScratch, x, state):
    """The blog bug: one gate tensor for I, F and O, and the cell state returned as the hidden state."""
    H_prev, C_prev = state
    W_xi, _, W_xc, _ = split_blocks(cell.weight_ih, 4)
    W_hi, _, W_hc, _ = split_blocks(cell.weight_hh, 4)
    b_xi, _, b_xc, _ = split_blocks(cell.bias_ih, 4)
    b_hi, _, b_hc, _ = split_blocks(cell.bias_hh, 4)
    gate = torch.sigmoid(x @ W_xi.T + b_xi + H_prev @ W_hi.T + b_hi)  # used as I, F and O
    C_tilde = torch.tanh(x @ W_xc.T + b_xc + H_prev @ W_hc.T + b_hc)
    C = gate * C_prev + gate * C_tilde
    H = gate * torch.tanh(C)
    return H, C


def test_shared_gate_bug_fails_the_comparison():
    reference, ours = cell_pair("lstm", 3, 4, True, torch.float64, seed=81)
    x = torch.randn(5, 3, dtype=torch.float64)
    state = (torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64))
    assert compare("scratch", ours(x, state), reference(x, state), atol=1e-10)
    buggy = shared_gate_lstm_step(ours, x, state)
    assert not compare("shared gate", buggy, reference(x, state), atol=1e-10)
    assert not compare("shared gate", buggy, reference(x, state), atol=1e-2)  # far off, not rounding
    # the second half of the bug: handing the cell state on as the hidden state
    assert not compare("C as H", (buggy[1], buggy[1]), reference(x, state), atol=1e-2)


def test_wrong_block_order_fails_the_comparison():
    """TensorFlow's order (i, c, f, o) read with PyTorch's (i, f, g, o) weights must not pass."""
    reference, ours = cell_pair("lstm", 3, 4, True, torch.float64, seed=82)
    blocks = [0, 2, 1, 3]
    with torch.no_grad():
        for name, p in ours.named_parameters():
            p.copy_(torch.cat([split_blocks(getattr(reference, name), 4)[i] for i in blocks]))
    x = torch.randn(5, 3, dtype=torch.float64)
    assert not compare("swapped f/g", ours(x), reference(x), atol=1e-3)


def test_tiny_weight_change_is_detected_in_float64():
    reference, ours = cell_pair("gru", 3, 4, True, torch.float64, seed=83)
    x = torch.randn(5, 3, dtype=torch.float64)
    with torch.no_grad():
        ours.weight_hh[7, 1] += 1e-7
    h = torch.randn(5, 4, dtype=torch.float64)
    assert not compare("perturbed", ours(x, h), reference(x, h), atol=1e-10)


def test_gru_textbook_candidate_differs_from_pytorch():
    reference, ours = cell_pair("gru", 3, 4, True, torch.float64, seed=91)
    x, h = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    ours.recording = True
    ours(x, h)
    textbook = gru_candidate_textbook(ours, x, h)
    assert textbook.shape == (6, 4)
    assert not compare("textbook", textbook, ours.last_record["H_tilde"], atol=1e-3)
    assert max_abs_diff(textbook, ours.last_record["H_tilde"]) > 1e-2
    # same for torch's own cell: it is the formula, not our code
    assert_same("torch cell", gru_candidate_textbook(reference, x, h), textbook, 1e-12)


def test_gru_textbook_candidate_is_the_textbook_formula():
    reference, _ = cell_pair("gru", 3, 4, True, torch.float64, seed=92)
    x, h = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    r, _, n = torch_gru_step_parts(reference, x, h)
    # with the reset gate wide open (R = 1) both forms coincide
    ones = torch.ones_like(h)
    pytorch_form = torch_gru_candidate(reference, x, h, ones)
    assert_same("R = 1", gru_candidate_textbook(reference, x, h, R=ones), pytorch_form, 1e-12)
    # the textbook form written out by hand: tanh(X W_xn^T + (R * H) W_hn^T + b_xn + b_hn)
    W_xn, W_hn = reference.weight_ih[8:], reference.weight_hh[8:]  # the candidate's n blocks
    b_n = reference.bias_ih[8:] + reference.bias_hh[8:]
    by_hand = torch.tanh(x @ W_xn.T + (r * h) @ W_hn.T + b_n)
    assert_same("by hand", gru_candidate_textbook(reference, x, h), by_hand, 1e-12)
    assert not compare("torch n", n, by_hand, atol=1e-3)


def torch_gru_candidate(cell: nn.GRUCell, x, h, r):
    """PyTorch's candidate for a given reset gate r."""
    i_n = x @ cell.weight_ih[-cell.hidden_size:].T + cell.bias_ih[-cell.hidden_size:]
    h_n = h @ cell.weight_hh[-cell.hidden_size:].T + cell.bias_hh[-cell.hidden_size:]
    return torch.tanh(i_n + r * h_n)


def test_gru_forms_agree_for_one_unit_without_bias():
    """With hidden 1 and no bias, R * (w h) == (R * h) w: the forms coincide, so the difference is real."""
    reference, ours = cell_pair("gru", 2, 1, False, torch.float64, seed=93)
    x, h = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)
    ours.recording = True
    ours(x, h)
    assert_same("hidden 1", gru_candidate_textbook(ours, x, h), ours.last_record["H_tilde"], 1e-12)


# ----------------------------------------------------------------------------------------------
# checks.compare and max_abs_diff
# ----------------------------------------------------------------------------------------------
def test_compare_prints_one_stable_line(capsys):
    a = torch.zeros(2, 1, 5)
    assert compare("h_n", a, a + 1e-7) is True
    assert compare("c_n", a, a + 1e-3, atol=1e-4) is False
    assert compare("rel", a + 1.0, a + 1.001, atol=0.0, rtol=1e-2) is True
    assert compare("state", (a, a), (a, a.double())) is True
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "h_n          shape (2, 1, 5)  allclose(atol=1e-06): True",
        "c_n          shape (2, 1, 5)  allclose(atol=0.0001): False",
        "rel          shape (2, 1, 5)  allclose(atol=0, rtol=0.01): True",
        "state        shape (2, 1, 5), (2, 1, 5)  allclose(atol=1e-06): True",
    ]


def test_compare_nan_never_agrees():
    a = torch.tensor([1.0, float("nan")])
    assert compare("nan", a, a.clone()) is False


def test_max_abs_diff():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert max_abs_diff(a, a + torch.tensor([[0.0, 0.5], [-0.25, 0.0]])) == 0.5  # ours is below theirs
    assert max_abs_diff(a + torch.tensor([[0.0, 0.5], [-0.25, 0.0]]), a) == 0.5
    assert max_abs_diff((a, a), (a, a - 3.0)) == 3.0
    assert max_abs_diff(torch.zeros(0, 3), torch.zeros(0, 3)) == 0.0
    assert isinstance(max_abs_diff(a, a), float)


def test_compare_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"ours has shape \(1, 2, 5\), theirs has shape \(2, 5\)"):
        compare("h_n", torch.zeros(1, 2, 5), torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"\(2, 5\), \(2, 5\).*theirs has shape \(2, 5\)"):
        max_abs_diff((torch.zeros(2, 5), torch.zeros(2, 5)), torch.zeros(2, 5))


def test_compare_rejects_non_tensors_and_negative_tolerance():
    with pytest.raises(TypeError, match="torch.Tensor or a tuple/list"):
        compare("x", {"h": torch.zeros(1)}, torch.zeros(1))
    with pytest.raises(ValueError, match="atol and rtol must be >= 0"):
        compare("x", torch.zeros(1), torch.zeros(1), atol=-1.0)


# ----------------------------------------------------------------------------------------------
# errors at the boundary
# ----------------------------------------------------------------------------------------------
def test_bad_nonlinearity_names_the_options():
    with pytest.raises(ValueError, match=r"one of 'tanh', 'relu', got 'sigmoid'"):
        RNNCellScratch(3, 4, nonlinearity="sigmoid")


@pytest.mark.parametrize("cls", [RNNCellScratch, LSTMCellScratch, GRUCellScratch])
def test_bad_sizes(cls):
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got 0"):
        cls(3, 0)
    with pytest.raises(TypeError, match="input_size must be an int, got str"):
        cls("3", 4)


@pytest.mark.parametrize("cls", [RNNCellScratch, LSTMCellScratch, GRUCellScratch])
def test_cell_input_errors(cls):
    cell = cls(3, 4).double()
    name = cls.__name__
    expected = rf"{name}: expected x of shape \(batch, 3\) or \(3,\), got \(2, 5, 3\): "
    with pytest.raises(ValueError, match=expected + r"the cell takes one time step.*ScratchSequence"):
        cell(torch.zeros(2, 5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"got \(\): put the examples on the first axis"):
        cell(torch.tensor(1.0, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"got \(2, 7\): the cell was built with input_size=3.*input_size=7"):
        cell(torch.zeros(2, 7, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"dtype torch.int64.*one-hot encode"):
        cell(torch.zeros(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"dtype torch.float32 but the weights have torch.float64"):
        cell(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="expects x as a torch.Tensor, got list"):
        cell([[0.0, 0.0, 0.0]])


@pytest.mark.parametrize("cls", [RNNCellScratch, GRUCellScratch])
def test_cell_state_errors(cls):
    cell = cls(3, 4).double()
    x = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"expected state of shape \(2, 4\) for x of shape \(2, 3\), "
                                         r"got \(2, 5\)"):
        cell(x, torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"got \(1, 2, 4\): this looks like a layer state.*state\[0\]"):
        cell(x, torch.zeros(1, 2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expected state of shape \(4,\) for x of shape \(3,\), "
                                         r"got \(1, 4\)"):
        cell(x[0], torch.zeros(1, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"state has dtype torch.float32"):
        cell(x, torch.zeros(2, 4))
    with pytest.raises(TypeError, match=r"state must be a torch.Tensor or None, got tuple"):
        cell(x, (torch.zeros(2, 4, dtype=torch.float64),))


def test_lstm_cell_state_errors():
    cell = LSTMCellScratch(3, 4).double()
    x = torch.zeros(2, 3, dtype=torch.float64)
    h = torch.zeros(2, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"state must be a pair \(H, C\).*got Tensor"):
        cell(x, h)
    with pytest.raises(ValueError, match=r"expected C of shape \(2, 4\) for x of shape \(2, 3\), "
                                         r"got \(3, 4\)"):
        cell(x, (h, torch.zeros(3, 4, dtype=torch.float64)))


def test_sequence_input_errors():
    layer = ScratchSequence(GRUCellScratch(10, 4))
    with pytest.raises(ValueError, match=r"expected x of shape \(batch, steps, 10\) with batch_first layout, "
                                         r"got \(4, 7\): add a batch axis with x.unsqueeze\(0\)"):
        layer(torch.zeros(4, 7))
    with pytest.raises(ValueError, match=r"got \(2, 5, 7\): the cell was built with input_size=10"
                                         r".*transpose"):
        layer(torch.zeros(2, 5, 7))
    with pytest.raises(ValueError, match=r"got \(2, 5, 10, 1\): put examples on axis 0"):
        layer(torch.zeros(2, 5, 10, 1))
    with pytest.raises(ValueError, match=r"got \(2, 0, 10\): need at least one example and one step"):
        layer(torch.zeros(2, 0, 10))
    with pytest.raises(ValueError, match=r"x has dtype torch.int64.*one-hot encode tokens"):
        layer(torch.zeros(2, 5, 10, dtype=torch.int64))
    with pytest.raises(TypeError, match="expects x as a torch.Tensor, got ndarray"):
        layer(torch.zeros(2, 5, 10).numpy())


def test_sequence_state_errors():
    gru = ScratchSequence(GRUCellScratch(3, 4))
    lstm = ScratchSequence(LSTMCellScratch(3, 4))
    x = torch.zeros(2, 5, 3)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 2, 4\).*got \(2, 4\): "
                                         r"add the layer axis"):
        gru(x, torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 2, 4\).*got \(1, 3, 4\): pass None"):
        gru(x, torch.zeros(1, 3, 4))
    with pytest.raises(TypeError, match=r"state is one tensor h_0.*not a tuple"):
        gru(x, (torch.zeros(1, 2, 4),))
    with pytest.raises(TypeError, match=r"state must be a pair \(h_0, c_0\) or None, got Tensor"):
        lstm(x, torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(1, 2, 4\)"):
        lstm(x, (torch.zeros(1, 2, 4), torch.zeros(2, 4)))
    with pytest.raises(TypeError, match=r"h_0 must be a torch.Tensor, got float"):
        gru(x, 0.0)


def test_sequence_needs_a_scratch_cell():
    with pytest.raises(TypeError, match=r"wraps a scratch cell.*got LSTMCell.*from_torch"):
        ScratchSequence(nn.LSTMCell(3, 4))


def test_from_torch_errors():
    with pytest.raises(TypeError, match=r"needs an nn.RNN, nn.LSTM or nn.GRU, got Linear"):
        ScratchSequence.from_torch(nn.Linear(3, 4))
    with pytest.raises(TypeError, match=r"got GRUCell: .*load_state_dict"):
        ScratchSequence.from_torch(nn.GRUCell(3, 4))
    with pytest.raises(ValueError, match=r"num_layers=1, got num_layers=2"):
        ScratchSequence.from_torch(nn.LSTM(3, 4, num_layers=2))
    with pytest.raises(ValueError, match=r"unidirectional module, got bidirectional=True"):
        ScratchSequence.from_torch(nn.GRU(3, 4, bidirectional=True))
    with pytest.raises(ValueError, match=r"proj_size=2: use proj_size=0"):
        ScratchSequence.from_torch(nn.LSTM(3, 4, proj_size=2))


def test_gru_candidate_textbook_needs_a_gru():
    with pytest.raises(TypeError, match=r"needs a GRU cell.*got LSTMCellScratch"):
        gru_candidate_textbook(LSTMCellScratch(3, 4), torch.zeros(1, 3), torch.zeros(1, 4))
