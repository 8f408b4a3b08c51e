"""Scratch recurrent cells (RNN, LSTM, GRU), written one equation per line, and a layer that runs them.

Each scratch cell has the parameters of its ``torch.nn`` twin with the same names and shapes
(``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``), is initialised the same way, and
returns what the twin returns, so ``load_state_dict`` works in both directions and the two can
be compared number for number. ``tests/test_cells.py`` checks outputs and gradients against
torch (1e-10 in float64).

Block order. PyTorch stacks the per-gate matrices along the first axis of ``weight_ih``
(G*hidden, input) and ``weight_hh`` (G*hidden, hidden), and the biases the same way:

* RNN  (G = 1): one block.
* LSTM (G = 4): i (input gate I), f (forget gate F), g (candidate cell C_tilde), o (output gate O).
* GRU  (G = 3): r (reset gate R), z (update gate Z), n (candidate state H_tilde).

The cells slice these blocks into named views (``W_xi``, ``W_hi``, ...) with :func:`split_blocks`.
``W_x*`` multiplies the input ``X``, ``W_h*`` the previous state ``H``; ``b_x*`` is a block of
``bias_ih`` and ``b_h*`` a block of ``bias_hh``. Torch keeps two biases per gate where
textbooks keep one; only their sum ``b_x* + b_h*`` matters (except in the GRU candidate, see
:class:`GRUCellScratch`). Rows are examples, so a matrix product is written ``X @ W.T``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

NONLINEARITIES = ("tanh", "relu")

LSTMState = tuple[Tensor, Tensor]


# ----------------------------------------------------------------------------------------------
# small building blocks
# ----------------------------------------------------------------------------------------------
def split_blocks(stacked: Tensor | None, count: int) -> tuple[Tensor | None, ...]:
    """Split a stacked weight or bias into ``count`` equal blocks along its first axis (views)."""
    if stacked is None:  # bias=False: every block has no bias
        return (None,) * count
    return tuple(stacked.chunk(count, dim=0))


def affine(X: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
    """Return ``X W^T + b`` (or ``X W^T`` when ``b`` is None)."""
    out = X @ W.T  # (batch, out_features) or (out_features,)
    return out if b is None else out + b


def _shape(t: Tensor) -> tuple[int, ...]:
    """Shape as a plain tuple, for error messages."""
    return tuple(t.shape)


def _check_size(name: str, value: int) -> None:
    """Reject sizes that are not positive integers."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")


