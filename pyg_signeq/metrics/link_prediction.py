"""Ranking and classification metrics for link prediction.

Every function is stateless and takes the scores of the positive edges,
:obj:`y_pred_pos` of shape :obj:`[num_pos]`, and the scores of the negative
edges, :obj:`y_pred_neg`, in one of two layouts:

* :obj:`[num_neg]`: negatives shared by every positive, as in the Hits@K
  datasets of OGB (``ogbl-collab``, ``ogbl-ddi``, ``ogbl-ppa``);
* :obj:`[num_pos, num_neg]`: row :obj:`i` holds the negatives ranked
  against positive :obj:`i` only, as in the MRR datasets of OGB
  (``ogbl-citation2``).

Scores may be :class:`torch.Tensor` on any device or :class:`numpy.ndarray`,
of any real dtype. The ranking metrics (:func:`hits_at_k`, :func:`mrr`) run
in torch on the device of :obj:`y_pred_neg`, so a large negative matrix on a
GPU is never copied to the host. Every function returns a Python
:class:`float`.
"""

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import Tensor

ArrayLike = Tensor | np.ndarray

_METRIC_NAMES = "'auc', 'ap', 'mrr' and 'hits@K' for an integer K >= 1"


def _as_tensor(name: str, value: ArrayLike) -> Tensor:
    if isinstance(value, np.ndarray):
        # numpy reports dtype kinds as letters: f float, i int, u unsigned.
        if value.dtype.kind not in "fiu":
            raise TypeError(
                f"{name} must hold real numbers (float or integer dtype), "
                f"got numpy dtype {value.dtype}"
            )
        return torch.as_tensor(value)
    if isinstance(value, Tensor):
        if value.dtype.is_complex or value.dtype == torch.bool:
            raise TypeError(
                f"{name} must hold real numbers (float or integer dtype), "
                f"got torch dtype {value.dtype}"
            )
        # Metrics never need gradients, and detaching keeps torch.topk from
        # recording a backward graph for large score matrices.
        return value.detach()
    raise TypeError(
        f"{name} must be a torch.Tensor or a numpy.ndarray, "
        f"got {type(value).__name__}"
    )


def _check_scores(
    y_pred_pos: ArrayLike,
    y_pred_neg: ArrayLike,
    allow_inf: bool,
) -> tuple[Tensor, Tensor]:
    pos = _as_tensor("y_pred_pos", y_pred_pos)
    neg = _as_tensor("y_pred_neg", y_pred_neg)

    if pos.dim() != 1:
        raise ValueError(
            f"y_pred_pos must be one-dimensional [num_pos], "
            f"got shape {tuple(pos.shape)}"
        )
    if neg.dim() not in (1, 2):
        raise ValueError(
            f"y_pred_neg must be [num_neg] (shared negatives) or "
            f"[num_pos, num_neg] (negatives per positive), "
            f"got shape {tuple(neg.shape)}"
        )
    if pos.numel() == 0:
        raise ValueError(
            f"y_pred_pos must hold at least one score, "
            f"got shape {tuple(pos.shape)}"
        )
    if neg.dim() == 2 and neg.size(0) != pos.size(0):
        raise ValueError(
            f"y_pred_neg of shape [num_pos, num_neg] must have one row per "
            f"positive, got {neg.size(0)} rows for num_pos={pos.size(0)} "
            f"(shape {tuple(neg.shape)})"
        )
    if neg.size(-1) == 0:
        raise ValueError(
            f"y_pred_neg must hold at least one negative score per "
            f"positive, got shape {tuple(neg.shape)}"
        )

    # OGB's tie rules compare scores with > and >=, which are both false
    # for NaN, so a NaN would silently count as a tie-free loss or win.
    for name, scores in (("y_pred_pos", pos), ("y_pred_neg", neg)):
        num_nan = int(torch.isnan(scores).sum())
        if num_nan > 0:
            raise ValueError(
                f"{name} must not contain NaN, since a NaN score has no "
                f"rank; got {num_nan} NaN of {scores.numel()} scores"
            )
        if not allow_inf:
            num_inf = int(torch.isinf(scores).sum())
            if num_inf > 0:
                raise ValueError(
                    f"{name} must be finite for ROC-AUC and average "
                    f"precision (scikit-learn rejects infinity); got "
                    f"{num_inf} infinite of {scores.numel()} scores"
                )

    # A common dtype lets torch.searchsorted compare the two directly, and
    # the common device follows y_pred_neg, the larger of the two.
    dtype = torch.promote_types(pos.dtype, neg.dtype)
    pos = pos.to(device=neg.device, dtype=dtype)
    neg = neg.to(dtype=dtype)

    return pos, neg


