"""Batched multi-model training for the digit-sum memory experiment (chapter 08).

The chapter trains one small model (embedding -> one recurrent layer -> last hidden
state -> linear) for every cell type, sequence length and seed: 6 x 3 x 3 = 54 models of
about 19,000 Adam steps each. At hidden size 32 and batch size 8 every tensor operation
is tiny, so a plain training loop spends its time on per-operation overhead, not on
arithmetic. This module trains MANY models at once, exactly as if trained separately:

* every weight gets a leading model axis ``M`` (:class:`BatchedDigitSum`); Adam is
  element-wise, and the loss is the SUM of the per-model mean losses, so model ``m``'s
  gradient and Adam update depend on model ``m`` alone;
* each model has its own data, its own initial weights and its own batch order;
* models of different sequence lengths share one batch: sequences are right-padded to
  the longest length and each model's hidden state is read at its OWN last step (exact:
  the state at step t depends only on inputs up to t). Models are kept in order of
  decreasing length, so step t only computes the prefix of models still running;
* the input projections of all steps come from one batched matmul (embedding table
  times ``W_ih``, then a gather); the recurrence runs with a hand-written backward pass
  through time (one ``baddbmm`` plus a few element-wise kernels per step, no autograd
  bookkeeping per step). ``tests/test_digitsum.py`` checks it against ``torch.nn``.

Public API
----------
``CELLS``, :func:`check_cell`, :class:`DigitSumModel` (the standard torch model),
:func:`make_model` (``init="torch"`` or ``"nndl"``), :func:`nndl_init_`, :func:`scaled_orthogonal_`,
:func:`spectral_radius`, :func:`epoch_orders`, :func:`book_digit_sum_splits` (the book's data files),
:func:`stacked_forward` (the plain-autograd batched forward), :class:`BatchedDigitSum`, :func:`evaluate`,
:class:`TrainConfig`, :func:`train_batched`, :class:`SweepResult`, :func:`run_sweep`,
:func:`sweep` (several cell types, optionally in parallel processes), :func:`train_one`
(the plain one-model loop, for comparison).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

CELLS = ("RNN", "LSTM", "GRU")   # the simple (Elman) RNN is "RNN"; "srn", NNDL's name, is an alias
GATE_BLOCKS = {"RNN": 1, "LSTM": 4, "GRU": 3}
TORCH_LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
INITS = ("torch", "nndl")
VOCAB_SIZE = 10   # digits 0..9
NUM_CLASSES = 19  # sums 0..18
_ADAM_OPTIONS = {"fused": True}   # one kernel per parameter; same update rule as the default Adam
PARAM_NAMES = ("embedding", "weight_ih", "weight_hh", "bias_ih", "bias_hh",
               "classifier_weight", "classifier_bias")


def check_cell(cell: str) -> str:
    """The canonical cell name, 'RNN', 'LSTM' or 'GRU' (any case; 'srn' is accepted for 'RNN')."""
    name = cell.strip().upper() if isinstance(cell, str) else cell
    name = "RNN" if name == "SRN" else name
    if name not in CELLS:
        raise ValueError(f"Unknown cell {cell!r}: choose one of {', '.join(repr(c) for c in CELLS)} "
                         "(any case; 'RNN' is the simple tanh RNN, torch.nn.RNN, also accepted as 'srn').")
    return name


# ----------------------------------------------------------------------------- the standard model

class DigitSumModel(nn.Module):
    """Embedding(10, E) -> one nn.RNN/LSTM/GRU layer (batch_first) -> last step's h -> Linear(H, 19)."""

    def __init__(self, cell: str = "lstm", embedding_dim: int = 32, hidden_size: int = 32) -> None:
        super().__init__()
        self.cell = check_cell(cell)
        self.embedding = nn.Embedding(VOCAB_SIZE, embedding_dim)
        self.rnn = TORCH_LAYERS[self.cell](embedding_dim, hidden_size, batch_first=True)
        self.classifier = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (batch, 19) for digit sequences x (batch, steps)."""
        outputs, _ = self.rnn(self.embedding(x))   # (batch, steps, hidden)
        return self.classifier(outputs[:, -1])     # (batch, 19)


def make_model(cell: str, seed: int, *, init: str = "torch", embedding_dim: int = 32,
               hidden_size: int = 32) -> DigitSumModel:
    """A DigitSumModel whose initial weights depend only on ``seed`` (global RNG left untouched).

    ``init="torch"``: PyTorch's defaults (embedding N(0, 1); every recurrent weight and both
    biases U(+-1/sqrt(hidden)); classifier U(+-1/sqrt(hidden)) for weight and bias).
    ``init="nndl"``: the book's Paddle defaults, see :func:`nndl_init_`.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS} (PyTorch's defaults or the NNDL book's), got {init!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitSumModel(cell, embedding_dim, hidden_size)
        if init == "nndl":
            nndl_init_(model)
    model.init = init
    return model


def _xavier_uniform_(weight: Tensor, fan_in: int, fan_out: int) -> None:
    """Paddle's XavierUniform for a 2-D parameter of shape [fan_in, fan_out].

    U(+-sqrt(6 / (fan_in + fan_out))).
    """
    bound = (6.0 / (fan_in + fan_out)) ** 0.5
    with torch.no_grad():
        weight.uniform_(-bound, bound)


