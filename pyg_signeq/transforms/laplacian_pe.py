"""Laplacian eigenvector positional encodings as a PyG transform."""

from __future__ import annotations

import copy

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from pyg_signeq._warnings import warn_once
from pyg_signeq.spectral import (
    LaplacianEig,
    canonicalize_signs,
    laplacian_eig,
)
from pyg_signeq.spectral.eig import check_eig_options

SIGN_MODES = ("none", "random", "canonical")


class AddLaplacianPE(BaseTransform):
    r"""Adds the ``k`` smallest non-trivial Laplacian eigenvectors as PE.

    Computes the eigenpairs with :func:`pyg_signeq.spectral.laplacian_eig`
    (see there for the Laplacians, the solvers and how components, isolated
    nodes and small graphs are handled) and stores

    - ``data[attr_name]``: eigenvectors of shape ``[N, k]``;
    - ``data[eig_vals_attr_name]``: eigenvalues of shape ``[1, k]``, so that
      a :class:`~torch_geometric.loader.DataLoader` stacks them per graph.

    Every eigenvalue-0 (component indicator) eigenvector is excluded, so
    real columns have positive eigenvalues; columns beyond what a graph has
    (``k >= N`` for a connected graph) are zero, with a zero eigenvalue, and
    a warning is issued once. A graph without edges gets an all-zero PE.
    Directed graphs are symmetrized (a one-way edge counts both ways).

    Each eigenvector is defined only up to sign. ``sign`` chooses what to
    do about it:

    - ``'none'``: keep the solver's signs (deterministic for a fixed
      ``seed``); the right choice for sign-equivariant or sign-invariant
      networks, which do not care.
    - ``'random'``: flip each column with probability 1/2, drawn from a
      :class:`torch.Generator` owned by the transform and seeded with
      ``seed``, so a fixed seed gives the same flips for the same sequence
      of graphs (useful as augmentation for sign-agnostic networks).
    - ``'canonical'``: :func:`pyg_signeq.spectral.canonicalize_signs`.

    Args:
        k (int): The number of eigenvectors.
        normalization (str, optional): ``'sym'``, ``'rw'`` or :obj:`None`
            (combinatorial). (default: ``'sym'``)
        attr_name (str): Where to store the eigenvectors. (default: ``'pe'``)
        eig_vals_attr_name (str): Where to store the eigenvalues.
            (default: ``'eig_vals'``)
        solver (str): ``'auto'``, ``'dense'``, ``'lanczos'`` or
            ``'chebyshev'``. (default: ``'auto'``)
        sign (str): ``'none'``, ``'random'`` or ``'canonical'``.
            (default: ``'none'``)
        seed (int, optional): Seed of the solver's start vectors and of
            the random signs. :obj:`None` uses solver seed ``0`` and seeds
            the sign generator from the operating system, which is not
            reproducible. (default: :obj:`None`)
        edge_weight_attr_name (str, optional): Attribute holding edge
            weights, used when present (``[E]`` or ``[E, 1]``, any real
            dtype); :obj:`None` ignores weights. (default: ``'edge_weight'``)
        tol (float, optional): Residual tolerance passed to the solver.
            (default: :obj:`None`)
        dtype (torch.dtype, optional): Dtype of the stored tensors.
            (default: :obj:`None`, the default dtype at call time)

    Shapes:
        - **input**: :class:`~torch_geometric.data.Data` with
          ``edge_index`` :math:`[2, E]`
        - **output**: ``data[attr_name]`` :math:`[N, k]`,
          ``data[eig_vals_attr_name]`` :math:`[1, k]`
    """

    def __init__(
        self,
        k: int,
        normalization: str | None = "sym",
        attr_name: str = "pe",
        eig_vals_attr_name: str = "eig_vals",
        solver: str = "auto",
        sign: str = "none",
        seed: int | None = None,
        edge_weight_attr_name: str | None = "edge_weight",
        tol: float | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int)
        ):
            raise TypeError(
                f"'seed' must be an int or None, got {type(seed).__name__}"
            )
        # The solver's own rules, checked now rather than at the first
        # graph.
        check_eig_options(k, normalization, solver, tol, seed or 0)
        if sign not in SIGN_MODES:
            raise ValueError(
                f"'sign' must be one of {SIGN_MODES}, got {sign!r}"
            )
        if attr_name == eig_vals_attr_name:
            raise ValueError(
                "'attr_name' and 'eig_vals_attr_name' must differ, both are "
                f"{attr_name!r}"
            )
        self.k = k
        self.normalization = normalization
        self.attr_name = attr_name
        self.eig_vals_attr_name = eig_vals_attr_name
        self.solver = solver
        self.sign = sign
        self.seed = seed
        self.edge_weight_attr_name = edge_weight_attr_name
        self.tol = tol
        self.dtype = dtype
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)
        self.last_result: LaplacianEig | None = None

    def forward(self, data: Data) -> Data:
        """Compute and attach the PE of one graph.

        Args:
            data (torch_geometric.data.Data): The graph, with
                ``edge_index`` and ``num_nodes``; changed in place and
                returned.
        """
        if data.edge_index is None:
            raise ValueError("'data.edge_index' is missing")
        num_nodes = data.num_nodes
        if num_nodes is None or num_nodes < 1:
            raise ValueError(
                f"'data.num_nodes' must be at least 1, got {num_nodes}"
            )
        dtype = self.dtype or torch.get_default_dtype()
        device = data.edge_index.device
        if data.edge_index.numel() == 0:
            warn_once(
                "add_laplacian_pe.no_edges",
                "a graph without edges has no non-trivial Laplacian "
                "eigenvectors; its PE is all zeros. Further such graphs "
                "are not reported.",
            )
            pe = torch.zeros(num_nodes, self.k, device=device)
            eig_vals = torch.zeros(self.k, device=device)
            self.last_result = None
        else:
            edge_weight = None
            if self.edge_weight_attr_name is not None:
                edge_weight = data.get(self.edge_weight_attr_name)
            result = laplacian_eig(
                data.edge_index,
                num_nodes,
                self.k,
                edge_weight=edge_weight,
                normalization=self.normalization,
                solver=self.solver,
                tol=self.tol,
                seed=0 if self.seed is None else self.seed,
            )
            self.last_result = result
            pe, eig_vals = result.eig_vecs, result.eig_vals
            if self.sign == "canonical":
                pe = canonicalize_signs(pe)
            elif self.sign == "random":
                flip = torch.randint(0, 2, (self.k,), generator=self.generator)
                pe = pe * (1 - 2 * flip).to(pe)

        data[self.attr_name] = pe.to(dtype)
        data[self.eig_vals_attr_name] = eig_vals.to(dtype).unsqueeze(0)
        return data

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(k={self.k}, "
            f"normalization={self.normalization!r}, solver={self.solver!r}, "
            f"sign={self.sign!r})"
        )


