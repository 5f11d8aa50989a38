"""Data-parallel link prediction with :mod:`torch.distributed`.

The helpers here let one training script run unchanged as a single process
or as ``N`` processes started by ``torchrun``::

    torchrun --nproc_per_node 2 -m benchmarks.link_pred --datasets ba

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (with
``MASTER_ADDR`` and ``MASTER_PORT``) in every process;
:func:`detect_env` reads them, :func:`init_distributed` joins the process
group (``gloo`` on the CPU, ``nccl`` on GPUs) with a timeout, so that a
rank that dies or stops answering makes the others fail with
:class:`DistributedError` instead of waiting forever.

Training (:func:`pyg_signeq.training.fit` with ``distributed=True``) keeps
one copy of the graph, its positional encoding and the model on every
rank: each optimizer step encodes the whole graph on every rank, each rank
scores its own contiguous share of the step's positive and negative links,
and :class:`~torch.nn.parallel.DistributedDataParallel` averages the
gradients. Every rank draws the step's links from the same seeded
generator and keeps only its share, so the global batch, and with it the
gradient, is the one a single process computes (see
:class:`pyg_signeq.training.LinkLoss`). Work that must happen once, such
as computing or loading the positional encoding, runs on rank 0 through
:func:`run_on_rank0` and is sent to the others.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module
from torch_geometric.data import Data

__all__ = [
    "DEFAULT_TIMEOUT",
    "DistributedEnv",
    "DistributedError",
    "LinkLoss",
    "broadcast_object",
    "detect_env",
    "get_rank",
    "get_world_size",
    "init_distributed",
    "is_distributed",
    "parameters_agree",
    "run_on_rank0",
    "shard_range",
    "wrap_link_loss",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 600.0
"""Seconds a collective operation waits for the other ranks.