def nndl_init_(model: DigitSumModel) -> DigitSumModel:
    """Re-initialise ``model`` in place as the book's Paddle code does (uses the global torch RNG).

    The book creates every parameter with ``paddle.create_parameter`` and no initializer,
    which is Xavier-uniform on the parameter's own 2-D shape: the embedding [10, E]
    (bound sqrt(6/(10+E))), each gate's W [E, H] and U [H, H] and its ONE bias [1, H]
    (bound sqrt(6/(1+H)) = 0.43 at H = 32). Its classifier is Paddle's ``nn.Linear``: Xavier
    weight [H, 19], zero bias. torch's layers have two biases per gate; here ``bias_ih``
    holds the book's bias and ``bias_hh`` is zero and frozen (requires_grad False), so the
    model has exactly the book's parameters. For the GRU (not in the book) the same rule.
    """
    rnn, H = model.rnn, model.rnn.hidden_size
    E = model.embedding.embedding_dim
    _xavier_uniform_(model.embedding.weight, VOCAB_SIZE, E)
    for k in range(GATE_BLOCKS[model.cell]):
        block = slice(k * H, (k + 1) * H)
        _xavier_uniform_(rnn.weight_ih_l0[block], E, H)
        _xavier_uniform_(rnn.weight_hh_l0[block], H, H)
        _xavier_uniform_(rnn.bias_ih_l0[block], 1, H)
    with torch.no_grad():
        rnn.bias_hh_l0.zero_()
        model.classifier.bias.zero_()
    rnn.bias_hh_l0.requires_grad_(False)
    _xavier_uniform_(model.classifier.weight, H, NUM_CLASSES)
    return model


def scaled_orthogonal_(model: DigitSumModel, rho: float, seed: int) -> DigitSumModel:
    """Set every gate block of W_hh to rho * Q (Q a random orthogonal matrix from ``seed``), in place.

    Every eigenvalue of rho * Q has modulus rho, so for the RNN the spectral radius of W_hh is rho.
    """
    if not rho > 0:
        raise ValueError(f"rho must be a positive number (the spectral radius), got {rho!r}")
    H = model.rnn.hidden_size
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k in range(GATE_BLOCKS[model.cell]):
            q, r = torch.linalg.qr(torch.randn(H, H, generator=generator, dtype=torch.float64))
            q = q * torch.sign(torch.diagonal(r))          # uniformly distributed orthogonal matrix
            model.rnn.weight_hh_l0[k * H:(k + 1) * H] = rho * q
    return model


def spectral_radius(model: DigitSumModel) -> float:
    """Largest |eigenvalue| of the first gate block of W_hh (the whole W_hh for the RNN)."""
    H = model.rnn.hidden_size
    return torch.linalg.eigvals(model.rnn.weight_hh_l0[:H].detach().double()).abs().max().item()


def epoch_orders(num_examples: int, epochs: int, seed: int, shuffle: bool = True) -> Tensor:
    """Example order of every epoch, (epochs, num_examples): shuffled from ``seed``, or file order.

    Batch ``j`` of epoch ``e`` is ``orders[e, j * batch_size:(j + 1) * batch_size]`` (the last
    batch of an epoch may be smaller), the same for the batched and the one-model trainer.
    ``shuffle=False`` is the book's order (Paddle's DataLoader default): 0..N-1 every epoch.
    """
    if not shuffle:
        return torch.arange(num_examples).repeat(epochs, 1)
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randperm(num_examples, generator=generator) for _ in range(epochs)])


# ----------------------------------------------------------------------------- the book's data files

BOOK_LENGTHS = (5, 10, 15, 20, 25, 30, 35)


@functools.lru_cache(maxsize=1)
def _book_files() -> dict[tuple[int, str], tuple[Tensor, Tensor]]:
    """All of the book's data files, generated in the book's order from numpy's legacy RandomState(0)."""
    rng = np.random.RandomState(0)   # the book calls np.random.seed(0), then np.random.randint
    files = {}
    for length in BOOK_LENGTHS:
        for split, copies in (("train", 3), ("dev", 1), ("test", 1)):
            x = np.zeros((100 * copies, length), dtype=np.int64)
            y = np.zeros(100 * copies, dtype=np.int64)
            row = 0
            for a in range(10):
                for b in range(10):
                    for _ in range(copies):
                        position = rng.randint(2, length)   # first the position, then the digit
                        digit = rng.randint(0, 10)
                        x[row, :2] = a, b
                        x[row, position] = digit
                        y[row] = a + b
                        row += 1
            files[length, split] = (torch.from_numpy(x), torch.from_numpy(y))
    return files


def book_digit_sum_splits(length: int) -> dict[str, tuple[Tensor, Tensor]]:
    """The book's ``datasets/{length}/{train,dev,test}.txt`` as tensors: 300 / 100 / 100 rows in file order.

    The book generates the files once, for lengths 5, 10, ..., 35 in that order, train (3
    copies per pair), dev (1) and test (1) for each, all from ONE numpy stream seeded with 0;
    the same calls in the same order give the same sequences. There is one dataset per length.
    """
    if length not in BOOK_LENGTHS:
        raise ValueError(f"the book has data files for lengths {BOOK_LENGTHS} only, got {length!r}; "
                         "use helpers.data.digit_sum_splits(length, copies, seed) for other lengths")
    files = _book_files()
    return {split: tuple(t.clone() for t in files[length, split]) for split in ("train", "dev", "test")}


# ----------------------------------------------------------------------------- recurrences with BPTT
#
# All per-step tensors live in a _Workspace allocated once per (batch size, dtype,
# device) and reused by every training step: fresh multi-megabyte buffers each step cost
# more (page faults) than the arithmetic. Buffers are laid out (steps, M, batch, features),
# so each step works on contiguous (models, batch, features) blocks. The views each step needs are
# built once, so the loops below only launch kernels. Parts of a buffer that belong to a
# model's padded steps are never written and stay zero.

def _active_counts(lengths: Sequence[int]) -> list[int]:
    """counts[t] = number of models whose sequence is longer than t (lengths non-increasing)."""
    return [sum(1 for n in lengths if n > t) for t in range(lengths[0])]


