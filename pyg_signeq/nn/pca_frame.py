r"""Orthogonal equivariance for point clouds through PCA frames.

For a centred point cloud :math:`X \in \mathbb{R}^{n \times d}` the
principal directions :math:`R_X` (the eigenvectors of :math:`X^\top X`,
columns ordered by decreasing eigenvalue) turn with the cloud: for an
orthogonal :math:`Q`, :math:`R_{XQ} = Q^\top R_X S` with a sign matrix
:math:`S` that no rule can avoid, since every eigenvector is only defined up
to sign. The coordinates in the frame, :math:`X R_X`, are therefore
invariant to :math:`Q` up to those signs, and the three wrappers here are
three ways of dealing with them:

- :class:`PCAFrame`: a sign-equivariant network, one forward pass;
- :class:`PCAFrameAveraging`: any network, averaged over all :math:`2^d`
  sign choices;
- :class:`PCAFrameCanonical`: any network on coordinates whose signs are
  fixed by a sign-invariant rule.

The frame is ill-defined where two covariance eigenvalues (nearly)
coincide; every wrapper detects that and warns once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.utils import scatter

from pyg_signeq._warnings import warn_once
from pyg_signeq.nn._validation import check_batch, check_edge_index

# A d-dimensional cloud needs 2^d passes for frame averaging; beyond this
# the replicated batch is too large to be a sensible default.
_MAX_AVERAGING_DIM = 12


class _PCAFrameBase(Module):
    # The shared part of the three wrappers: validation, the per-graph
    # frames, moving inputs into them and outputs back out.

    def __init__(
        self,
        net: Callable[..., Tensor],
        add_center: bool = True,
        degeneracy_threshold: float = 1e-3,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if not callable(net):
            raise TypeError(
                f"{owner}: 'net' must be callable (a torch.nn.Module), got "
                f"{type(net).__name__}"
            )
        if not isinstance(add_center, bool):
            raise TypeError(
                f"{owner}: 'add_center' must be a bool, got "
                f"{type(add_center).__name__}"
            )
        _check_threshold(degeneracy_threshold, "degeneracy_threshold", owner)
        self.net = net
        self.add_center = add_center
        self.degeneracy_threshold = float(degeneracy_threshold)
        # No reset_parameters() here, unlike other modules: the wrapper owns
        # no parameters, and resetting would discard weights the given net
        # may already hold (trained or loaded ones).

    def reset_parameters(self) -> None:
        """Reset the parameters of the wrapped network, if it has any."""
        reset = getattr(self.net, "reset_parameters", None)
        if callable(reset):
            reset()

    def forward(
        self,
        pos: Tensor,
        batch: Tensor | None = None,
        edge_index: Tensor | None = None,
        *,
        vectors: Tensor | None = None,
        x: Tensor | None = None,
    ) -> Tensor:
        r"""Apply the wrapped network in the principal frame of every cloud.

        Args:
            pos (torch.Tensor): The point positions.
            batch (torch.Tensor, optional): The cloud of every point; every
                cloud gets its own centre and frame.
                (default: :obj:`None`, one cloud)
            edge_index (torch.Tensor, optional): Connectivity handed to the
                network unchanged. (default: :obj:`None`)
            vectors (torch.Tensor, optional): Further vectors per point
                that turn with the cloud but do not move with it, such as
                velocities; rotated into the frame without centring and
                given to the network as channels after the positions.
                (default: :obj:`None`)
            x (torch.Tensor, optional): Invariant point features (charges,
                masses), handed to the network as ``x=`` unchanged.
                (default: :obj:`None`)
        """
        owner = type(self).__name__
        _check_points(pos, vectors, x, owner=owner)
        num_nodes, dim = pos.shape
        check_batch(batch, num_nodes, owner=owner)
        if edge_index is not None:
            check_edge_index(edge_index, num_nodes, owner=owner)
        self._check_dim(dim)

        frame = _principal_frames(pos, batch)
        self._warn_if_degenerate(frame, has_vectors=vectors is not None)
        y = _to_frame(frame, pos, vectors, batch)
        out = self._in_frame(y, frame, edge_index, x, batch)
        _check_output(out, num_nodes, dim, owner=owner)

        return _from_frame(frame, out, batch, self.add_center)

    def _check_dim(self, dim: int) -> None:
        # Only frame averaging limits the dimension.
        return

    def _in_frame(
        self,
        y: Tensor,
        frame: _Frame,
        edge_index: Tensor | None,
        x: Tensor | None,
        batch: Tensor | None,
    ) -> Tensor:
        raise NotImplementedError

    def _warn_if_degenerate(self, frame: _Frame, has_vectors: bool) -> None:
        if self.degeneracy_threshold == 0.0 or frame.eig_vals.size(1) < 2:
            return
        vals = frame.eig_vals
        scale = vals[:, :1].clamp(min=torch.finfo(vals.dtype).tiny)
        gaps = (vals[:, :-1] - vals[:, 1:]) / scale
        # Two directions in which the cloud has no extent carry zero
        # coordinates whatever basis is chosen for them, and a
        # sign-equivariant network maps a zero column to zero, so only
        # vectors (which may point there) make such a pair a problem.
        harmless = frame.null[:, :-1] & frame.null[:, 1:]
        if has_vectors:
            harmless = torch.zeros_like(harmless)
        bad = (gaps < self.degeneracy_threshold) & ~harmless
        bad = bad & frame.nonempty.unsqueeze(1)
        if not bool(bad.any()):
            return
        clouds = int(bad.any(dim=1).sum())
        smallest = float(gaps[bad].min())
        owner = type(self).__name__
        warn_once(
            f"{owner}.degenerate",
            f"{owner}: {clouds} of {vals.size(0)} point cloud(s) have "
            f"nearly equal covariance eigenvalues (smallest relative gap "
            f"{smallest:.3e} < degeneracy_threshold="
            f"{self.degeneracy_threshold:g}); their principal directions, "
            f"and so the frame, are ill-defined and the output is not "
            f"reliably O(d) equivariant there (this warning is shown once)",
            stacklevel=4,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.net!r}, "
            f"add_center={self.add_center}, "
            f"degeneracy_threshold={self.degeneracy_threshold:g})"
        )


class PCAFrame(_PCAFrameBase):
    r"""Make a sign-equivariant network O(d) equivariant with a PCA frame.

    Following `"Expressive Sign Equivariant Networks for Spectral Geometric
    Learning" <https://arxiv.org/abs/2312.02339>`_ (Lim et al., NeurIPS
    2023), every point cloud :math:`X` (rows are points) is centred,
    :math:`\bar{X} = X - \mathbf{1} c^\top` with its centroid :math:`c`,
    and expressed in its principal directions :math:`R_X`, the eigenvectors
    of :math:`\bar{X}^\top \bar{X}` by decreasing eigenvalue (computed with
    :func:`torch.linalg.eigh` in the dtype of ``pos``):

    .. math::
        f(X) = h(\bar{X} R_X)\, R_X^\top + \mathbf{1} c^\top.

    Rotating or reflecting the cloud by an orthogonal :math:`Q` turns the
    frame into :math:`Q^\top R_X S` for some sign matrix :math:`S`, so
    :math:`h` sees :math:`\bar{X} R_X S`. Whenever :math:`h` is sign
    equivariant in its :math:`d` columns, :math:`h(Y S) = h(Y) S`, the
    signs cancel and the wrapper is O(d) equivariant, reflections
    included, with a single pass of :math:`h`:

    .. math::
        f(X Q) = f(X)\, Q \quad \text{for all } Q^\top Q = I.

    It is also translation equivariant, :math:`f(X + \mathbf{1} t^\top) =
    f(X) + \mathbf{1} t^\top` (with ``add_center=True``; with
    ``add_center=False``, for vector outputs such as velocities or forces,
    it is translation invariant instead), and permutation equivariant,
    :math:`f(P X) = P f(X)`, when :math:`h` is. :class:`SignEqPointNet` is
    a suitable :math:`h`. With ``batch`` every cloud has its own centre and
    frame, so each may be turned by its own :math:`Q`.

    ``vectors`` (velocities, say) are rotated by the same frame,
    :math:`V R_X`, without centring, and reach :math:`h` as further
    channels; the symmetry then reads
    :math:`f(X Q, V Q) = f(X, V)\, Q`.

    The frame is ill-defined where two eigenvalues of the covariance
    (nearly) coincide, an isotropic cloud for instance: a rotation within
    their eigenspace changes :math:`R_X` by more than signs. Relative gaps
    :math:`(\lambda_j - \lambda_{j+1}) / \lambda_1` below
    ``degeneracy_threshold`` raise a once-only warning. A cloud with fewer
    than :math:`d + 1` points has no extent in some directions; its
    coordinates there are set to exactly zero, which a sign-equivariant
    :math:`h` maps to zero, so the arbitrary basis of that null space does
    not matter and is not warned about (unless ``vectors`` are given,
    which may point into it).

    Args:
        net (Callable): The network :math:`h`, called as
            ``net(y, edge_index)`` on the coordinates ``y`` in the frame,
            with ``x=x`` when ``x`` is given and ``batch=batch`` when
            ``batch`` is given. It must return :math:`[N, d]` or
            :math:`[N, d, C]`.
        add_center (bool): Whether to add each cloud's centroid back to the
            output, for position outputs; :obj:`False` for vector outputs
            (velocities, forces, displacements). (default: :obj:`True`)
        degeneracy_threshold (float): The relative eigenvalue gap below
            which a frame counts as ill-defined and a warning is shown;
            ``0`` disables the check. (default: :obj:`1e-3`)

    Shapes:
        - **input:** pos :math:`[N, d]`, batch :math:`[N]` *(optional)*,
          edge_index :math:`[2, E]` *(optional)*, vectors :math:`[N, d]`
          or :math:`[N, d, C_v]` *(optional)*, x :math:`[N, F]`
          *(optional)*
        - **input of net:** :math:`[N, d]`, or :math:`[N, d, 1 + C_v]`
          with ``vectors`` (positions in channel 0)
        - **output:** the shape of the output of ``net``,
          :math:`[N, d]` or :math:`[N, d, C]`
    """

    def _in_frame(
        self,
        y: Tensor,
        frame: _Frame,
        edge_index: Tensor | None,
        x: Tensor | None,
        batch: Tensor | None,
    ) -> Tensor:
        return _call_net(self.net, y, edge_index, x, batch)


class PCAFrameAveraging(_PCAFrameBase):
    r"""Frame averaging over the :math:`2^d` signs of a PCA frame.

    From `"Frame Averaging for Invariant and Equivariant Network Design"
    <https://arxiv.org/abs/2110.03336>`_ (Puny et al., ICLR 2022). With the
    centred cloud :math:`\bar{X}`, its centroid :math:`c` and principal
    directions :math:`R_X` as in :class:`PCAFrame`, any network :math:`h`
    (no symmetry needed) is averaged over all sign matrices :math:`S`:

    .. math::
        f(X) = \frac{1}{2^d} \sum_{S} h(\bar{X} R_X S)\, S R_X^\top
               + \mathbf{1} c^\top.

    The sum runs over the whole sign group, so the arbitrary signs of
    :math:`R_X` only reorder its terms and the result is O(d)
    equivariant:

    .. math::
        f(X Q) = f(X)\, Q \quad \text{for all } Q^\top Q = I.

    The price is :math:`2^d` passes of :math:`h`; they run as one call on
    a batch that holds :math:`2^d` sign-flipped copies of every cloud.
    ``vectors``, ``x``, translations, permutations and degenerate frames
    behave as in :class:`PCAFrame`.

    Args:
        net (Callable): The network :math:`h`, called once as
            ``net(y, edge_index, batch=batch)`` (plus ``x=x`` when ``x``
            is given) on the :math:`2^d` copies, each copy a separate graph
            of ``batch``. It must return :math:`[N', d]` or
            :math:`[N', d, C]` for the :math:`N' = 2^d N` points.
        add_center (bool): Whether to add each cloud's centroid back to the
            output; :obj:`False` for vector outputs. (default: :obj:`True`)
        degeneracy_threshold (float): The relative eigenvalue gap below
            which a warning is shown, see :class:`PCAFrame`.
            (default: :obj:`1e-3`)

    Shapes:
        - **input:** pos :math:`[N, d]` with :math:`d \le 12`, batch
          :math:`[N]` *(optional)*, edge_index :math:`[2, E]`
          *(optional)*, vectors :math:`[N, d]` or :math:`[N, d, C_v]`
          *(optional)*, x :math:`[N, F]` *(optional)*
        - **output:** :math:`[N, d]` or :math:`[N, d, C]`, as the output of
          ``net``
    """

    def _check_dim(self, dim: int) -> None:
        if dim > _MAX_AVERAGING_DIM:
            raise ValueError(
                f"{type(self).__name__}: 'pos' has dimension d={dim}, which "
                f"needs 2^{dim} passes; at most d={_MAX_AVERAGING_DIM} is "
                f"supported"
            )

    def _in_frame(
        self,
        y: Tensor,
        frame: _Frame,
        edge_index: Tensor | None,
        x: Tensor | None,
        batch: Tensor | None,
    ) -> Tensor:
        num_nodes, dim = y.size(0), y.size(1)
        signs = _all_signs(dim, dtype=y.dtype, device=y.device)
        num_copies = signs.size(0)
        shape = (num_copies, 1, dim) + (1,) * (y.dim() - 2)
        y_copies = (y.unsqueeze(0) * signs.view(shape)).flatten(0, 1)

        num_graphs = frame.eig_vals.size(0)
        copy_index = torch.arange(num_copies, device=y.device)
        graph = (
            torch.zeros(num_nodes, dtype=torch.long, device=y.device)
            if batch is None
            else batch
        )
        copies = (copy_index.view(-1, 1) * num_graphs + graph).flatten()
        edge_copies = None
        if edge_index is not None:
            offsets = (copy_index * num_nodes).view(-1, 1, 1)
            edge_copies = (edge_index.unsqueeze(0) + offsets).transpose(0, 1)
            edge_copies = edge_copies.reshape(2, -1)
        x_copies = None if x is None else x.repeat(num_copies, 1)
        out = _call_net(self.net, y_copies, edge_copies, x_copies, copies)

        owner = type(self).__name__
        _check_output(out, num_copies * num_nodes, dim, owner=owner)
        out = out.view(num_copies, num_nodes, *out.shape[1:])
        out_shape = (num_copies, 1, dim) + (1,) * (out.dim() - 3)

        return (out * signs.view(out_shape)).mean(dim=0)


class PCAFrameCanonical(_PCAFrameBase):
    r"""A PCA frame with canonical, sign-invariant signs.

    The arbitrary sign of every principal direction is fixed by a rule
    that does not depend on it: with :math:`Y = \bar{X} R_X` the
    coordinates in the frame of :class:`PCAFrame`, column :math:`i` is
    negated when its third moment :math:`\sum_n \sum_c Y_{n, i, c}^3` is
    negative (summed over the position channel and the channels of
    ``vectors``), the rule of
    :func:`~pyg_signeq.spectral.canonicalize_signs`. The canonical
    coordinates :math:`\tilde{Y} = Y\, \sigma(Y)` are sign invariant,
    :math:`\tilde{Y}(Y S) = \tilde{Y}(Y)`, so any network :math:`h` can
    process them in one pass:

    .. math::
        f(X) = h(\bar{X} R_X \sigma_X)\, \sigma_X R_X^\top
               + \mathbf{1} c^\top,
        \qquad f(X Q) = f(X)\, Q \quad \text{for all } Q^\top Q = I,

    with :math:`\sigma_X` the diagonal matrix of the chosen signs. The
    symmetry fails where a third moment vanishes (a cloud symmetric under
    the reflection of that axis): there the sign flips discontinuously with
    the smallest perturbation. Moments within ``tie_threshold`` of zero,
    relative to :math:`\sum_n \sum_c |Y_{n, i, c}|^3`, raise a once-only
    warning; such columns keep the sign :func:`torch.linalg.eigh` gave.
    Degenerate eigenvalues, ``vectors`` and ``x`` behave as in
    :class:`PCAFrame`.

    Args:
        net (Callable): The network :math:`h`, called as in
            :class:`PCAFrame`.
        add_center (bool): Whether to add each cloud's centroid back to the
            output; :obj:`False` for vector outputs. (default: :obj:`True`)
        degeneracy_threshold (float): The relative eigenvalue gap below
            which a warning is shown, see :class:`PCAFrame`.
            (default: :obj:`1e-3`)
        tie_threshold (float): The relative third moment below which a
            sign counts as undetermined and a warning is shown; ``0``
            disables the check. (default: :obj:`1e-6`)

    Shapes:
        - **input:** pos :math:`[N, d]`, batch :math:`[N]` *(optional)*,
          edge_index :math:`[2, E]` *(optional)*, vectors :math:`[N, d]`
          or :math:`[N, d, C_v]` *(optional)*, x :math:`[N, F]`
          *(optional)*
        - **output:** :math:`[N, d]` or :math:`[N, d, C]`, as the output of
          ``net``
    """

    def __init__(
        self,
        net: Callable[..., Tensor],
        add_center: bool = True,
        degeneracy_threshold: float = 1e-3,
        tie_threshold: float = 1e-6,
    ) -> None:
        _check_threshold(tie_threshold, "tie_threshold", type(self).__name__)
        super().__init__(net, add_center, degeneracy_threshold)
        self.tie_threshold = float(tie_threshold)

    def _in_frame(
        self,
        y: Tensor,
        frame: _Frame,
        edge_index: Tensor | None,
        x: Tensor | None,
        batch: Tensor | None,
    ) -> Tensor:
        cubes = y.pow(3)
        if cubes.dim() == 3:
            cubes = cubes.sum(dim=2)
        graph = _graph_index(y, batch)
        num_graphs = frame.eig_vals.size(0)
        moments = scatter(cubes, graph, 0, num_graphs, reduce="sum")
        scale = scatter(cubes.abs(), graph, 0, num_graphs, reduce="sum")
        signs = torch.where(moments < 0, -1.0, 1.0).to(y.dtype)
        self._warn_if_tied(moments, scale)

        node_signs = signs.index_select(0, graph)
        if y.dim() == 3:
            node_signs = node_signs.unsqueeze(-1)
        out = _call_net(self.net, y * node_signs, edge_index, x, batch)
        _check_output(out, y.size(0), y.size(1), owner=type(self).__name__)
        out_signs = signs.index_select(0, graph)
        if out.dim() == 3:
            out_signs = out_signs.unsqueeze(-1)

        return out * out_signs

    def _warn_if_tied(self, moments: Tensor, scale: Tensor) -> None:
        if self.tie_threshold == 0.0:
            return
        # Zero columns (directions without extent) have no sign to fix.
        tied = (moments.abs() <= self.tie_threshold * scale) & (scale > 0)
        if not bool(tied.any()):
            return
        owner = type(self).__name__
        smallest = float((moments.abs() / scale.clamp(min=1e-300))[tied].min())
        warn_once(
            f"{owner}.tie",
            f"{owner}: {int(tied.any(dim=1).sum())} of {moments.size(0)} "
            f"point cloud(s) have a principal direction whose third moment "
            f"nearly vanishes (relative {smallest:.3e} <= tie_threshold="
            f"{self.tie_threshold:g}); its canonical sign is undetermined "
            f"and the output is not reliably O(d) equivariant there (this "
            f"warning is shown once)",
            stacklevel=5,
        )

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + (
            f", tie_threshold={self.tie_threshold:g})"
        )


def _all_signs(
    dim: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    r"""Return all :math:`2^d` sign vectors, the first one all positive.

    Args:
        dim (int): The dimension :math:`d`.
        dtype (torch.dtype): The dtype of the result.
            (default: :obj:`torch.float32`)
        device (torch.device, optional): The device of the result.
            (default: :obj:`None`, the CPU)

    Returns:
        torch.Tensor: The sign vectors as rows, :math:`[2^d, d]`.
    """
    rows = list(itertools.product((1.0, -1.0), repeat=dim))
    return torch.tensor(rows, dtype=dtype, device=device)


class _Frame:
    # The per-graph frames of one call.
    __slots__ = ("center", "rotation", "eig_vals", "null", "nonempty")

    def __init__(
        self,
        center: Tensor,
        rotation: Tensor,
        eig_vals: Tensor,
        null: Tensor,
        nonempty: Tensor,
    ) -> None:
        self.center = center  # [G, d]
        self.rotation = rotation  # [G, d, d], columns by decreasing value
        self.eig_vals = eig_vals  # [G, d], decreasing
        self.null = null  # [G, d], directions without extent
        self.nonempty = nonempty  # [G], graphs that hold points


def _graph_index(like: Tensor, batch: Tensor | None) -> Tensor:
    if batch is not None:
        return batch
    return torch.zeros(like.size(0), dtype=torch.long, device=like.device)


def _principal_frames(pos: Tensor, batch: Tensor | None) -> _Frame:
    graph = _graph_index(pos, batch)
    num_graphs = int(graph.max()) + 1 if graph.numel() else 1
    counts = scatter(
        torch.ones_like(pos[:, 0]), graph, 0, num_graphs, reduce="sum"
    )
    center = scatter(pos, graph, 0, num_graphs, reduce="sum")
    center = center / counts.clamp(min=1).unsqueeze(-1)
    centred = pos - center.index_select(0, graph)
    outer = centred.unsqueeze(2) * centred.unsqueeze(1)
    cov = scatter(outer, graph, 0, num_graphs, reduce="sum")

    eig_vals, eig_vecs = torch.linalg.eigh(cov)
    # eigh sorts ascending; principal directions come first.
    eig_vals = eig_vals.flip(-1).clamp(min=0)
    eig_vecs = eig_vecs.flip(-1)
    # An eigenvalue this far below the largest is round-off of a direction
    # in which the cloud has no extent (fewer than d + 1 points, or points
    # on a lower-dimensional plane).
    tol = torch.finfo(pos.dtype).eps ** 0.5
    null = eig_vals <= tol * eig_vals[:, :1]

    return _Frame(center, eig_vecs, eig_vals, null, counts > 0)


def _to_frame(
    frame: _Frame, pos: Tensor, vectors: Tensor | None, batch: Tensor | None
) -> Tensor:
    graph = _graph_index(pos, batch)
    rotation = frame.rotation.index_select(0, graph)
    centred = pos - frame.center.index_select(0, graph)
    y = torch.einsum("nd,nde->ne", centred, rotation)
    # Coordinates along directions without extent are round-off whose
    # value depends on the arbitrary basis of that null space; exact zeros
    # make the output independent of it.
    y = y.masked_fill(frame.null.index_select(0, graph), 0.0)
    if vectors is None:
        return y
    if vectors.dim() == 2:
        vectors = vectors.unsqueeze(-1)
    turned = torch.einsum("ndc,nde->nec", vectors, rotation)

    return torch.cat([y.unsqueeze(-1), turned], dim=-1)


def _from_frame(
    frame: _Frame, out: Tensor, batch: Tensor | None, add_center: bool
) -> Tensor:
    graph = _graph_index(out, batch)
    rotation = frame.rotation.index_select(0, graph)
    if out.dim() == 2:
        result = torch.einsum("ne,nde->nd", out, rotation)
    else:
        result = torch.einsum("nec,nde->ndc", out, rotation)
    if add_center:
        center = frame.center.index_select(0, graph)
        if result.dim() == 3:
            center = center.unsqueeze(-1)
        result = result + center

    return result


def _call_net(
    net: Callable[..., Tensor],
    y: Tensor,
    edge_index: Tensor | None,
    x: Tensor | None,
    batch: Tensor | None,
) -> Tensor:
    kwargs: dict[str, Tensor] = {}
    if x is not None:
        kwargs["x"] = x
    if batch is not None:
        kwargs["batch"] = batch
    return net(y, edge_index, **kwargs)


def _check_threshold(value: float, name: str, owner: str) -> None:
    # A relative threshold: a float in [0, 1), 0 turning the check off.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{owner}: '{name}' must be a float, got {type(value).__name__}"
        )
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: '{name}' must lie in [0, 1), got {value}")


def _check_points(
    pos: Tensor, vectors: Tensor | None, x: Tensor | None, *, owner: str
) -> None:
    if not isinstance(pos, Tensor):
        raise TypeError(
            f"{owner}: 'pos' must be a torch.Tensor, got {type(pos).__name__}"
        )
    if not pos.is_floating_point():
        raise TypeError(
            f"{owner}: 'pos' must have a floating dtype, got {pos.dtype}"
        )
    if pos.dim() != 2 or pos.size(0) == 0 or pos.size(1) == 0:
        raise ValueError(
            f"{owner}: 'pos' must have shape [num_points, d] with at least "
            f"one point and one dimension, got {list(pos.shape)}"
        )
    if not bool(torch.isfinite(pos).all()):
        raise ValueError(
            f"{owner}: 'pos' must be finite, got "
            f"{int((~torch.isfinite(pos)).sum())} NaN or infinite entries"
        )
    num_nodes, dim = pos.shape
    if vectors is not None:
        if not isinstance(vectors, Tensor) or vectors.dtype != pos.dtype:
            raise TypeError(
                f"{owner}: 'vectors' must be a torch.Tensor of the dtype of "
                f"'pos' ({pos.dtype}), got "
                f"{getattr(vectors, 'dtype', type(vectors).__name__)}"
            )
        if vectors.dim() not in (2, 3) or vectors.shape[:2] != (
            num_nodes,
            dim,
        ):
            raise ValueError(
                f"{owner}: 'vectors' must have shape [num_points, d] or "
                f"[num_points, d, channels] with [num_points, d] = "
                f"[{num_nodes}, {dim}], got {list(vectors.shape)}"
            )
        if not bool(torch.isfinite(vectors).all()):
            raise ValueError(f"{owner}: 'vectors' must be finite")
    if x is not None:
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{owner}: 'x' must be a torch.Tensor or None, got "
                f"{type(x).__name__}"
            )
        if x.dim() != 2 or x.size(0) != num_nodes:
            raise ValueError(
                f"{owner}: 'x' must have shape [num_points, F] with "
                f"num_points = {num_nodes}, got {list(x.shape)}"
            )


def _check_output(
    out: Tensor, num_nodes: int, dim: int, *, owner: str
) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(
            f"{owner}: 'net' must return a torch.Tensor, got "
            f"{type(out).__name__}"
        )
    if out.dim() not in (2, 3) or out.shape[:2] != (num_nodes, dim):
        raise ValueError(
            f"{owner}: 'net' must return shape [num_points, d] or "
            f"[num_points, d, channels] with [num_points, d] = "
            f"[{num_nodes}, {dim}], got {list(out.shape)}"
        )