# ----------------------------------------------------------------------------------------------
# the cells
# ----------------------------------------------------------------------------------------------
class _ScratchCell(nn.Module):
    """Parameters, initialisation, input checks and recording shared by the three cells."""

    cell_type = "?"
    gate_count = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bool(bias)
        rows = self.gate_count * hidden_size
        factory = {"device": device, "dtype": dtype}
        # Same creation order as torch (weight_ih, weight_hh, bias_ih, bias_hh), so the same
        # seed gives the same initial values.
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **factory))  # (G*hidden, input)
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size, **factory))  # (G*hidden, hidden)
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(rows, **factory))  # (G*hidden,)
            self.bias_hh = nn.Parameter(torch.empty(rows, **factory))  # (G*hidden,)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.recording = False
        self.last_record: dict[str, Tensor] | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every parameter from uniform(-1/sqrt(hidden), 1/sqrt(hidden)), like torch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def extra_repr(self) -> str:
        """Constructor arguments, shown by ``print(cell)``."""
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"

    # -- boundary checks ----------------------------------------------------------------------
    def _check_x(self, x: Tensor) -> None:
        """Raise a helpful error unless x is (batch, input) or (input,) of the weights' dtype."""
        name, size = type(self).__name__, self.input_size
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} expects x as a torch.Tensor, got {type(x).__name__}")
        expected = f"expected x of shape (batch, {size}) or ({size},)"
        if x.dim() not in (1, 2):
            hint = ("the cell takes one time step: pass x[:, t], or run the whole sequence with "
                    "ScratchSequence(cell)" if x.dim() == 3 else
                    "put the examples on the first axis and the features on the last")
            raise ValueError(f"{name}: {expected}, got {_shape(x)}: {hint}")
        if x.shape[-1] != size:
            raise ValueError(f"{name}: {expected}, got {_shape(x)}: the cell was built with "
                             f"input_size={size}; the last axis of x must hold the features "
                             f"(or build the cell with input_size={x.shape[-1]})")
        self._check_dtype("x", x)

    def _check_dtype(self, what: str, t: Tensor) -> None:
        """Raise unless ``t`` has the floating dtype of the weights."""
        want = self.weight_ih.dtype
        if not t.is_floating_point():
            raise ValueError(f"{type(self).__name__}: {what} has dtype {t.dtype}, but the cell needs "
                             f"floating-point input ({want}): one-hot encode tokens, or use "
                             f"{what}.to({want})")
        if t.dtype != want:
            raise ValueError(f"{type(self).__name__}: {what} has dtype {t.dtype} but the weights have "
                             f"{want}: convert with {what}.to({want}) or the cell with cell.to({t.dtype})")

    def _state_tensor(self, what: str, s: Tensor | None, x: Tensor) -> Tensor:
        """Return ``s`` checked against x's batch layout, or zeros when ``s`` is None."""
        expected = (x.shape[0], self.hidden_size) if x.dim() == 2 else (self.hidden_size,)
        if s is None:
            return x.new_zeros(expected)  # (batch, hidden) or (hidden,)
        if not isinstance(s, Tensor):
            raise TypeError(f"{type(self).__name__}: {what} must be a torch.Tensor or None, "
                            f"got {type(s).__name__}")
        if _shape(s) != expected:
            hint = ("this looks like a layer state (1, batch, hidden): pass state[0] to a cell"
                    if s.dim() == 3 and s.shape[0] == 1 else
                    "pass None for a zero state, or one row of size hidden per example in x")
            raise ValueError(f"{type(self).__name__}: expected {what} of shape {expected} for x of "
                             f"shape {_shape(x)}, got {_shape(s)}: {hint}")
        self._check_dtype(what, s)
        return s

    def _record(self, **tensors: Tensor) -> None:
        """Keep detached copies of the named tensors in ``last_record`` when ``recording`` is on."""
        if self.recording:
            self.last_record = {key: value.detach().clone() for key, value in tensors.items()}