class _Workspace:
    """Reusable buffers and per-step views for one (cell, lengths, batch, hidden, dtype, device)."""

    def __init__(self, cell: str, lengths: tuple[int, ...], batch: int, hidden: int,
                 dtype: torch.dtype, device: torch.device) -> None:
        M, T, B, H = len(lengths), lengths[0], batch, hidden
        G = GATE_BLOCKS[cell] * H
        self.cell, self.shape, self.busy = cell, (M, T, B, H, G), False
        self.counts = _active_counts(lengths)
        self.starts = [(self.counts[t + 1] if t + 1 < T else 0, self.counts[t]) for t in range(T)]
        self.last = (torch.arange(M, device=device), torch.tensor(lengths, device=device))

        def zeros(*shape: int) -> Tensor:
            return torch.zeros(*shape, dtype=dtype, device=device)

        self.zeros = zeros
        self.xp = zeros(T, M, B, G)          # input projections of every step
        self.w_t = zeros(M, H, G)            # W_hh^T (forward)
        self.w = zeros(M, G, H)              # W_hh   (backward)
        self.bias = zeros(M, 1, G)           # b_hh (GRU only)
        self.hs = zeros(T + 1, M, B, H)      # hs[t + 1] = H_t, hs[0] = 0
        self.acts = zeros(T, M, B, G)        # gate activations
        self.extra = zeros(T, M, B, H)       # LSTM tanh(C_t); GRU H_{t-1} - N_t
        self.cs = zeros(T + 1, M, B, H) if cell == "LSTM" else None
        self.ghs = zeros(T, M, B, G) if cell == "GRU" else None
        self.fwd = [self._forward_views(t) for t in range(T)]
        self.bwd = None                      # backward buffers: allocated on the first backward

    def _forward_views(self, t: int) -> tuple:
        k, H = self.counts[t], self.shape[3]
        x, a, hp, hn = self.xp[t, :k], self.acts[t, :k], self.hs[t, :k], self.hs[t + 1, :k]
        if self.cell == "RNN":
            return x, hp, self.w_t[:k], hn
        if self.cell == "LSTM":   # gate blocks [I, F, O, C_tilde]
            return (x, hp, self.w_t[:k], a, a[..., :3 * H], a[..., 3 * H:], a[..., :H], a[..., H:2 * H],
                    a[..., 2 * H:3 * H], a[..., 3 * H:], self.cs[t, :k], self.cs[t + 1, :k],
                    self.extra[t, :k], hn)
        gh = self.ghs[t, :k]      # GRU blocks [R, Z, N]
        return (self.bias[:k], hp, self.w_t[:k], gh, x[..., :2 * H], gh[..., :2 * H], a[..., :2 * H],
                x[..., 2 * H:], a[..., :H], gh[..., 2 * H:], a[..., 2 * H:], a[..., H:2 * H],
                self.extra[t, :k], hn)

    def backward_views(self) -> list[tuple]:
        """Allocate the backward buffers once and return the per-step views (time reversed)."""
        if self.bwd is not None:
            return self.bwd
        M, T, B, H, G = self.shape
        zeros = self.zeros
        self.dpre = zeros(T, M, B, G)        # dL/d(x-side pre-activations) of every step
        self.dgh = zeros(T, M, B, G) if self.cell == "GRU" else None
        self.dh, self.dc = zeros(M, B, H), zeros(M, B, H)
        self.dact = zeros(M, B, G)
        self.tmp1, self.tmp2, self.tmp3 = zeros(M, B, H), zeros(M, B, H), zeros(M, B, 2 * H)
        self.ones = torch.ones_like(self.dh)
        self.h_by_model, self.d_by_model = zeros(M, T, B, H), zeros(M, T, B, G)   # for dW_hh
        views = []
        for t in range(T - 1, -1, -1):
            k = self.counts[t]
            common = (t, self.dh[:k], self.ones[:k], self.w[:k], self.dpre[t, :k],
                      self.tmp1[:k], self.tmp2[:k])
            a, p = self.acts[t, :k], self.dpre[t, :k]
            if self.cell == "RNN":
                views.append((*common, self.hs[t + 1, :k]))
            elif self.cell == "LSTM":
                d = self.dact[:k]
                views.append((*common, self.dc[:k], a[..., :3 * H], a[..., :H], a[..., H:2 * H],
                              a[..., 2 * H:3 * H], a[..., 3 * H:], self.extra[t, :k], self.cs[t, :k],
                              d[..., :3 * H], d[..., :H], d[..., H:2 * H], d[..., 2 * H:3 * H],
                              d[..., 3 * H:], p[..., :3 * H], p[..., 3 * H:]))
            else:
                ph = self.dgh[t, :k]
                views.append((*common, a[..., :2 * H], a[..., :H], a[..., H:2 * H], a[..., 2 * H:],
                              self.extra[t, :k], self.ghs[t, :k, :, 2 * H:], p[..., :H], p[..., H:2 * H],
                              p[..., :2 * H], p[..., 2 * H:], ph, ph[..., :2 * H], ph[..., 2 * H:],
                              self.tmp3[:k]))
        self.bwd = views
        return views

    def final_states(self) -> Tensor:
        """Each model's hidden state at its own last step, (M, B, H) (a copy)."""
        return self.hs[self.last[1], self.last[0]]


def _run_forward(ws: _Workspace) -> None:
    """The recurrence over all steps, in place in the workspace."""
    if ws.cell == "RNN":
        for x, hp, w_t, hn in ws.fwd:
            torch.baddbmm(x, hp, w_t, out=hn).tanh_()                         # H_t
    elif ws.cell == "LSTM":
        for x, hp, w_t, a, sig, tnh, i, f, o, g, cp, c, tc, hn in ws.fwd:
            torch.baddbmm(x, hp, w_t, out=a)                                   # pre-activations
            sig.sigmoid_()                                                     # I, F, O
            tnh.tanh_()                                                        # C_tilde
            torch.mul(f, cp, out=c).addcmul_(i, g)                             # C_t = F C_{t-1} + I C_tilde
            torch.mul(o, torch.tanh(c, out=tc), out=hn)                        # H_t = O tanh(C_t)
    else:
        for b, hp, w_t, gh, x_rz, gh_rz, rz, x_n, r, gh_n, n, z, diff, hn in ws.fwd:
            torch.baddbmm(b, hp, w_t, out=gh)                                  # H_{t-1} W_hh^T + b_hh
            torch.add(x_rz, gh_rz, out=rz).sigmoid_()                          # R, Z
            torch.addcmul(x_n, r, gh_n, out=n).tanh_()                         # N
            torch.addcmul(n, z, torch.sub(hp, n, out=diff), out=hn)            # H_t = N + Z (H_{t-1} - N)