def add_train_pe(
    train_data: Data,
    val_data: Data,
    test_data: Data,
    transform: AddLaplacianPE,
) -> tuple[Data, Data, Data]:
    """Attach one PE, computed from the training graph, to a link split.

    Link prediction must not see validation or test edges when it computes
    positions: eigenvectors of a graph that contains them leak the labels.
    This helper runs ``transform`` on ``train_data.edge_index`` (the
    training message-passing edges of a
    :class:`~torch_geometric.transforms.RandomLinkSplit`, or the training
    graph of an OGB split) and copies the same PE and eigenvalues onto
    shallow copies of all three splits, whatever their own ``edge_index``.

    Args:
        train_data (Data): The training split.
        val_data (Data): The validation split.
        test_data (Data): The test split.
        transform (AddLaplacianPE): The PE settings.

    Returns:
        tuple[Data, Data, Data]: Copies of the three splits with the PE.

    Raises:
        ValueError: If the splits disagree on the number of nodes.
    """
    if not isinstance(transform, AddLaplacianPE):
        raise TypeError(
            "'transform' must be an AddLaplacianPE, got "
            f"{type(transform).__name__}"
        )
    sizes = [d.num_nodes for d in (train_data, val_data, test_data)]
    if len(set(sizes)) != 1:
        raise ValueError(
            "'train_data', 'val_data' and 'test_data' must have the same "
            f"number of nodes, got {sizes}"
        )
    graph = Data(edge_index=train_data.edge_index, num_nodes=sizes[0])
    name = transform.edge_weight_attr_name
    if name is not None and train_data.get(name) is not None:
        graph[name] = train_data[name]
    graph = transform(graph)

    out = []
    for split in (train_data, val_data, test_data):
        split = copy.copy(split)
        split[transform.attr_name] = graph[transform.attr_name]
        split[transform.eig_vals_attr_name] = graph[
            transform.eig_vals_attr_name
        ]
        out.append(split)
    return out[0], out[1], out[2]