Long enough for rank 0 to compute a positional encoding of an OGB-size
graph while the others wait for it; override with the ``timeout`` of
:func:`init_distributed` or the ``PYG_SIGNEQ_DIST_TIMEOUT`` environment
variable.
"""

_TIMEOUT_VARIABLE = "PYG_SIGNEQ_DIST_TIMEOUT"


class DistributedError(RuntimeError):
    """A collective operation failed: another rank failed or timed out."""


@dataclass(frozen=True)
class DistributedEnv:
    """Where this process sits in a ``torchrun`` launch.

    Attributes:
        rank (int): The global rank, in ``[0, world_size)``.
        world_size (int): The number of processes.
        local_rank (int): The rank on this machine, which picks its GPU.
    """

    rank: int
    world_size: int
    local_rank: int


def _env_int(environ: Mapping[str, str], name: str, minimum: int) -> int:
    text = environ[name]
    try:
        value = int(text)
    except ValueError:
        raise ValueError(
            f"environment variable {name} must be an integer, got {text!r}"
        ) from None
    if value < minimum:
        raise ValueError(
            f"environment variable {name} must be at least {minimum}, got "
            f"{value}"
        )
    return value


def detect_env(
    environ: Mapping[str, str] | None = None,
) -> DistributedEnv | None:
    """Read the ``torchrun`` variables of this process, if there are any.

    Args:
        environ (Mapping[str, str], optional): The environment to read.
            (default: :obj:`None`, :data:`os.environ`)

    Returns:
        DistributedEnv or None: The rank, world size and local rank, or
        :obj:`None` when ``RANK`` and ``WORLD_SIZE`` are not both set (a
        plain single-process launch).

    Raises:
        ValueError: If a variable is not a valid integer or the rank lies
            outside ``[0, WORLD_SIZE)``.
    """
    environ = os.environ if environ is None else environ
    if "RANK" not in environ or "WORLD_SIZE" not in environ:
        return None
    rank = _env_int(environ, "RANK", 0)
    world_size = _env_int(environ, "WORLD_SIZE", 1)
    if rank >= world_size:
        raise ValueError(
            f"environment variable RANK must be below WORLD_SIZE = "
            f"{world_size}, got {rank}"
        )
    local_rank = rank
    if "LOCAL_RANK" in environ:
        local_rank = _env_int(environ, "LOCAL_RANK", 0)
    return DistributedEnv(rank, world_size, local_rank)


def _timeout_seconds(timeout: float | None) -> float:
    if timeout is None:
        text = os.environ.get(_TIMEOUT_VARIABLE)
        if text is None:
            return DEFAULT_TIMEOUT
        try:
            timeout = float(text)
        except ValueError:
            raise ValueError(
                f"environment variable {_TIMEOUT_VARIABLE} must be a number "
                f"of seconds, got {text!r}"
            ) from None
        name = _TIMEOUT_VARIABLE
    else:
        name = "'timeout'"
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"'timeout' must be a number of seconds, got "
            f"{type(timeout).__name__}"
        )
    if not timeout > 0:
        raise ValueError(f"{name} must be positive seconds, got {timeout}")
    return float(timeout)


def init_distributed(
    backend: str | None = None,
    timeout: float | None = None,
) -> DistributedEnv:
    """Join the process group of a ``torchrun`` launch.

    Reads the rank and world size with :func:`detect_env` and initialises
    the default process group from the environment (``MASTER_ADDR``,
    ``MASTER_PORT``). Every collective operation then waits at most
    ``timeout`` seconds for the other ranks before it raises, so a rank
    that dies or stops participating cannot make the others hang. With
    ``nccl`` the current CUDA device is set to ``cuda:LOCAL_RANK``.

    Calling it again in a process whose group is already initialised
    returns the environment without joining again.

    Args:
        backend (str, optional): ``"gloo"`` or ``"nccl"``.
            (default: :obj:`None`, ``"nccl"`` when CUDA is available, else
            ``"gloo"``)
        timeout (float, optional): Seconds a collective operation waits.
            (default: :obj:`None`, the environment variable
            ``PYG_SIGNEQ_DIST_TIMEOUT`` or :data:`DEFAULT_TIMEOUT`)

    Returns:
        DistributedEnv: The rank, world size and local rank.

    Raises:
        RuntimeError: If the process was not started by ``torchrun`` (no
            ``RANK`` and ``WORLD_SIZE`` in the environment).
        ValueError: For an unknown ``backend`` or a non-positive
            ``timeout``.
    """
    env = detect_env()
    if env is None:
        raise RuntimeError(
            "init_distributed: RANK and WORLD_SIZE are not set; start the "
            "script with torchrun, e.g. torchrun --nproc_per_node 2 "
            "-m benchmarks.link_pred"
        )
    seconds = _timeout_seconds(timeout)
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend not in ("gloo", "nccl"):
        raise ValueError(
            f"'backend' must be 'gloo' or 'nccl', got {backend!r}"
        )
    if dist.is_initialized():
        return env
    if backend == "nccl":
        torch.cuda.set_device(env.local_rank)
    dist.init_process_group(
        backend,
        rank=env.rank,
        world_size=env.world_size,
        timeout=datetime.timedelta(seconds=seconds),
    )
    log.info(
        "rank %d of %d joined the %s process group (timeout %.0f s)",
        env.rank,
        env.world_size,
        backend,
        seconds,
    )
    return env


def is_distributed() -> bool:
    """Whether a process group of more than one rank is initialised."""
    return (
        dist.is_available()
        and dist.is_initialized()
        and dist.get_world_size() > 1
    )


def get_rank() -> int:
    """The rank of this process; 0 outside a process group."""
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """The number of ranks; 1 outside a process group."""
    return dist.get_world_size() if is_distributed() else 1


def shard_range(num_items: int, rank: int, world_size: int) -> slice:
    """The contiguous share of ``num_items`` items that ``rank`` takes.

    Shares differ in size by at most one item and cover
    ``range(num_items)`` in rank order, so concatenating them over the
    ranks gives back the whole sequence.

    Args:
        num_items (int): The number of items, at least 0.
        rank (int): The rank, in ``[0, world_size)``.
        world_size (int): The number of ranks, at least 1.

    Returns:
        slice: ``slice(start, stop)`` of this rank's items.
    """
    for name, value, minimum in [
        ("num_items", num_items, 0),
        ("world_size", world_size, 1),
        ("rank", rank, 0),
    ]:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"'{name}' must be an int, got {type(value).__name__}"
            )
        if value < minimum:
            raise ValueError(
                f"'{name}' must be at least {minimum}, got {value}"
            )
    if rank >= world_size:
        raise ValueError(
            f"'rank' must be below 'world_size' = {world_size}, got {rank}"
        )
    start = num_items * rank // world_size
    stop = num_items * (rank + 1) // world_size
    return slice(start, stop)


def _collective(name: str, fn: Callable[[], T]) -> T:
    """Run a collective, turning a backend failure into a clear error."""
    try:
        return fn()
    except (RuntimeError, dist.DistError) as error:
        if isinstance(error, DistributedError):
            raise
        raise DistributedError(
            f"rank {dist.get_rank()} of {dist.get_world_size()}: {name} "
            "failed, most likely because another rank failed or stopped "
            "answering within the timeout (its own log names the cause): "
            f"{error}"
        ) from error


def broadcast_object(obj: T, src: int = 0) -> T:
    """Send a picklable object from rank ``src`` to every rank.

    Outside a process group the object is returned as it is.

    Args:
        obj (Any): The object on rank ``src``; ignored on the others.
        src (int): The sending rank. (default: :obj:`0`)

    Returns:
        Any: The object of rank ``src``, on every rank.

    Raises:
        DistributedError: If another rank failed or timed out.
    """
    if not is_distributed():
        return obj
    box = [obj if dist.get_rank() == src else None]

    def send() -> None:
        dist.broadcast_object_list(box, src=src)

    _collective("a broadcast", send)
    return box[0]


def run_on_rank0(fn: Callable[[], T], what: str = "the task") -> T:
    """Call ``fn`` on rank 0 only and send its result to every rank.

    For work that must happen once, such as computing a positional
    encoding or reading a results file. If ``fn`` raises on rank 0, the
    exception is re-raised there and every other rank raises a
    :class:`RuntimeError` with its message, so all ranks stop together.
    Outside a process group ``fn`` is simply called.

    Args:
        fn (Callable[[], Any]): The work, returning a picklable result.
        what (str): What ``fn`` does, for error messages.
            (default: :obj:`"the task"`)

    Returns:
        Any: The result of ``fn`` on rank 0, on every rank.

    Raises:
        DistributedError: If a rank failed or timed out in the broadcast.
    """
    if not is_distributed():
        return fn()
    if dist.get_rank() == 0:
        try:
            result = fn()
        except Exception as error:
            broadcast_object(
                ("error", f"{type(error).__name__}: {error}"), src=0
            )
            raise
        broadcast_object(("ok", result), src=0)
        return result
    status, value = broadcast_object(None, src=0)
    if status == "error":
        raise RuntimeError(f"rank 0 failed in {what}: {value}")
    return value


def parameters_agree(module: Module, atol: float = 0.0) -> bool:
    """Whether every rank holds the same parameters as rank 0.

    Compares each parameter with rank 0's copy, sent by a broadcast; meant
    for tests and sanity checks, as it costs one broadcast of every
    parameter. Outside a process group it returns :obj:`True`.

    Args:
        module (torch.nn.Module): The module whose parameters to compare.
        atol (float): The largest accepted absolute difference.
            (default: :obj:`0.0`, bitwise equal values)

    Returns:
        bool: The same answer on every rank.

    Raises:
        DistributedError: If another rank failed or timed out.
    """
    if not is_distributed():
        return True
    agree = True
    for param in module.parameters():
        reference = param.detach().clone()
        _collective(
            "a parameter broadcast", lambda r=reference: dist.broadcast(r, 0)
        )
        if not torch.allclose(param.detach(), reference, rtol=0, atol=atol):
            agree = False
    flag = torch.tensor([0 if agree else 1], device=reference.device)
    _collective("an all-reduce", lambda: dist.all_reduce(flag))
    return int(flag.item()) == 0


class LinkLoss(Module):
    r"""One training step's link loss as a module call, for data parallelism.

    ``LinkLoss(model, rank, world_size)(data, pos, generator)`` does what
    one step of :func:`~pyg_signeq.training.train_epoch` does before the
    backward pass: encode the whole graph with ``model.encode_data(data)``,
    draw :math:`P` fresh negatives from ``generator`` with
    :func:`~pyg_signeq.training.uniform_negatives`, and score the links.
    Each rank scores only its contiguous share (:func:`shard_range`) of
    the positives and of the negatives, and returns

    .. math::
        \ell_r = \frac{W}{2P} \sum_{i \in \mathrm{share}_r}
        \mathrm{BCE}(s_i, y_i),

    for :math:`W` ranks. When every rank passes the same ``pos`` and a
    generator in the same state, the shares partition the step's
    :math:`2P` links, and the mean of the :math:`\ell_r` over ranks, whose
    gradient is what :class:`~torch.nn.parallel.DistributedDataParallel`
    averages, is the mean loss of the whole batch: data-parallel training
    follows the single-process trajectory up to rounding, whatever the
    share sizes. With ``rank=0, world_size=1`` it is the single-process
    loss.

    Wrap it with :func:`wrap_link_loss`, and pass the wrapper to
    :func:`~pyg_signeq.training.train_epoch` as ``ddp``.

    Args:
        model (torch.nn.Module): A :class:`~pyg_signeq.nn.LinkPredictor`
            or any module with its ``encode_data`` and ``decode``.
        rank (int): This process's rank. (default: :obj:`0`)
        world_size (int): The number of ranks. (default: :obj:`1`)

    Shapes:
        - **input:** pos :math:`[2, P]`, the step's positive links
          (all ranks' shares)
        - **output:** the scaled loss :math:`\ell_r` and the unscaled,
          detached sum of this rank's BCE terms, both scalars
    """

    def __init__(self, model: Module, rank: int = 0, world_size: int = 1):
        super().__init__()
        from pyg_signeq.training import _check_model

        _check_model(model)
        shard_range(0, rank, world_size)  # validates rank and world_size
        self.model = model
        self.rank = rank
        self.world_size = world_size

    def forward(
        self, data: Data, pos: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        """Return this rank's scaled loss and its plain sum of terms.

        Args:
            data (torch_geometric.data.Data): The training graph.
            pos (torch.Tensor): The step's positive links, all shares.
            generator (torch.Generator): The source of the negatives, in
                the same state on every rank.
        """
        from pyg_signeq.training import _num_rows, uniform_negatives

        embedding = self.model.encode_data(data)
        num_pos = pos.size(1)
        neg = uniform_negatives(
            _num_rows(embedding), num_pos, generator, pos.device
        )
        share = shard_range(num_pos, self.rank, self.world_size)
        links = torch.cat([pos[:, share], neg[:, share]], dim=1)
        logits = self.model.decode(embedding, links)
        size = share.stop - share.start
        target = torch.cat([logits.new_ones(size), logits.new_zeros(size)])
        total = F.binary_cross_entropy_with_logits(
            logits, target, reduction="sum"
        )
        scaled = total * (self.world_size / (2 * num_pos))
        return scaled, total.detach()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.model}, rank={self.rank}, "
            f"world_size={self.world_size})"
        )


def wrap_link_loss(
    model: Module, find_unused_parameters: bool = False
) -> Module:
    """Wrap ``model``'s link loss in ``DistributedDataParallel``.

    Returns ``DistributedDataParallel(LinkLoss(model, rank, world_size))``
    for :func:`pyg_signeq.training.train_epoch` (``ddp=``); wrapping
    broadcasts rank 0's parameters and buffers to every rank, so all ranks
    start from the same model. On a GPU the wrapper uses the device of the
    model's parameters.

    Args:
        model (torch.nn.Module): A link predictor with ``encode_data`` and
            ``decode``, such as :class:`~pyg_signeq.nn.LinkPredictor`.
        find_unused_parameters (bool): Passed to
            ``DistributedDataParallel``; set it for models with trainable
            parameters that some steps do not use. (default: :obj:`False`)

    Returns:
        torch.nn.Module: The wrapped loss.

    Raises:
        RuntimeError: If no process group is initialised.
    """
    from torch.nn.parallel import DistributedDataParallel

    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            "wrap_link_loss: no process group is initialised; call "
            "pyg_signeq.distributed.init_distributed() first (under "
            "torchrun)"
        )
    loss = LinkLoss(model, dist.get_rank(), dist.get_world_size())
    device_ids = None
    param = next(model.parameters(), None)
    if param is not None and param.device.type == "cuda":
        device_ids = [param.device.index]

    def wrap() -> Module:
        return DistributedDataParallel(
            loss,
            device_ids=device_ids,
            find_unused_parameters=find_unused_parameters,
        )

    return _collective("wrapping the model in DistributedDataParallel", wrap)