def _run_backward(ws: _Workspace, grad_final: Tensor) -> None:
    """Backpropagation through time; fills ws.dpre (and ws.dgh for the GRU)."""
    views = ws.backward_views()
    ws.dh.zero_()
    ws.dc.zero_()
    for view in views:
        t, dh, ones, w, p, tmp1, tmp2 = view[:7]
        lo, hi = ws.starts[t]
        if hi > lo:   # models whose last step is t start here with dL/dH_last
            ws.dh[lo:hi] = grad_final[lo:hi]
        if ws.cell == "RNN":
            h = view[7]
            torch.addcmul(ones, h, h, value=-1, out=p).mul_(dh)                # dL/d(pre_t)
            torch.bmm(p, w, out=dh)                                            # dL/dH_{t-1}
        elif ws.cell == "LSTM":
            dc, sig, i, f, o, g, tc, cp, d_sig, d_i, d_f, d_o, d_g, p_sig, p_g = view[7:]
            torch.mul(dh, tc, out=d_o)                                         # dO
            torch.addcmul(ones, tc, tc, value=-1, out=tmp2)
            dc.addcmul_(torch.mul(dh, o, out=tmp1), tmp2)                      # dC_t
            torch.mul(dc, g, out=d_i)                                          # dI
            torch.mul(dc, cp, out=d_f)                                         # dF
            torch.mul(dc, i, out=d_g)                                          # dC_tilde
            dc.mul_(f)                                                         # dC_{t-1}
            torch.addcmul(sig, sig, sig, value=-1, out=p_sig).mul_(d_sig)      # sigmoid'
            torch.addcmul(ones, g, g, value=-1, out=p_g).mul_(d_g)             # tanh'
            torch.bmm(p, w, out=dh)                                            # dH_{t-1}
        else:
            rz, r, z, n, diff, gh_n, p_r, p_z, p_rz, p_n, ph, ph_rz, ph_n, tmp3 = view[7:]
            torch.mul(dh, diff, out=p_z)                                       # dZ
            torch.addcmul(dh, dh, z, value=-1, out=p_n)                        # dN
            p_n.mul_(torch.addcmul(ones, n, n, value=-1, out=tmp1))            # d(pre N)
            torch.mul(p_n, gh_n, out=p_r)                                      # dR
            p_rz.mul_(torch.addcmul(rz, rz, rz, value=-1, out=tmp3))           # d(pre R), d(pre Z)
            ph_rz.copy_(p_rz)
            torch.mul(p_n, r, out=ph_n)                                        # d(W_hn H + b_hn)
            torch.baddbmm(torch.mul(dh, z, out=tmp2), ph, w, out=dh)           # dH_{t-1}


class _Scan(torch.autograd.Function):
    """Gather the input projections, run the recurrence, return every model's last-step state."""

    @staticmethod
    def forward(ctx, table: Tensor, tokens: Tensor, w_t: Tensor, b_hh: Tensor, ws: _Workspace) -> Tensor:
        M, T, B, H, G = ws.shape
        torch.index_select(table, 0, tokens, out=ws.xp.view(-1, G))          # (T*M*B, G)
        ws.w_t.copy_(w_t)
        ws.w.copy_(w_t.transpose(1, 2))
        if ws.cell == "GRU":
            ws.bias.copy_(b_hh.unsqueeze(1))
        _run_forward(ws)
        ctx.ws, ctx.table_rows = ws, table.shape[0]
        ctx.save_for_backward(tokens)
        return ws.final_states()                                               # (M, B, H)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_final: Tensor):
        ws = ctx.ws
        (tokens,) = ctx.saved_tensors
        M, T, B, H, G = ws.shape
        try:
            _run_backward(ws, grad_final)
            h_prev = ws.h_by_model.copy_(ws.hs[:T].transpose(0, 1))           # H_{t-1}, (M, T, B, H)
            d_hidden = ws.d_by_model.copy_((ws.dgh if ws.cell == "GRU" else ws.dpre).transpose(0, 1))
            grad_w_t = torch.bmm(h_prev.view(M, T * B, H).transpose(1, 2), d_hidden.view(M, T * B, G))
            grad_table = ws.dpre.new_zeros(ctx.table_rows, G).index_add_(0, tokens, ws.dpre.view(-1, G))
            grad_b = ws.dgh.sum(dim=(0, 2)) if ws.cell == "GRU" else None
        finally:
            ws.busy = False
        return grad_table, None, grad_w_t, grad_b, None


# ----------------------------------------------------------------------------- the readable version

