"""Compare our tensors with torch's: one stable printed line per check, and the raw difference apart.

:func:`compare` prints only the name, the shape(s) and whether the values agree within the given
tolerance, so its line is the same on every machine and nbval can check it. The raw largest
difference depends on the machine's floating-point libraries; get it from :func:`max_abs_diff`
in cells whose output is not checked.

Both accept a tensor or a (nested) tuple/list of tensors, such as an LSTM state ``(h_n, c_n)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

TensorLike = Tensor | Sequence  # a tensor, or a tuple/list of them (nested)


def _leaves(value: TensorLike, what: str) -> list[Tensor]:
    """Flatten a tensor or nested tuple/list of tensors into a list of detached CPU float64 tensors."""
    if isinstance(value, Tensor):
        return [value.detach().to("cpu", torch.float64)]
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaves(item, what)]
    raise TypeError(f"{what} must be a torch.Tensor or a tuple/list of tensors, got {type(value).__name__}")


def _paired(ours: TensorLike, theirs: TensorLike) -> list[tuple[Tensor, Tensor]]:
    """Pair up the tensors of both sides, raising ValueError when counts or shapes differ."""
    a, b = _leaves(ours, "ours"), _leaves(theirs, "theirs")
    shapes_a, shapes_b = [tuple(t.shape) for t in a], [tuple(t.shape) for t in b]
    if shapes_a != shapes_b:
        raise ValueError(f"shape mismatch: ours has shape {_describe(shapes_a)}, theirs has shape "
                         f"{_describe(shapes_b)}; compare tensors of the same shape (check axis order, "
                         f"batch_first, and the (1, batch, hidden) layer axis of h_n)")
    return list(zip(a, b, strict=True))


def _describe(shapes: list[tuple[int, ...]]) -> str:
    """Shapes as text: '(2, 1, 5)' for one tensor, '(1, 2, 5), (1, 2, 5)' for several."""
    return ", ".join(str(shape) for shape in shapes)


def max_abs_diff(a: TensorLike, b: TensorLike) -> float:
    """Largest absolute elementwise difference between a and b (0.0 for empty tensors)."""
    diffs = [(x - y).abs().max().item() for x, y in _paired(a, b) if x.numel() > 0]
    return max(diffs, default=0.0)


def compare(name: str, ours: TensorLike, theirs: TensorLike, atol: float = 1e-6, rtol: float = 0.0) -> bool:
    """Print '<name> shape <shape>  allclose(atol=...): True/False' and return whether all values agree.

    Agreement means ``|ours - theirs| <= atol + rtol * |theirs|`` elementwise (NaN never agrees).
    Both sides are compared in float64, so a float32 result can be checked against a float64
    reference. Raises ValueError when the shapes differ.
    """
    if atol < 0 or rtol < 0:
        raise ValueError(f"atol and rtol must be >= 0, got atol={atol}, rtol={rtol}")
    pairs = _paired(ours, theirs)
    ok = all(torch.allclose(x, y, rtol=rtol, atol=atol) for x, y in pairs)
    tolerance = f"atol={atol:g}" + (f", rtol={rtol:g}" if rtol else "")
    shapes = _describe([tuple(x.shape) for x, _ in pairs])
    print(f"{name:<12} shape {shapes}  allclose({tolerance}): {ok}")
    return ok


def accuracy_on_first_steps(model: torch.nn.Module, X: Tensor, y: Tensor, k: int) -> float:
    """Accuracy of a many-to-one classifier that reads only the first ``k`` steps of ``X``.

    ``X`` is (batch, steps, features), ``y`` (batch,) class labels; the model returns
    (batch, classes) logits. The reference value for chapter 04's exercise 2.
    """
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= X.shape[1]:
        raise ValueError(f"k must be an int between 1 and the number of steps {X.shape[1]}, got {k!r}")
    if len(y) != len(X):
        raise ValueError(f"got {len(X)} sequences but {len(y)} labels; pass one label per sequence")
    model.eval()
    with torch.no_grad():
        predicted = model(X[:, :k]).argmax(dim=-1)  # (batch,)
    return (predicted == y).float().mean().item()