def _check_k(k: int) -> int:
    # bool is a subclass of int, but hits@True is certainly a mistake.
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(
            f"k must be an integer >= 1 (the number of top-ranked "
            f"negatives a positive must beat), got {k!r}"
        )
    if k < 1:
        raise ValueError(
            f"k must be an integer >= 1 (the number of top-ranked "
            f"negatives a positive must beat), got {k}"
        )

    return int(k)


def _binary_labels_and_scores(
    pos: Tensor,
    neg: Tensor,
) -> tuple[np.ndarray, np.ndarray]:
    # float64 holds every float16, bfloat16 and float32 score exactly, and
    # numpy has no bfloat16, so the cast keeps all ranks and ties intact.
    y_score = torch.cat([pos, neg.reshape(-1)]).cpu().to(torch.float64)
    y_true = np.concatenate(
        [np.ones(pos.numel(), dtype=np.int64), np.zeros(neg.numel(), np.int64)]
    )

    return y_true, y_score.numpy()


def roc_auc(y_pred_pos: ArrayLike, y_pred_neg: ArrayLike) -> float:
    r"""Area under the ROC curve of positive against negative scores.

    Calls :func:`sklearn.metrics.roc_auc_score` with label 1 for every
    positive and 0 for every negative, which is what OGB's
    :obj:`Evaluator` does for ``ogbl-vessel``. The value equals the
    probability that a random positive outscores a random negative, a tie
    counting one half:

    .. math::
        \mathrm{AUC} = \frac{1}{PN} \sum_{i, j}
        \left( [s^+_i > s^-_j] + \tfrac{1}{2} [s^+_i = s^-_j] \right)

    A :obj:`[num_pos, num_neg]` :obj:`y_pred_neg` is pooled: all
    :obj:`num_pos * num_neg` negatives are ranked against all positives,
    and the row a negative belongs to is ignored.

    Args:
        y_pred_pos (torch.Tensor or numpy.ndarray): Scores of the positive
            edges.
        y_pred_neg (torch.Tensor or numpy.ndarray): Scores of the negative
            edges, shared or per positive.

    Returns:
        float: The ROC-AUC in :obj:`[0, 1]`.

    Shapes:
        - **y_pred_pos:** :obj:`[num_pos]`
        - **y_pred_neg:** :obj:`[num_neg]` or :obj:`[num_pos, num_neg]`

    Raises:
        TypeError: If a score array is neither a tensor nor an ndarray, or
            does not hold real numbers.
        ValueError: If a shape is wrong, an input is empty, or a score is
            NaN or infinite.
    """
    pos, neg = _check_scores(y_pred_pos, y_pred_neg, allow_inf=False)

    y_true, y_score = _binary_labels_and_scores(pos, neg)

    return float(roc_auc_score(y_true, y_score))


def average_precision(y_pred_pos: ArrayLike, y_pred_neg: ArrayLike) -> float:
    r"""Average precision of positive against negative scores.

    Calls :func:`sklearn.metrics.average_precision_score` with label 1 for
    every positive and 0 for every negative. This is the step-wise sum
    :math:`\sum_n (R_n - R_{n-1}) P_n` over distinct score thresholds, not
    an interpolated area; tied scores enter at one threshold together.

    A :obj:`[num_pos, num_neg]` :obj:`y_pred_neg` is pooled as in
    :func:`roc_auc`.

    Args:
        y_pred_pos (torch.Tensor or numpy.ndarray): Scores of the positive
            edges.
        y_pred_neg (torch.Tensor or numpy.ndarray): Scores of the negative
            edges, shared or per positive.

    Returns:
        float: The average precision in :obj:`(0, 1]`.

    Shapes:
        - **y_pred_pos:** :obj:`[num_pos]`
        - **y_pred_neg:** :obj:`[num_neg]` or :obj:`[num_pos, num_neg]`

    Raises:
        TypeError: If a score array is neither a tensor nor an ndarray, or
            does not hold real numbers.
        ValueError: If a shape is wrong, an input is empty, or a score is
            NaN or infinite.
    """
    pos, neg = _check_scores(y_pred_pos, y_pred_neg, allow_inf=False)

    y_true, y_score = _binary_labels_and_scores(pos, neg)

    return float(average_precision_score(y_true, y_score))