class RNNCellScratch(_ScratchCell):
    """Elman RNN cell, H = phi(X W_ih^T + b_ih + H_prev W_hh^T + b_hh), like ``nn.RNNCell``.

    Records ``{"H"}`` when ``recording`` is True.
    """

    cell_type = "RNN"
    gate_count = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {', '.join(map(repr, NONLINEARITIES))}, "
                             f"got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        """Constructor arguments, shown by ``print(cell)``."""
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity!r}"

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        """One time step: x (batch, input) or (input,), state H_prev like x -> H (batch, hidden)."""
        self._check_x(x)
        X = x  # (batch, input)
        H_prev = self._state_tensor("state", state, x)  # (batch, hidden)
        W_ih, W_hh = self.weight_ih, self.weight_hh  # (hidden, input), (hidden, hidden)
        b_ih, b_hh = self.bias_ih, self.bias_hh  # (hidden,) each, or None
        phi = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        H = phi(affine(X, W_ih, b_ih) + affine(H_prev, W_hh, b_hh))  # (batch, hidden)
        self._record(H=H)
        return H


class LSTMCellScratch(_ScratchCell):
    """LSTM cell written gate by gate, like ``nn.LSTMCell`` (block order i, f, g, o).

    I       = sigmoid(X W_xi^T + b_xi + H_prev W_hi^T + b_hi)     input gate
    F       = sigmoid(X W_xf^T + b_xf + H_prev W_hf^T + b_hf)     forget gate
    C_tilde = tanh(   X W_xc^T + b_xc + H_prev W_hc^T + b_hc)     candidate cell (torch's "g")
    O       = sigmoid(X W_xo^T + b_xo + H_prev W_ho^T + b_ho)     output gate
    C       = F * C_prev + I * C_tilde
    H       = O * tanh(C)

    ``forward(x, state=None)`` returns ``(H, C)``. Records ``"I", "F", "O", "C_tilde", "C", "H"``
    when ``recording`` is True.
    """

    cell_type = "LSTM"
    gate_count = 4

    def _split_state(self, state: LSTMState | None, x: Tensor) -> LSTMState:
        """Return (H_prev, C_prev), zeros when ``state`` is None."""
        if state is None:
            return self._state_tensor("H", None, x), self._state_tensor("C", None, x)
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError(f"LSTMCellScratch: state must be a pair (H, C) of tensors or None, got "
                            f"{type(state).__name__}: the LSTM carries a hidden state AND a cell state")
        return self._state_tensor("H", state[0], x), self._state_tensor("C", state[1], x)

    def forward(self, x: Tensor, state: LSTMState | None = None) -> LSTMState:
        """One time step: x (batch, input) or (input,), state (H_prev, C_prev) -> (H, C)."""
        self._check_x(x)
        X = x  # (batch, input)
        H_prev, C_prev = self._split_state(state, x)  # (batch, hidden) each
        W_xi, W_xf, W_xc, W_xo = split_blocks(self.weight_ih, 4)  # (hidden, input) each
        W_hi, W_hf, W_hc, W_ho = split_blocks(self.weight_hh, 4)  # (hidden, hidden) each
        b_xi, b_xf, b_xc, b_xo = split_blocks(self.bias_ih, 4)  # (hidden,) each, or None
        b_hi, b_hf, b_hc, b_ho = split_blocks(self.bias_hh, 4)  # (hidden,) each, or None

        I = torch.sigmoid(affine(X, W_xi, b_xi) + affine(H_prev, W_hi, b_hi))  # (batch, hidden)  # noqa: E741
        F = torch.sigmoid(affine(X, W_xf, b_xf) + affine(H_prev, W_hf, b_hf))  # (batch, hidden)
        C_tilde = torch.tanh(affine(X, W_xc, b_xc) + affine(H_prev, W_hc, b_hc))  # (batch, hidden)
        O = torch.sigmoid(affine(X, W_xo, b_xo) + affine(H_prev, W_ho, b_ho))  # (batch, hidden)  # noqa: E741
        C = F * C_prev + I * C_tilde  # (batch, hidden)
        H = O * torch.tanh(C)  # (batch, hidden)

        self._record(I=I, F=F, O=O, C_tilde=C_tilde, C=C, H=H)
        return H, C


class GRUCellScratch(_ScratchCell):
    """GRU cell written gate by gate, like ``nn.GRUCell`` (block order r, z, n).

    R       = sigmoid(X W_xr^T + b_xr + H_prev W_hr^T + b_hr)           reset gate
    Z       = sigmoid(X W_xz^T + b_xz + H_prev W_hz^T + b_hz)           update gate
    H_tilde = tanh(X W_xn^T + b_xn + R * (H_prev W_hn^T + b_hn))        candidate (torch's "n")
    H       = (1 - Z) * H_tilde + Z * H_prev

    Where the reset gate acts: PyTorch (and cuDNN) multiply R with the hidden part AFTER the
    matrix product, R * (W_hn h + b_hn). The textbook form (Cho et al. 2014; d2l) resets the
    state BEFORE it, H_tilde = tanh(X W_xn^T + (R * H_prev) W_hn^T + b_xn + b_hn). The two
    differ for general weights. This cell matches PyTorch; :func:`gru_candidate_textbook`
    computes the textbook candidate for comparison. The candidate's blocks are named with an
    "n" as in PyTorch's documentation: W_hn is one block of weight_hh, not the whole matrix.

    ``forward(x, state=None)`` returns ``H``. Records ``"R", "Z", "H_tilde", "H"`` when
    ``recording`` is True.
    """

    cell_type = "GRU"
    gate_count = 3

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        """One time step: x (batch, input) or (input,), state H_prev like x -> H (batch, hidden)."""
        self._check_x(x)
        X = x  # (batch, input)
        H_prev = self._state_tensor("state", state, x)  # (batch, hidden)
        W_xr, W_xz, W_xn = split_blocks(self.weight_ih, 3)  # (hidden, input) each
        W_hr, W_hz, W_hn = split_blocks(self.weight_hh, 3)  # (hidden, hidden) each
        b_xr, b_xz, b_xn = split_blocks(self.bias_ih, 3)  # (hidden,) each, or None
        b_hr, b_hz, b_hn = split_blocks(self.bias_hh, 3)  # (hidden,) each, or None

        R = torch.sigmoid(affine(X, W_xr, b_xr) + affine(H_prev, W_hr, b_hr))  # (batch, hidden)
        Z = torch.sigmoid(affine(X, W_xz, b_xz) + affine(H_prev, W_hz, b_hz))  # (batch, hidden)
        H_tilde = torch.tanh(affine(X, W_xn, b_xn) + R * affine(H_prev, W_hn, b_hn))  # (batch, hidden)
        H = (1 - Z) * H_tilde + Z * H_prev  # (batch, hidden)

        self._record(R=R, Z=Z, H_tilde=H_tilde, H=H)
        return H


def gru_candidate_textbook(cell: nn.Module, x: Tensor, state: Tensor, R: Tensor | None = None) -> Tensor:
    """Textbook GRU candidate tanh(X W_xn^T + (R * H_prev) W_hn^T + b_xn + b_hn), for comparison.

    ``cell`` is a :class:`GRUCellScratch` or an ``nn.GRUCell`` (only its weights are used);
    ``x`` is (batch, input), ``state`` is H_prev (batch, hidden). ``R`` defaults to the cell's
    own reset gate for (x, state). The reset gate multiplies the state BEFORE the matrix product
    (Cho et al. 2014; d2l), unlike PyTorch; the textbook's one bias b_h is torch's b_xn + b_hn.
    """
    if not (hasattr(cell, "weight_ih") and cell.weight_ih.shape[0] == 3 * cell.weight_hh.shape[1]):
        raise TypeError(f"gru_candidate_textbook needs a GRU cell (GRUCellScratch or nn.GRUCell), "
                        f"got {type(cell).__name__}")
    X, H_prev = x, state  # (batch, input), (batch, hidden)
    W_xr, _, W_xn = split_blocks(cell.weight_ih, 3)  # (hidden, input) each
    W_hr, _, W_hn = split_blocks(cell.weight_hh, 3)  # (hidden, hidden) each
    b_xr, _, b_xn = split_blocks(cell.bias_ih, 3)  # (hidden,) each, or None
    b_hr, _, b_hn = split_blocks(cell.bias_hh, 3)  # (hidden,) each, or None
    if R is None:
        R = torch.sigmoid(affine(X, W_xr, b_xr) + affine(H_prev, W_hr, b_hr))  # (batch, hidden)
    return torch.tanh(affine(X, W_xn, b_xn) + affine(R * H_prev, W_hn, b_hn))  # (batch, hidden)


# ----------------------------------------------------------------------------------------------
# the layer
# ----------------------------------------------------------------------------------------------
SCRATCH_CELLS = (RNNCellScratch, LSTMCellScratch, GRUCellScratch)


class ScratchSequence(nn.Module):
    """Run a scratch cell over a batch_first sequence, like a 1-layer ``nn.RNN/LSTM/GRU(batch_first=True)``.

    ``forward(x, state=None, return_gates=False)``: x (batch, steps, features) ->
    ``(outputs, final_state)`` with outputs (batch, steps, hidden) and final_state h_n
    (1, batch, hidden), or (h_n, c_n) for an LSTM. ``state`` takes the same form. With
    ``return_gates=True`` a third item maps each recorded key to a (steps, batch, hidden) tensor.
    The layer is always batch_first, whatever the torch module it was built from.
    """

    batch_first = True

    def __init__(self, cell: nn.Module) -> None:
        super().__init__()
        if not isinstance(cell, SCRATCH_CELLS):
            names = ", ".join(c.__name__ for c in SCRATCH_CELLS)
            raise TypeError(f"ScratchSequence wraps a scratch cell ({names}), got {type(cell).__name__}: "
                            f"for a torch nn.RNN/LSTM/GRU use ScratchSequence.from_torch(module)")
        self.cell = cell

    @property
    def cell_type(self) -> str:
        """``"RNN"``, ``"LSTM"`` or ``"GRU"``."""
        return self.cell.cell_type

    @property
    def nonlinearity(self) -> str | None:
        """``"tanh"`` or ``"relu"`` for an RNN cell, None for LSTM and GRU."""
        return getattr(self.cell, "nonlinearity", None)

    @property
    def input_size(self) -> int:
        """Number of input features per step."""
        return self.cell.input_size

    @property
    def hidden_size(self) -> int:
        """Number of hidden units."""
        return self.cell.hidden_size

    # -- boundary checks ----------------------------------------------------------------------
    def _check_x(self, x: Tensor) -> None:
        """Raise a helpful error unless x is (batch, steps, input_size)."""
        if not isinstance(x, Tensor):
            raise TypeError(f"ScratchSequence expects x as a torch.Tensor, got {type(x).__name__}")
        expected = (f"ScratchSequence: expected x of shape (batch, steps, {self.input_size}) "
                    f"with batch_first layout")
        if x.dim() != 3:
            hint = ("add a batch axis with x.unsqueeze(0)" if x.dim() == 2 else
                    "put examples on axis 0, time steps on axis 1 and features on axis 2")
            raise ValueError(f"{expected}, got {_shape(x)}: {hint}")
        if x.shape[2] != self.input_size:
            raise ValueError(f"{expected}, got {_shape(x)}: the cell was built with input_size="
                             f"{self.input_size}; features go on the last axis (a time-major "
                             f"(steps, batch, features) tensor needs x.transpose(0, 1))")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{expected}, got {_shape(x)}: need at least one example and one step")

    def _layer_state(self, what: str, s: Tensor, batch: int) -> Tensor:
        """Check a (1, batch, hidden) layer state and return it as (batch, hidden)."""
        expected = (1, batch, self.hidden_size)
        if not isinstance(s, Tensor):
            raise TypeError(f"ScratchSequence: {what} must be a torch.Tensor, got {type(s).__name__}")
        if _shape(s) != expected:
            hint = ("add the layer axis with s.unsqueeze(0)" if _shape(s) == expected[1:] else
                    "pass None for a zero state, or the h_n a torch layer returns")
            raise ValueError(f"ScratchSequence: expected {what} of shape {expected} (layers, batch, "
                             f"hidden), got {_shape(s)}: {hint}")
        return s[0]  # (batch, hidden)

    def _cell_state(self, state: Tensor | LSTMState | None, batch: int) -> Tensor | LSTMState | None:
        """Turn a layer state (1, batch, hidden) into the cell's (batch, hidden) form."""
        if state is None:
            return None
        if self.cell_type == "LSTM":
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(f"ScratchSequence(LSTM): state must be a pair (h_0, c_0) or None, got "
                                f"{type(state).__name__}")
            return self._layer_state("h_0", state[0], batch), self._layer_state("c_0", state[1], batch)
        if isinstance(state, (tuple, list)):
            raise TypeError(f"ScratchSequence({self.cell_type}): state is one tensor h_0 (1, batch, "
                            f"hidden), not a {type(state).__name__}; only an LSTM takes (h_0, c_0)")
        return self._layer_state("h_0", state, batch)

    # -- the loop -----------------------------------------------------------------------------
    def forward(self, x: Tensor, state: Tensor | LSTMState | None = None, return_gates: bool = False):
        """Run the cell over every step of x (batch, steps, features); see the class docstring."""
        self._check_x(x)
        cell_state = self._cell_state(state, x.shape[0])
        outputs, records = [], []
        was_recording = self.cell.recording
        self.cell.recording = was_recording or return_gates
        try:
            for t in range(x.shape[1]):
                cell_state = self.cell(x[:, t], cell_state)  # H, or (H, C): (batch, hidden) each
                outputs.append(cell_state[0] if self.cell_type == "LSTM" else cell_state)
                if return_gates:
                    records.append(self.cell.last_record)
        finally:
            self.cell.recording = was_recording
        output = torch.stack(outputs, dim=1)  # (batch, steps, hidden)
        if self.cell_type == "LSTM":
            final = (cell_state[0].unsqueeze(0), cell_state[1].unsqueeze(0))  # (1, batch, hidden) each
        else:
            final = cell_state.unsqueeze(0)  # (1, batch, hidden)
        if not return_gates:
            return output, final
        gates = {key: torch.stack([r[key] for r in records]) for key in records[0]}  # (steps, batch, hidden)
        return output, final, gates

    # -- conversion to and from torch ---------------------------------------------------------
    @classmethod
    def from_torch(cls, module: nn.Module) -> ScratchSequence:
        """Build the matching scratch layer from a 1-layer unidirectional nn.RNN/LSTM/GRU (weights copied).

        The scratch layer is always batch_first, even when ``module.batch_first`` is False.
        """
        kinds = ((nn.LSTM, LSTMCellScratch), (nn.GRU, GRUCellScratch), (nn.RNN, RNNCellScratch))
        cell_class = next((c for torch_class, c in kinds if isinstance(module, torch_class)), None)
        if cell_class is None:
            raise TypeError(f"from_torch needs an nn.RNN, nn.LSTM or nn.GRU, got {type(module).__name__}: "
                            f"for a torch cell build the scratch cell and call "
                            f"scratch.load_state_dict(torch_cell.state_dict())")
        if module.num_layers != 1:
            raise ValueError(f"from_torch needs num_layers=1, got num_layers={module.num_layers}: "
                             f"stack one ScratchSequence per layer and copy weight_ih_l<k> etc. yourself")
        if module.bidirectional:
            raise ValueError("from_torch needs a unidirectional module, got bidirectional=True: "
                             "run a second ScratchSequence on x.flip(1) with the *_reverse weights")
        if getattr(module, "proj_size", 0):
            raise ValueError(f"from_torch does not support LSTM projections, got "
                             f"proj_size={module.proj_size}: use proj_size=0")
        reference = module.weight_ih_l0
        options = {"bias": module.bias, "device": reference.device, "dtype": reference.dtype}
        if cell_class is RNNCellScratch:
            options["nonlinearity"] = module.nonlinearity
        cell = cell_class(module.input_size, module.hidden_size, **options)
        with torch.no_grad():
            for name, parameter in cell.named_parameters():
                parameter.copy_(getattr(module, f"{name}_l0"))
        return cls(cell)

    def to_torch(self) -> nn.Module:
        """Return a 1-layer ``nn.RNN/LSTM/GRU(batch_first=True)`` holding copies of these weights."""
        reference = self.cell.weight_ih
        options = {"bias": self.cell.bias, "batch_first": True,
                   "device": reference.device, "dtype": reference.dtype}
        if self.cell_type == "RNN":
            options["nonlinearity"] = self.nonlinearity
        torch_class = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[self.cell_type]
        module = torch_class(self.input_size, self.hidden_size, **options)
        with torch.no_grad():
            for name, parameter in self.cell.named_parameters():
                getattr(module, f"{name}_l0").copy_(parameter)
        return module