def stacked_forward(p: dict[str, Tensor], x: Tensor, lengths: Sequence[int], cell: str) -> Tensor:
    """Logits (M, B, 19) of M models whose weights are stacked on a leading axis; plain autograd.

    ``p`` holds the BatchedDigitSum parameters (torch's gate order); ``x`` is (M, B, T) with
    model m read at its own last step ``lengths[m] - 1``. The fast path computes the same.
    """
    M, B, T = x.shape
    H = p["weight_hh"].shape[-1]
    e = p["embedding"][torch.arange(M).view(M, 1, 1), x]                        # (M, B, T, E)
    xp = e @ p["weight_ih"].transpose(1, 2).unsqueeze(1) + p["bias_ih"].view(M, 1, 1, -1)  # (M, B, T, G*H)
    h = c = e.new_zeros(M, B, H)
    states = []
    for t in range(max(lengths)):
        hp = torch.baddbmm(p["bias_hh"].unsqueeze(1), h, p["weight_hh"].transpose(1, 2))  # (M, B, G*H)
        if cell == "RNN":
            h = torch.tanh(xp[:, :, t] + hp)
        elif cell == "LSTM":                                                    # torch order i, f, g, o
            i, f, g, o = (xp[:, :, t] + hp).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:                                                                   # GRU, torch order r, z, n
            (xr, xz, xn), (hr, hz, hn) = xp[:, :, t].chunk(3, dim=-1), hp.chunk(3, dim=-1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)
            h = (1 - z) * n + z * h
        states.append(h)
    last = torch.stack(states)[torch.tensor(lengths) - 1, torch.arange(M)]     # (M, B, H)
    return torch.baddbmm(p["classifier_bias"].unsqueeze(1), last, p["classifier_weight"].transpose(1, 2))


ENGINES = ("bptt", "autograd")


# ----------------------------------------------------------------------------- the batched model

class BatchedDigitSum(nn.Module):
    """M digit-sum models of one cell type, every weight with a leading model axis M.

    Parameter shapes (G = gate blocks: SRN 1, LSTM 4, GRU 3; torch's gate order):
    embedding (M, 10, E), weight_ih (M, G*H, E), weight_hh (M, G*H, H), bias_ih and
    bias_hh (M, G*H), classifier_weight (M, 19, H), classifier_bias (M, 19).
    ``lengths[m]`` is model m's sequence length; lengths must be non-increasing.
    """

    def __init__(self, models: Sequence[DigitSumModel], lengths: Sequence[int], engine: str = "bptt") -> None:
        super().__init__()
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES} (hand-written BPTT or plain autograd), "
                             f"got {engine!r}")
        self.engine = engine
        if len(models) == 0 or len(models) != len(lengths):
            raise ValueError(f"need one length per model, got {len(models)} models, {len(lengths)} lengths")
        lengths = tuple(int(n) for n in lengths)
        if any(a < b for a, b in zip(lengths[:-1], lengths[1:], strict=True)) or lengths[-1] < 1:
            raise ValueError(f"lengths must be positive and non-increasing (sort the models), got {lengths}")
        cells = {m.cell for m in models}
        if len(cells) != 1:
            raise ValueError(f"all models must have the same cell type, got {sorted(cells)}")
        self.cell = cells.pop()
        self.lengths = lengths
        self.embedding_dim = models[0].embedding.embedding_dim
        self.hidden_size = models[0].rnn.hidden_size
        for name in PARAM_NAMES:
            trainable = {bool(_flat_state(m)[name].requires_grad) for m in models}
            if len(trainable) != 1:
                raise ValueError(f"{name} is trainable in some models and frozen in others: "
                                 "build all models with the same init")
            stacked = torch.stack([_flat_state(m)[name].detach() for m in models])
            self.register_parameter(name, nn.Parameter(stacked.clone(), requires_grad=trainable.pop()))
        if self.cell == "LSTM":   # torch order [i, f, g, o] -> ours [i, f, o, g]
            H = self.hidden_size
            perm = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
            self.register_buffer("gate_perm", perm, persistent=False)
        self._workspaces: dict[tuple, _Workspace] = {}

    @property
    def num_models(self) -> int:
        return len(self.lengths)

    def _workspace(self, batch: int, for_backward: bool) -> _Workspace:
        """The cached workspace for this batch size, or a fresh one while the cached one is in use."""
        p = self.embedding
        key = (batch, p.dtype, p.device)
        ws = self._workspaces.get(key)
        if ws is None or ws.busy:
            ws = _Workspace(self.cell, self.lengths, batch, self.hidden_size, p.dtype, p.device)
            self._workspaces.setdefault(key, ws)
        ws.busy = ws.busy or for_backward
        return ws

    def forward(self, x: Tensor) -> Tensor:
        """Logits (M, B, 19) for x (M, B, T >= max length), model m read at step lengths[m]."""
        M, B, T = x.shape
        if M != self.num_models or T < self.lengths[0]:
            raise ValueError(f"x must be (M={self.num_models}, batch, steps >= {self.lengths[0]}), "
                             f"got {tuple(x.shape)}")
        if self.engine == "autograd":
            return stacked_forward(dict(self.named_parameters()), x, self.lengths, self.cell)
        bias = self.bias_ih if self.cell == "GRU" else self.bias_ih + self.bias_hh
        table = torch.baddbmm(bias.unsqueeze(1), self.embedding, self.weight_ih.transpose(1, 2))  # (M,10,GH)
        w_t = self.weight_hh.transpose(1, 2)                                                   # (M, H, GH)
        if self.cell == "LSTM":
            table, w_t = table.index_select(2, self.gate_perm), w_t.index_select(2, self.gate_perm)
        offsets = (torch.arange(M, device=x.device) * VOCAB_SIZE).view(1, M, 1)
        tokens = (x[:, :, :self.lengths[0]].permute(2, 0, 1) + offsets).reshape(-1)           # (T*M*B,)
        ws = self._workspace(B, for_backward=torch.is_grad_enabled())
        h_last = _Scan.apply(table.reshape(M * VOCAB_SIZE, -1), tokens, w_t, self.bias_hh, ws)  # (M, B, H)
        W_out, b_out = self.classifier_weight, self.classifier_bias
        return torch.baddbmm(b_out.unsqueeze(1), h_last, W_out.transpose(1, 2))               # (M, B, 19)

    def to_model(self, m: int) -> DigitSumModel:
        """Model m as a standard DigitSumModel (weights copied, on the CPU, same dtype)."""
        if not 0 <= m < self.num_models:
            raise ValueError(f"model index must be in 0..{self.num_models - 1}, got {m}")
        model = DigitSumModel(self.cell, self.embedding_dim, self.hidden_size).to(self.embedding.dtype)
        state = {name: getattr(self, name)[m].detach().cpu().clone() for name in PARAM_NAMES}
        model.load_state_dict(_nested_state(state))
        model.rnn.bias_hh_l0.requires_grad_(self.bias_hh.requires_grad)
        return model