def hits_at_k(y_pred_pos: ArrayLike, y_pred_neg: ArrayLike, k: int) -> float:
    r"""Fraction of positives scored above the :math:`k`-th best negative.

    Follows OGB's Hits@K rule for ``ogbl-collab``, ``ogbl-ddi`` and
    ``ogbl-ppa``: with :math:`t` the :math:`k`-th largest negative score,
    a positive counts if its score is strictly greater than :math:`t`, so a
    positive tied with :math:`t` does not count. If there are fewer than
    :math:`k` negatives, every positive counts and the result is 1.0, as
    in OGB.

    .. math::
        \mathrm{Hits@}k = \frac{1}{P} \sum_{i=1}^{P}
        \left[ s^+_i > t_i \right]

    With shared negatives :obj:`[num_neg]`, :math:`t_i = t` for every
    positive and the value equals OGB's Evaluator. With negatives per
    positive :obj:`[num_pos, num_neg]`, :math:`t_i` is the :math:`k`-th
    largest score of row :math:`i`, so a matrix whose rows all repeat the
    shared negatives gives the shared result. OGB has no Hits@K for this
    layout in its Hits@K datasets; the ``hits@K_list`` its MRR datasets
    report is the different rule ``rank <= K`` on the tie-averaged rank of
    :func:`mrr`, which counts some positives tied with :math:`t_i`.

    Args:
        y_pred_pos (torch.Tensor or numpy.ndarray): Scores of the positive
            edges.
        y_pred_neg (torch.Tensor or numpy.ndarray): Scores of the negative
            edges, shared or per positive.
        k (int): How many of the top negatives a positive must beat.

    Returns:
        float: Hits@K in :obj:`[0, 1]`.

    Shapes:
        - **y_pred_pos:** :obj:`[num_pos]`
        - **y_pred_neg:** :obj:`[num_neg]` or :obj:`[num_pos, num_neg]`

    Raises:
        TypeError: If a score array is neither a tensor nor an ndarray, or
            does not hold real numbers.
        ValueError: If a shape is wrong, an input is empty, a score is NaN,
            or :obj:`k` is not an integer >= 1.
    """
    pos, neg = _check_scores(y_pred_pos, y_pred_neg, allow_inf=True)
    k = _check_k(k)

    if neg.size(-1) < k:
        return 1.0

    # topk is linear in num_neg, where a full sort would not be, and works
    # row-wise on the [num_pos, num_neg] layout alike.
    threshold = torch.topk(neg, k, dim=-1).values[..., -1]
    num_hits = int((pos > threshold).sum())

    return num_hits / pos.numel()


