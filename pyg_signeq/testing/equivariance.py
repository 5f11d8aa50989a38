"""Checks that a PE network respects sign flips and node relabelling.

Each checker draws random transformations from a seeded
:class:`torch.Generator`, runs the function on the original and the
transformed input, and compares the transformed output with the output on
the transformed input. By default both runs happen in float64 on a deep
copy of the module, so that a real symmetry violation (of order one) stands
far above round-off (of order ``1e-15``). A failure raises
:class:`AssertionError` listing the worst absolute error of every drawn
transformation.

Conventions, for ``pe`` of shape ``[N, k]`` or ``[N, k, C]``:

- A sign flip multiplies column ``i`` (dimension 1) by ``s_i`` in
  ``{+1, -1}``. When ``batch`` is given, every graph of the batch draws its
  own signs, since the eigenvectors of separate graphs are defined up to
  separate signs.
- A permutation ``perm`` relabels the nodes: the new node ``j`` is the old
  node ``perm[j]``, so ``pe`` becomes ``pe[perm]``, ``edge_index`` is
  renamed accordingly (and its edges are shuffled, which no message-passing
  network may notice), and a node-level output ``out`` must become
  ``out[perm]``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

# Default tolerances by dtype, as (atol, rtol); the check passes when the
# worst absolute error is at most ``atol + rtol * max |output|``. float64
# leaves round-off around 1e-15, so 1e-10 separates it from any genuine
# violation; float32 accumulates round-off of about 1e-6 relative through a
# few layers, so 1e-4 relative (plus 1e-5 absolute) is the documented bound.
_TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-10, 1e-10),
    torch.float32: (1e-5, 1e-4),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (1e-2, 1e-2),
}

_SIGN_MODES = ("equivariant", "invariant")


def default_tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """Return the default ``(atol, rtol)`` of the checkers for ``dtype``.

    Args:
        dtype (torch.dtype): A floating dtype.

    Returns:
        ``(1e-10, 1e-10)`` for float64, ``(1e-5, 1e-4)`` for float32 and
        ``(1e-2, 1e-2)`` for float16 and bfloat16.
    """
    if dtype not in _TOLERANCES:
        raise ValueError(
            f"'dtype' must be one of {list(_TOLERANCES)}, got {dtype}"
        )
    return _TOLERANCES[dtype]


def assert_sign_equivariant(
    fn: Callable[..., Tensor],
    pe: Tensor,
    edge_index: Tensor,
    *,
    edge_weight: Tensor | None = None,
    batch: Tensor | None = None,
    node_inputs: Mapping[str, Tensor] | None = None,
    num_trials: int = 8,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = torch.float64,
    atol: float | None = None,
    rtol: float | None = None,
) -> dict[str, float]:
    r"""Assert that ``fn`` is sign equivariant: :math:`f(V S) = f(V) S`.

    ``fn`` is called as ``fn(pe, edge_index, **kwargs)``, with
    ``edge_weight``, ``batch`` and the ``node_inputs`` as keyword arguments
    when they are given, and must return a tensor whose first two
    dimensions are ``[N, k]``.

    Args:
        fn (Callable): A module or function.
        pe (torch.Tensor): The eigenvectors, :math:`[N, k]` or
            :math:`[N, k, C]`.
        edge_index (torch.Tensor): The graph connectivity :math:`[2, E]`.
        edge_weight (torch.Tensor, optional): Edge weights :math:`[E]`.
            (default: :obj:`None`)
        batch (torch.Tensor, optional): The graph of every node
            :math:`[N]`; every graph then draws its own signs.
            (default: :obj:`None`)
        node_inputs (Mapping[str, torch.Tensor], optional): Further
            node-level keyword arguments of ``fn`` (such as node features
            ``x``), left unchanged by sign flips and permuted with the
            nodes. (default: :obj:`None`)
        num_trials (int): The number of random transformations.
            (default: :obj:`8`)
        generator (torch.Generator, optional): The source of randomness.
            (default: :obj:`None`, a generator seeded with 0)
        dtype (torch.dtype, optional): The dtype to compute in; a module is
            deep-copied and cast, the caller's module is never changed.
            :obj:`None` computes in the given dtypes.
            (default: :obj:`torch.float64`)
        atol (float, optional): The absolute tolerance.
            (default: :obj:`None`, :func:`default_tolerance`)
        rtol (float, optional): The tolerance relative to the largest
            output entry. (default: :obj:`None`, :func:`default_tolerance`)

    Returns:
        The worst absolute error of every trial, by a description of its
        transformation.

    Raises:
        AssertionError: If an error exceeds the tolerance.
    """
    return _check(
        fn,
        pe,
        edge_index,
        edge_weight,
        batch,
        node_inputs,
        sign="equivariant",
        permute=False,
        num_trials=num_trials,
        generator=generator,
        dtype=dtype,
        atol=atol,
        rtol=rtol,
        name="sign equivariant, f(V S) = f(V) S",
    )


def assert_sign_invariant(
    fn: Callable[..., Tensor],
    pe: Tensor,
    edge_index: Tensor,
    *,
    edge_weight: Tensor | None = None,
    batch: Tensor | None = None,
    node_inputs: Mapping[str, Tensor] | None = None,
    num_trials: int = 8,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = torch.float64,
    atol: float | None = None,
    rtol: float | None = None,
) -> dict[str, float]:
    r"""Assert that ``fn`` is sign invariant: :math:`f(V S) = f(V)`.

    The output may have any shape. See :func:`assert_sign_equivariant` for
    the arguments in full.

    Args:
        fn (Callable): A module or function.
        pe (torch.Tensor): The eigenvectors, :math:`[N, k]` or
            :math:`[N, k, C]`.
        edge_index (torch.Tensor): The graph connectivity :math:`[2, E]`.
        edge_weight (torch.Tensor, optional): Edge weights :math:`[E]`.
            (default: :obj:`None`)
        batch (torch.Tensor, optional): The graph of every node
            :math:`[N]`. (default: :obj:`None`)
        node_inputs (Mapping[str, torch.Tensor], optional): Further
            node-level keyword arguments of ``fn``. (default: :obj:`None`)
        num_trials (int): The number of random transformations.
            (default: :obj:`8`)
        generator (torch.Generator, optional): The source of randomness.
            (default: :obj:`None`, a generator seeded with 0)
        dtype (torch.dtype, optional): The dtype to compute in.
            (default: :obj:`torch.float64`)
        atol (float, optional): The absolute tolerance.
            (default: :obj:`None`, :func:`default_tolerance`)
        rtol (float, optional): The relative tolerance.
            (default: :obj:`None`, :func:`default_tolerance`)

    Returns:
        The worst absolute error of every trial, by a description of its
        transformation.

    Raises:
        AssertionError: If an error exceeds the tolerance.
    """
    return _check(
        fn,
        pe,
        edge_index,
        edge_weight,
        batch,
        node_inputs,
        sign="invariant",
        permute=False,
        num_trials=num_trials,
        generator=generator,
        dtype=dtype,
        atol=atol,
        rtol=rtol,
        name="sign invariant, f(V S) = f(V)",
    )


def assert_permutation_equivariant(
    fn: Callable[..., Tensor],
    pe: Tensor,
    edge_index: Tensor,
    *,
    edge_weight: Tensor | None = None,
    batch: Tensor | None = None,
    node_inputs: Mapping[str, Tensor] | None = None,
    num_trials: int = 8,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = torch.float64,
    atol: float | None = None,
    rtol: float | None = None,
) -> dict[str, float]:
    r"""Assert that ``fn`` is node-permutation equivariant.

    Checks :math:`f(P V) = P f(V)` with ``edge_index`` relabelled by
    :math:`P` (and its edges shuffled). The output must be node-level, with
    first dimension :math:`N`. See :func:`assert_sign_equivariant` for the
    arguments in full.

    Args:
        fn (Callable): A module or function.
        pe (torch.Tensor): The eigenvectors, :math:`[N, k]` or
            :math:`[N, k, C]`.
        edge_index (torch.Tensor): The graph connectivity :math:`[2, E]`.
        edge_weight (torch.Tensor, optional): Edge weights :math:`[E]`.
            (default: :obj:`None`)
        batch (torch.Tensor, optional): The graph of every node
            :math:`[N]`. (default: :obj:`None`)
        node_inputs (Mapping[str, torch.Tensor], optional): Further
            node-level keyword arguments of ``fn``, permuted with the
            nodes. (default: :obj:`None`)
        num_trials (int): The number of random transformations.
            (default: :obj:`8`)
        generator (torch.Generator, optional): The source of randomness.
            (default: :obj:`None`, a generator seeded with 0)
        dtype (torch.dtype, optional): The dtype to compute in.
            (default: :obj:`torch.float64`)
        atol (float, optional): The absolute tolerance.
            (default: :obj:`None`, :func:`default_tolerance`)
        rtol (float, optional): The relative tolerance.
            (default: :obj:`None`, :func:`default_tolerance`)

    Returns:
        The worst absolute error of every trial, by a description of its
        transformation.

    Raises:
        AssertionError: If an error exceeds the tolerance.
    """
    return _check(
        fn,
        pe,
        edge_index,
        edge_weight,
        batch,
        node_inputs,
        sign=None,
        permute=True,
        num_trials=num_trials,
        generator=generator,
        dtype=dtype,
        atol=atol,
        rtol=rtol,
        name="permutation equivariant, f(P V) = P f(V)",
    )


def assert_equivariant(
    fn: Callable[..., Tensor],
    pe: Tensor,
    edge_index: Tensor,
    *,
    sign: str = "equivariant",
    edge_weight: Tensor | None = None,
    batch: Tensor | None = None,
    node_inputs: Mapping[str, Tensor] | None = None,
    num_trials: int = 8,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = torch.float64,
    atol: float | None = None,
    rtol: float | None = None,
) -> dict[str, float]:
    r"""Assert both symmetries at once, with one joint transformation.

    With ``sign="equivariant"`` it checks :math:`f(P V S) = P f(V) S`, with
    ``sign="invariant"`` :math:`f(P V S) = P f(V)`. Each trial draws one
    sign flip and one permutation and applies both.

    Args:
        fn (Callable): A module or function, called as
            ``fn(pe, edge_index, **kwargs)``.
        pe (torch.Tensor): The eigenvectors, :math:`[N, k]` or
            :math:`[N, k, C]`.
        edge_index (torch.Tensor): The graph connectivity :math:`[2, E]`.
        sign (str): ``"equivariant"`` or ``"invariant"``.
            (default: :obj:`"equivariant"`)
        edge_weight (torch.Tensor, optional): Edge weights :math:`[E]`.
            (default: :obj:`None`)
        batch (torch.Tensor, optional): The graph of every node
            :math:`[N]`; every graph then draws its own signs.
            (default: :obj:`None`)
        node_inputs (Mapping[str, torch.Tensor], optional): Further
            node-level keyword arguments of ``fn``, permuted with the nodes
            and never sign-flipped. (default: :obj:`None`)
        num_trials (int): The number of random transformations.
            (default: :obj:`8`)
        generator (torch.Generator, optional): The source of randomness.
            (default: :obj:`None`, a generator seeded with 0)
        dtype (torch.dtype, optional): The dtype to compute in, on a cast
            deep copy of a module. (default: :obj:`torch.float64`)
        atol (float, optional): The absolute tolerance.
            (default: :obj:`None`, :func:`default_tolerance`)
        rtol (float, optional): The tolerance relative to the largest
            output entry. (default: :obj:`None`, :func:`default_tolerance`)

    Returns:
        The worst absolute error of every trial, by a description of its
        transformation.

    Raises:
        AssertionError: If an error exceeds the tolerance.
    """
    if sign not in _SIGN_MODES:
        raise ValueError(f"'sign' must be one of {_SIGN_MODES}, got {sign!r}")
    symmetry = "P f(V) S" if sign == "equivariant" else "P f(V)"
    return _check(
        fn,
        pe,
        edge_index,
        edge_weight,
        batch,
        node_inputs,
        sign=sign,
        permute=True,
        num_trials=num_trials,
        generator=generator,
        dtype=dtype,
        atol=atol,
        rtol=rtol,
        name=f"sign {sign} and permutation equivariant, f(P V S) = {symmetry}",
    )


def _check(
    fn: Callable[..., Tensor],
    pe: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor | None,
    batch: Tensor | None,
    node_inputs: Mapping[str, Tensor] | None,
    *,
    sign: str | None,
    permute: bool,
    num_trials: int,
    generator: torch.Generator | None,
    dtype: torch.dtype | None,
    atol: float | None,
    rtol: float | None,
    name: str,
) -> dict[str, float]:
    node_inputs = dict(node_inputs or {})
    _validate(fn, pe, edge_index, edge_weight, batch, node_inputs, num_trials)
    # Gradients play no part in the comparison; without them the two calls
    # per trial need less memory.
    with torch.no_grad():
        return _compare(
            fn,
            pe,
            edge_index,
            edge_weight,
            batch,
            node_inputs,
            sign=sign,
            permute=permute,
            num_trials=num_trials,
            generator=generator,
            dtype=dtype,
            atol=atol,
            rtol=rtol,
            name=name,
        )


def _compare(
    fn: Callable[..., Tensor],
    pe: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor | None,
    batch: Tensor | None,
    node_inputs: dict[str, Tensor],
    *,
    sign: str | None,
    permute: bool,
    num_trials: int,
    generator: torch.Generator | None,
    dtype: torch.dtype | None,
    atol: float | None,
    rtol: float | None,
    name: str,
) -> dict[str, float]:
    if generator is None:
        generator = torch.Generator().manual_seed(0)

    if dtype is not None:
        fn, pe, edge_weight, node_inputs = _cast(
            fn, pe, edge_weight, node_inputs, dtype
        )
    work_dtype = pe.dtype
    default_atol, default_rtol = default_tolerance(work_dtype)
    atol = default_atol if atol is None else atol
    rtol = default_rtol if rtol is None else rtol

    num_nodes, k = pe.size(0), pe.size(1)
    num_graphs = 1 if batch is None else int(batch.max()) + 1
    out = _call(fn, pe, edge_index, edge_weight, batch, node_inputs)
    _check_output(out, num_nodes, k, sign, permute)

    errors: dict[str, float] = {}
    for trial in range(num_trials):
        pe_t, out_expected = pe, out
        description = []
        if sign is not None:
            signs = _draw_signs(num_graphs, k, generator)
            node_signs = signs[0] if batch is None else signs[batch]
            node_signs = node_signs.to(pe.device, pe.dtype)
            pe_t = pe_t * _expand(node_signs, pe_t)
            if sign == "equivariant":
                out_expected = out_expected * _expand(
                    node_signs.to(out.dtype), out_expected
                )
            flipped = int((signs < 0).sum())
            description.append(f"{flipped}/{signs.numel()} signs flipped")
        edge_index_t, edge_weight_t, batch_t = edge_index, edge_weight, batch
        inputs_t = node_inputs
        if permute:
            perm = torch.randperm(num_nodes, generator=generator)
            perm = perm.to(pe.device)
            inverse = torch.empty_like(perm)
            inverse[perm] = torch.arange(num_nodes, device=perm.device)
            edge_order = torch.randperm(
                edge_index.size(1), generator=generator
            )
            edge_order = edge_order.to(edge_index.device)
            edge_index_t = inverse[edge_index[:, edge_order]]
            if edge_weight is not None:
                edge_weight_t = edge_weight[edge_order]
            if batch is not None:
                batch_t = batch[perm]
            inputs_t = {key: value[perm] for key, value in inputs_t.items()}
            pe_t = pe_t[perm]
            out_expected = out_expected[perm]
            description.append("nodes permuted")

        out_t = _call(fn, pe_t, edge_index_t, edge_weight_t, batch_t, inputs_t)
        if out_t.shape != out_expected.shape:
            raise AssertionError(
                f"not {name}: output shape changed from "
                f"{list(out_expected.shape)} to {list(out_t.shape)}"
            )
        error = float((out_t - out_expected).abs().max()) if out.numel() else 0
        errors[f"trial {trial} ({', '.join(description)})"] = error

    scale = float(out.abs().max()) if out.numel() else 0.0
    tolerance = atol + rtol * scale
    worst = max(errors.values(), default=0.0)
    if not worst <= tolerance:
        lines = "\n".join(
            f"  {label}: max abs error {error:.3e}"
            for label, error in errors.items()
        )
        raise AssertionError(
            f"not {name} in {work_dtype}: worst max abs error {worst:.3e} > "
            f"tolerance {tolerance:.3e} (atol {atol:g} + rtol {rtol:g} * "
            f"max |output| {scale:.3e})\n{lines}"
        )
    return errors


def _validate(
    fn: Any,
    pe: Any,
    edge_index: Any,
    edge_weight: Any,
    batch: Any,
    node_inputs: dict[str, Any],
    num_trials: Any,
) -> None:
    if not callable(fn):
        raise TypeError(f"'fn' must be callable, got {type(fn).__name__}")
    if not isinstance(pe, Tensor) or not pe.is_floating_point():
        raise TypeError(
            f"'pe' must be a floating torch.Tensor, got "
            f"{getattr(pe, 'dtype', type(pe).__name__)}"
        )
    if pe.dim() < 2:
        raise ValueError(
            f"'pe' must have shape [num_nodes, k, ...], got {list(pe.shape)}"
        )
    if (
        not isinstance(edge_index, Tensor)
        or edge_index.dim() != 2
        or edge_index.size(0) != 2
    ):
        shape = getattr(edge_index, "shape", type(edge_index).__name__)
        raise ValueError(
            f"'edge_index' must be a tensor of shape [2, num_edges], got "
            f"{shape}"
        )
    if edge_weight is not None and (
        not isinstance(edge_weight, Tensor)
        or edge_weight.shape != (edge_index.size(1),)
    ):
        raise ValueError(
            f"'edge_weight' must have shape [num_edges] = "
            f"[{edge_index.size(1)}], got "
            f"{getattr(edge_weight, 'shape', type(edge_weight).__name__)}"
        )
    if batch is not None and (
        not isinstance(batch, Tensor) or batch.shape != (pe.size(0),)
    ):
        raise ValueError(
            f"'batch' must have shape [num_nodes] = [{pe.size(0)}], got "
            f"{getattr(batch, 'shape', type(batch).__name__)}"
        )
    if batch is not None and edge_index.numel() > 0:
        # Separate signs per graph are a symmetry only of separate graphs.
        crossing = batch[edge_index[0]] != batch[edge_index[1]]
        if bool(crossing.any()):
            raise ValueError(
                f"'edge_index' must not join nodes of different graphs of "
                f"'batch', got {int(crossing.sum())} such edges"
            )
    for key, value in node_inputs.items():
        if not isinstance(value, Tensor) or value.size(0) != pe.size(0):
            raise ValueError(
                f"'node_inputs[{key!r}]' must be a tensor with first "
                f"dimension num_nodes = {pe.size(0)}, got "
                f"{getattr(value, 'shape', type(value).__name__)}"
            )
    if isinstance(num_trials, bool) or not isinstance(num_trials, int):
        raise TypeError(
            f"'num_trials' must be an int, got {type(num_trials).__name__}"
        )
    if num_trials < 1:
        raise ValueError(f"'num_trials' must be positive, got {num_trials}")


def _cast(
    fn: Callable[..., Tensor],
    pe: Tensor,
    edge_weight: Tensor | None,
    node_inputs: dict[str, Tensor],
    dtype: torch.dtype,
) -> tuple[Callable[..., Tensor], Tensor, Tensor | None, dict[str, Tensor]]:
    # The caller's module must not change, so a copy is cast; it is put in
    # eval mode because dropout would make two calls differ for reasons
    # that have nothing to do with symmetry.
    if isinstance(fn, torch.nn.Module):
        fn = copy.deepcopy(fn).to(dtype).eval()
    pe = pe.to(dtype)
    if edge_weight is not None and edge_weight.is_floating_point():
        edge_weight = edge_weight.to(dtype)
    node_inputs = {
        key: value.to(dtype) if value.is_floating_point() else value
        for key, value in node_inputs.items()
    }
    return fn, pe, edge_weight, node_inputs


def _call(
    fn: Callable[..., Tensor],
    pe: Tensor,
    edge_index: Tensor,
    edge_weight: Tensor | None,
    batch: Tensor | None,
    node_inputs: dict[str, Tensor],
) -> Tensor:
    kwargs: dict[str, Tensor] = dict(node_inputs)
    if edge_weight is not None:
        kwargs["edge_weight"] = edge_weight
    if batch is not None:
        kwargs["batch"] = batch
    out = fn(pe, edge_index, **kwargs)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"'fn' must return a torch.Tensor, got {type(out).__name__}"
        )
    return out


def _check_output(
    out: Tensor, num_nodes: int, k: int, sign: str | None, permute: bool
) -> None:
    if sign == "equivariant" and (
        out.dim() < 2 or out.size(0) != num_nodes or out.size(1) != k
    ):
        raise ValueError(
            f"a sign-equivariant output must have shape [num_nodes, k, ...] "
            f"= [{num_nodes}, {k}, ...], got {list(out.shape)}"
        )
    if permute and (out.dim() < 1 or out.size(0) != num_nodes):
        raise ValueError(
            f"a permutation-equivariant output must be node-level, with "
            f"shape [num_nodes, ...] = [{num_nodes}, ...], got "
            f"{list(out.shape)}"
        )


def _draw_signs(num_graphs: int, k: int, generator: torch.Generator) -> Tensor:
    # Random signs in {+1, -1}; the first trial of an all-positive draw
    # would test nothing, so at least one sign is forced negative.
    signs = torch.randint(0, 2, (num_graphs, k), generator=generator) * 2 - 1
    if bool((signs > 0).all()):
        row = int(torch.randint(0, num_graphs, (1,), generator=generator))
        column = int(torch.randint(0, k, (1,), generator=generator))
        signs[row, column] = -1
    return signs


def _expand(node_signs: Tensor, like: Tensor) -> Tensor:
    # Broadcast [N, k] signs over any trailing channel dimensions.
    return node_signs.view(*node_signs.shape, *([1] * (like.dim() - 2)))