def _flat_state(model: DigitSumModel) -> dict[str, Tensor]:
    """DigitSumModel weights under BatchedDigitSum's parameter names."""
    return {"embedding": model.embedding.weight, "weight_ih": model.rnn.weight_ih_l0,
            "weight_hh": model.rnn.weight_hh_l0, "bias_ih": model.rnn.bias_ih_l0,
            "bias_hh": model.rnn.bias_hh_l0, "classifier_weight": model.classifier.weight,
            "classifier_bias": model.classifier.bias}


def _nested_state(flat: dict[str, Tensor]) -> dict[str, Tensor]:
    """BatchedDigitSum parameter names -> DigitSumModel state_dict keys."""
    keys = {"embedding": "embedding.weight", "weight_ih": "rnn.weight_ih_l0", "weight_hh": "rnn.weight_hh_l0",
            "bias_ih": "rnn.bias_ih_l0", "bias_hh": "rnn.bias_hh_l0",
            "classifier_weight": "classifier.weight", "classifier_bias": "classifier.bias"}
    return {keys[name]: value for name, value in flat.items()}


@torch.no_grad()
def evaluate(model: BatchedDigitSum, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Per-model mean cross-entropy and accuracy, each (M,), on x (M, N, T), y (M, N)."""
    logits = model(x)                                                            # (M, N, 19)
    loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(y.shape).mean(1)
    accuracy = (logits.argmax(-1) == y).to(logits.dtype).mean(1)
    return loss, accuracy


# ----------------------------------------------------------------------------- training

@dataclass(frozen=True)
class TrainConfig:
    """The book's hyper-parameters (NNDL 6.1/6.3): Adam 1e-3, batch 8, 500 epochs, dev every 100 steps.

    ``shuffle=True`` reshuffles the training set every epoch (seeded per model);
    ``shuffle=False`` is the book's file order (Paddle's DataLoader default).
    """

    epochs: int = 500
    batch_size: int = 8
    lr: float = 1e-3
    eval_every: int = 100
    embedding_dim: int = 32
    hidden_size: int = 32
    shuffle: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.shuffle, bool):
            raise ValueError(f"TrainConfig.shuffle must be True or False, got {self.shuffle!r}")
        for name in ("epochs", "batch_size", "eval_every", "embedding_dim", "hidden_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")


@dataclass
class SweepResult:
    """Everything one batched run produced; model m trained on length lengths[m] with seed seeds[m]."""

    cell: str
    lengths: list[int]
    seeds: list[int]
    config: dict
    train_loss: np.ndarray       # (steps, M) mean training loss of every step's batch
    steps_per_epoch: int
    eval_steps: np.ndarray       # (n_eval,) optimizer steps after which dev was evaluated
    dev_loss: np.ndarray         # (n_eval, M)
    dev_accuracy: np.ndarray     # (n_eval, M)
    best_step: np.ndarray        # (M,) step of the kept (best-dev) weights
    best_dev_accuracy: np.ndarray
    test_loss: np.ndarray        # (M,) of the kept weights
    test_accuracy: np.ndarray
    best_state: dict[str, Tensor] = field(repr=False)    # kept BatchedDigitSum parameters, CPU
    final_state: dict[str, Tensor] = field(repr=False)   # parameters after the last step, CPU
    wall_time: float = 0.0
    init: str = "torch"          # the models' initialisation ("custom" when they disagree or were edited)
    data: str = "seeded"         # "seeded" (digit_sum_splits per seed) or "book" (the book's files)
    rhos: list[float] | None = None   # model m's W_hh blocks were set to rhos[m] * Q (scaled_orthogonal_)

    def index(self, length: int, seed: int) -> int:
        """Position m of the model trained on (length, seed)."""
        for m, (n, s) in enumerate(zip(self.lengths, self.seeds, strict=True)):
            if (n, s) == (length, seed):
                return m
        raise ValueError(f"no model with length {length} and seed {seed}; have {sorted(set(self.lengths))} "
                         f"x {sorted(set(self.seeds))}")

    def model(self, length: int, seed: int) -> DigitSumModel:
        """The kept (best-dev) weights of model (length, seed) as a standard DigitSumModel."""
        m = self.index(length, seed)
        model = DigitSumModel(self.cell, self.config["embedding_dim"], self.config["hidden_size"])
        model = model.to(self.best_state["embedding"].dtype)
        model.load_state_dict(_nested_state({k: v[m].clone() for k, v in self.best_state.items()}))
        return model.eval()

    def epoch_train_loss(self) -> np.ndarray:
        """Training loss averaged over each epoch's batches, (epochs, M)."""
        steps, M = self.train_loss.shape
        return self.train_loss.reshape(steps // self.steps_per_epoch, self.steps_per_epoch, M).mean(1)

    def table(self):
        """One row per model: cell, init, length, seed, best step, dev and test accuracy (a DataFrame)."""
        import pandas as pd
        extra = {} if self.rhos is None else {"rho": self.rhos}
        return pd.DataFrame({"cell": self.cell, "init": self.init, **extra, "length": self.lengths,
                             "seed": self.seeds,
                             "best_step": self.best_step, "dev_accuracy": self.best_dev_accuracy,
                             "test_accuracy": self.test_accuracy})


def _pad_stack(tensors: Sequence[Tensor], steps: int) -> Tensor:
    """Stack (N, L_m) int tensors into (M, N, steps), right-padded with zeros."""
    return torch.stack([F.pad(t, (0, steps - t.shape[1])) for t in tensors])


def train_batched(models: Sequence[DigitSumModel], lengths: Sequence[int], seeds: Sequence[int],
                  splits: Sequence[dict[str, tuple[Tensor, Tensor]]], config: TrainConfig = TrainConfig(),
                  *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
                  order_seeds: Sequence[int] | None = None, engine: str = "bptt") -> SweepResult:
    """Train M models at once (see the module docstring); keep each model's best-dev weights.

    ``splits[m]`` = {"train": (x, y), "dev": ..., "test": ...} with x (N, lengths[m]); every
    model needs the same number of training examples. Model m's batch order is
    ``epoch_orders(N, epochs, order_seeds[m])`` (default: seeds[m]). Dev accuracy is
    computed after every ``eval_every``-th optimizer step and after the last one; the
    best (ties: the earliest) weights are kept and scored on test. ``engine``: "bptt" (the
    hand-written backward pass, fast) or "autograd" (:func:`stacked_forward`, readable).
    """
    M = len(models)
    if not (M == len(lengths) == len(seeds) == len(splits)) or M == 0:
        raise ValueError("models, lengths, seeds and splits must have the same non-zero length")
    order = sorted(range(M), key=lambda m: -lengths[m])       # stable: longest first
    if order != list(range(M)):
        raise ValueError(f"pass the models in order of non-increasing length, got lengths {list(lengths)}")
    device = torch.device(device) if device is not None else torch.device("cpu")
    order_seeds = list(seeds) if order_seeds is None else list(order_seeds)
    steps_len = lengths[0]
    data = {}
    for name in ("train", "dev", "test"):
        xs = [s[name][0] for s in splits]
        if any(x.shape[1] != n for x, n in zip(xs, lengths, strict=True)):
            raise ValueError(f"{name} sequences must have length lengths[m] for every model")
        ys = torch.stack([s[name][1] for s in splits])
        data[name] = (_pad_stack(xs, steps_len).to(device), ys.to(device))
    N = data["train"][0].shape[1]
    # (M, epochs, N)
    orders = torch.stack([epoch_orders(N, config.epochs, s, config.shuffle) for s in order_seeds])
    orders = orders.to(device)

    inits = {getattr(m, "init", "custom") for m in models}
    net = BatchedDigitSum(models, lengths, engine).to(device=device, dtype=dtype)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, **_ADAM_OPTIONS)
    best_state = {k: v.detach().clone() for k, v in net.named_parameters()}
    best_acc = torch.full((M,), -1.0, device=device, dtype=dtype)
    best_step = torch.zeros(M, dtype=torch.long, device=device)
    steps_per_epoch = -(-N // config.batch_size)
    total = steps_per_epoch * config.epochs
    losses, eval_steps, dev_losses, dev_accs = [], [], [], []
    start_time, step = time.perf_counter(), 0
    x_train, y_train = data["train"]
    for epoch in range(config.epochs):
        perm = orders[:, epoch]                                                 # (M, N)
        x_epoch = torch.gather(x_train, 1, perm.unsqueeze(-1).expand(-1, -1, steps_len))
        y_epoch = torch.gather(y_train, 1, perm)
        for begin in range(0, N, config.batch_size):
            xb, yb = x_epoch[:, begin:begin + config.batch_size], y_epoch[:, begin:begin + config.batch_size]
            logits = net(xb)                                                    # (M, b, 19)
            per_model = F.cross_entropy(logits.flatten(0, 1), yb.flatten(), reduction="none")
            per_model = per_model.view(yb.shape).mean(1)                        # (M,)
            optimizer.zero_grad(set_to_none=True)
            per_model.sum().backward()
            optimizer.step()
            losses.append(per_model.detach())
            step += 1
            if step % config.eval_every == 0 or step == total:
                dev_loss, dev_acc = evaluate(net, *data["dev"])
                improved = dev_acc > best_acc
                for name, p in net.named_parameters():
                    mask = improved.view(-1, *([1] * (p.dim() - 1)))
                    best_state[name] = torch.where(mask, p.detach(), best_state[name])
                best_acc = torch.where(improved, dev_acc, best_acc)
                best_step = torch.where(improved, torch.full_like(best_step, step), best_step)
                eval_steps.append(step)
                dev_losses.append(dev_loss)
                dev_accs.append(dev_acc)
    final_state = {k: v.detach().cpu().clone() for k, v in net.named_parameters()}
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(best_state[name])
    test_loss, test_acc = evaluate(net, *data["test"])
    wall = time.perf_counter() - start_time

    def to_np(t: Tensor) -> np.ndarray:
        return t.detach().to("cpu", torch.float64).numpy()

    return SweepResult(
        cell=net.cell, lengths=list(lengths), seeds=list(seeds), config=asdict(config),
        train_loss=to_np(torch.stack(losses)), steps_per_epoch=steps_per_epoch,
        eval_steps=np.array(eval_steps), dev_loss=to_np(torch.stack(dev_losses)),
        dev_accuracy=to_np(torch.stack(dev_accs)), best_step=best_step.cpu().numpy(),
        best_dev_accuracy=to_np(best_acc), test_loss=to_np(test_loss), test_accuracy=to_np(test_acc),
        best_state={k: v.detach().cpu() for k, v in best_state.items()}, final_state=final_state,
        wall_time=wall, init=inits.pop() if len(inits) == 1 else "custom")


def run_sweep(cell: str, lengths: Sequence[int], seeds: Sequence[int], *,
              copies: Sequence[int] = (3, 1, 1), config: TrainConfig = TrainConfig(), init: str = "torch",
              data: str = "seeded", rhos: Sequence[float] | None = None,
              device: torch.device | str | None = None, dtype: torch.dtype = torch.float32,
              engine: str = "bptt") -> SweepResult:
    """Train one ``cell`` model per (length, seed) in ONE batched run.

    Seed s fixes the initial weights (``make_model(cell, s, init=init)``), the batch order
    (``epoch_orders(N, epochs, s, config.shuffle)``) and, with ``data="seeded"``, the data
    (``digit_sum_splits(length, copies, s)``). ``data="book"`` uses the book's files
    (:func:`book_digit_sum_splits`, the same for every seed; ``copies`` must be (3, 1, 1)).
    With ``rhos``, one model per (length, rho, seed) whose W_hh blocks are ``rho * Q``
    (:func:`scaled_orthogonal_` with the model's seed); ``result.rhos`` records each model's rho.
    """
    from helpers.data import digit_sum_splits

    cell = check_cell(cell)
    if len(lengths) == 0 or len(seeds) == 0:
        raise ValueError("give at least one length and one seed")
    if data not in ("seeded", "book"):
        raise ValueError("data must be 'seeded' (digit_sum_splits per seed) or 'book' (the book's files), "
                         f"got {data!r}")
    if data == "book" and tuple(copies) != (3, 1, 1):
        raise ValueError(f"the book's files have copies (3, 1, 1); "
                         f"got copies={tuple(copies)} with data='book'")
    rho_list = [None] if rhos is None else list(rhos)
    triples = [(n, r, s) for n in sorted(set(lengths), reverse=True) for r in rho_list for s in seeds]
    models = []
    for _, rho, s in triples:
        model = make_model(cell, s, init=init, embedding_dim=config.embedding_dim,
                           hidden_size=config.hidden_size)
        models.append(model if rho is None else scaled_orthogonal_(model, rho, seed=s))
    splits = [book_digit_sum_splits(n) if data == "book" else digit_sum_splits(n, copies, s)
              for n, _, s in triples]
    result = train_batched(models, [n for n, _, _ in triples], [s for _, _, s in triples], splits, config,
                           device=device, dtype=dtype, engine=engine)
    result.data, result.init = data, init
    result.rhos = None if rhos is None else [r for _, r, _ in triples]
    return result


def train_one(cell: str, seed: int, split: dict[str, tuple[Tensor, Tensor]],
              config: TrainConfig = TrainConfig(), *, init: str = "torch",
              dtype: torch.dtype = torch.float32) -> DigitSumModel:
    """The plain loop for ONE model: torch's own layer and Adam, the batched trainer's batch order.

    No dev checks: this is the baseline the batched trainer is compared with and timed against.
    """
    model = make_model(cell, seed, init=init, embedding_dim=config.embedding_dim,
                       hidden_size=config.hidden_size)
    model = model.to(dtype)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    x, y = split["train"]
    orders = epoch_orders(len(y), config.epochs, seed, config.shuffle)          # (epochs, N)
    for epoch in range(config.epochs):
        for begin in range(0, len(y), config.batch_size):
            idx = orders[epoch, begin:begin + config.batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def _sweep_worker(args: tuple) -> SweepResult:
    """Run one batched sweep in a worker process (single-threaded)."""
    spec, copies, config = args
    torch.set_num_threads(1)
    return _run_spec(spec, copies, config, torch.device("cpu"))


def _run_spec(spec: dict, copies: Sequence[int], config: TrainConfig, device: torch.device) -> SweepResult:
    """run_sweep for one normalised spec of :func:`sweep`."""
    return run_sweep(spec["cell"], spec["lengths"], spec["seeds"], copies=copies, config=config,
                     init=spec["init"], data=spec["data"], rhos=spec["rhos"], device=device)


def _cost(spec: dict) -> float:
    """Rough relative cost of a spec: model-steps per training step times a per-cell factor."""
    per_cell = {"LSTM": 2.0, "GRU": 2.2, "RNN": 1.0}[spec["cell"]]
    return per_cell * sum(spec["lengths"]) * len(spec["seeds"]) * len(spec["rhos"] or [None])


def sweep(runs: Sequence[str] | dict[str, dict], lengths: Sequence[int], seeds: Sequence[int], *,
          copies: Sequence[int] = (3, 1, 1), config: TrainConfig = TrainConfig(), init: str = "torch",
          data: str = "seeded", device: torch.device | str | None = None,
          processes: int | None = None) -> dict[str, SweepResult]:
    """:func:`run_sweep` for several runs -> {name: SweepResult}.

    ``runs`` is a list of cell types (each run with ``init`` and ``data``), or a dict
    {name: spec} where a spec has a "cell" and may override "init", "data", "lengths",
    "seeds" and add "rhos" (see :func:`run_sweep`). On the CPU with ``processes`` > 1
    (default: one per core, at most one per run) each run trains in its own single-threaded
    process, the most expensive first. On a GPU the runs go one after another in this process.
    """
    if isinstance(runs, dict):
        raw = runs
    else:
        raw = {check_cell(c): {"cell": c} for c in runs}
    specs = {}
    for name, spec in raw.items():
        unknown = set(spec) - {"cell", "init", "data", "lengths", "seeds", "rhos"}
        if "cell" not in spec or unknown:
            raise ValueError(f"run {name!r}: a spec needs 'cell' and may have 'init', 'data', 'lengths', "
                             f"'seeds', 'rhos'; got keys {sorted(spec)}")
        specs[name] = {"init": init, "data": data, "lengths": list(lengths), "seeds": list(seeds),
                       "rhos": None, **spec, "cell": check_cell(spec["cell"])}
    device = torch.device(device) if device is not None else torch.device("cpu")
    if processes is None:
        processes = min(len(specs), os.cpu_count() or 1)
    if device.type != "cpu" or processes <= 1 or len(specs) == 1:
        return {name: _run_spec(spec, copies, config, device) for name, spec in specs.items()}
    import concurrent.futures
    import multiprocessing

    jobs = sorted(specs, key=lambda name: -_cost(specs[name]))
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures = {name: pool.submit(_sweep_worker, (specs[name], tuple(copies), config)) for name in jobs}
        return {name: futures[name].result() for name in specs}