def mrr(y_pred_pos: ArrayLike, y_pred_neg: ArrayLike) -> float:
    r"""Mean reciprocal rank of each positive among its negatives.

    Follows OGB's MRR rule for ``ogbl-citation2``: ties are broken neither
    for nor against the positive, its rank is the mean of the optimistic
    rank (only strictly higher negatives rank above it) and the pessimistic
    rank (tied negatives rank above it too):

    .. math::
        r_i = 1 + \tfrac{1}{2} \left( \left|\{j : s^-_{ij} > s^+_i\}\right|
        + \left|\{j : s^-_{ij} \geq s^+_i\}\right| \right),
        \qquad
        \mathrm{MRR} = \frac{1}{P} \sum_{i=1}^{P} \frac{1}{r_i}

    OGB only accepts :obj:`[num_pos, num_neg]`. Shared negatives
    :obj:`[num_neg]` are accepted here too and broadcast to every positive,
    giving the same value as the repeated matrix without building it.

    OGB averages reciprocal ranks stored in float32; this function averages
    them in float64, so the two agree to float32 rounding, not bit for bit.

    Args:
        y_pred_pos (torch.Tensor or numpy.ndarray): Scores of the positive
            edges.
        y_pred_neg (torch.Tensor or numpy.ndarray): Scores of the negative
            edges, shared or per positive.

    Returns:
        float: The MRR in :obj:`(0, 1]`.

    Shapes:
        - **y_pred_pos:** :obj:`[num_pos]`
        - **y_pred_neg:** :obj:`[num_neg]` or :obj:`[num_pos, num_neg]`

    Raises:
        TypeError: If a score array is neither a tensor nor an ndarray, or
            does not hold real numbers.
        ValueError: If a shape is wrong, an input is empty, or a score is
            NaN.
    """
    pos, neg = _check_scores(y_pred_pos, y_pred_neg, allow_inf=True)

    if neg.dim() == 1:
        # Sorting the shared negatives once turns both counts into binary
        # searches, instead of a [num_pos, num_neg] comparison matrix.
        sorted_neg = torch.sort(neg).values
        num_neg = sorted_neg.numel()
        num_above = num_neg - torch.searchsorted(sorted_neg, pos, right=True)
        num_at_least = num_neg - torch.searchsorted(sorted_neg, pos)
    else:
        num_above = (neg > pos.unsqueeze(-1)).sum(dim=-1)
        num_at_least = (neg >= pos.unsqueeze(-1)).sum(dim=-1)

    # 1 / r_i = 2 / (num_above + num_at_least + 2) keeps the half-integer
    # rank exact in integers; only the [num_pos] counts leave the device.
    twice_rank = (num_above + num_at_least + 2).cpu().to(torch.float64)

    return float((2.0 / twice_rank).mean())


def _parse_metric_name(name: str) -> int | None:
    # Returns k for 'hits@k' and None for the other valid names.
    if name in ("auc", "ap", "mrr"):
        return None
    if isinstance(name, str) and name.startswith("hits@"):
        k_text = name[len("hits@") :]
        if k_text.isdigit() and k_text.isascii() and int(k_text) >= 1:
            return int(k_text)
    raise ValueError(
        f"metrics holds the unknown metric name {name!r}; valid names are "
        f"{_METRIC_NAMES}"
    )


def link_metrics(
    y_pred_pos: ArrayLike,
    y_pred_neg: ArrayLike,
    metrics: Sequence[str] = ("auc", "ap", "hits@20", "mrr"),
) -> dict[str, float]:
    r"""Several link prediction metrics at once, selected by name.

    Names map to functions as follows: ``'auc'`` to :func:`roc_auc`,
    ``'ap'`` to :func:`average_precision`, ``'hits@K'`` to
    :func:`hits_at_k` with :obj:`k=K`, and ``'mrr'`` to :func:`mrr`. All
    names are checked before any metric is computed.

    Args:
        y_pred_pos (torch.Tensor or numpy.ndarray): Scores of the positive
            edges.
        y_pred_neg (torch.Tensor or numpy.ndarray): Scores of the negative
            edges, shared or per positive.
        metrics (Sequence[str], optional): Names of the metrics to compute.
            (default: :obj:`("auc", "ap", "hits@20", "mrr")`)

    Returns:
        dict[str, float]: The value of each requested metric, keyed by its
        name, in the order requested.

    Shapes:
        - **y_pred_pos:** :obj:`[num_pos]`
        - **y_pred_neg:** :obj:`[num_neg]` or :obj:`[num_pos, num_neg]`

    Raises:
        TypeError: If :obj:`metrics` is a single string, or a score array
            is neither a tensor nor an ndarray of real numbers.
        ValueError: If a metric name is unknown, or the scores break a rule
            of the metric functions.
    """
    # A bare string would otherwise be read letter by letter.
    if isinstance(metrics, str):
        raise TypeError(
            f"metrics must be a sequence of names such as ('auc', 'mrr'), "
            f"got the single string {metrics!r}"
        )
    ks = {name: _parse_metric_name(name) for name in metrics}

    results: dict[str, float] = {}
    for name, k in ks.items():
        if k is not None:
            results[name] = hits_at_k(y_pred_pos, y_pred_neg, k)
        elif name == "auc":
            results[name] = roc_auc(y_pred_pos, y_pred_neg)
        elif name == "ap":
            results[name] = average_precision(y_pred_pos, y_pred_neg)
        else:
            results[name] = mrr(y_pred_pos, y_pred_neg)

    return results
