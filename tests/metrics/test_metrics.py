import math

import numpy as np
import pytest
import torch
from ogb.linkproppred import Evaluator

from pyg_signeq.metrics import (
    average_precision,
    hits_at_k,
    link_metrics,
    mrr,
    roc_auc,
)

SEEDS = range(8)
KS = [1, 2, 3, 5, 20]


# Slow, obvious reference implementations. Each works on Python lists and
# follows the written rule one positive (or one threshold) at a time.


def _rows(pos: list[float], neg: list) -> list[list[float]]:
    # Shared negatives [num_neg] become one identical row per positive.
    if neg and isinstance(neg[0], list):
        return neg
    return [neg for _ in pos]


def slow_hits(pos: list[float], neg: list, k: int) -> float:
    hits = 0
    for p, row in zip(pos, _rows(pos, neg), strict=True):
        if len(row) < k:
            hits += 1
            continue
        threshold = sorted(row, reverse=True)[k - 1]
        if p > threshold:
            hits += 1
    return hits / len(pos)


def slow_mrr(pos: list[float], neg: list) -> float:
    total = 0.0
    for p, row in zip(pos, _rows(pos, neg), strict=True):
        above = sum(1 for n in row if n > p)
        at_least = sum(1 for n in row if n >= p)
        total += 1.0 / (1.0 + 0.5 * (above + at_least))
    return total / len(pos)


def _pooled(neg: list) -> list[float]:
    if neg and isinstance(neg[0], list):
        return [n for row in neg for n in row]
    return neg


def slow_auc(pos: list[float], neg: list) -> float:
    negs = _pooled(neg)
    wins = 0.0
    for p in pos:
        for n in negs:
            if p > n:
                wins += 1.0
            elif p == n:
                wins += 0.5
    return wins / (len(pos) * len(negs))


def slow_ap(pos: list[float], neg: list) -> float:
    negs = _pooled(neg)
    ap = 0.0
    prev_recall = 0.0
    # Every distinct score is one threshold; tied scores enter together.
    for t in sorted(set(pos) | set(negs), reverse=True):
        true_pos = sum(1 for p in pos if p >= t)
        predicted = true_pos + sum(1 for n in negs if n >= t)
        recall = true_pos / len(pos)
        ap += (recall - prev_recall) * (true_pos / predicted)
        prev_recall = recall
    return ap


def tied_scores(
    seed: int, per_positive: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    # Scores drawn from four integers make most comparisons ties.
    gen = torch.Generator().manual_seed(seed)
    num_pos = int(torch.randint(1, 10, (), generator=gen))
    num_neg = int(torch.randint(1, 12, (), generator=gen))
    neg_shape = (num_pos, num_neg) if per_positive else (num_neg,)
    pos = torch.randint(0, 4, (num_pos,), generator=gen).to(torch.float64)
    neg = torch.randint(0, 4, neg_shape, generator=gen).to(torch.float64)
    return pos, neg


# Oracle tests against the slow loops.


@pytest.mark.parametrize("per_positive", [False, True])
@pytest.mark.parametrize("k", KS)
@pytest.mark.parametrize("seed", SEEDS)
def test_hits_at_k_matches_slow_loop(seed, k, per_positive):
    pos, neg = tied_scores(seed, per_positive)

    expected = slow_hits(pos.tolist(), neg.tolist(), k)

    assert hits_at_k(pos, neg, k) == expected


@pytest.mark.parametrize("per_positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_mrr_matches_slow_loop(seed, per_positive):
    pos, neg = tied_scores(seed, per_positive)

    expected = slow_mrr(pos.tolist(), neg.tolist())

    assert mrr(pos, neg) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("per_positive", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_auc_and_ap_match_slow_loops(seed, per_positive):
    pos, neg = tied_scores(seed, per_positive)

    pos_list, neg_list = pos.tolist(), neg.tolist()

    assert roc_auc(pos, neg) == pytest.approx(slow_auc(pos_list, neg_list))
    assert average_precision(pos, neg) == pytest.approx(
        slow_ap(pos_list, neg_list)
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_shared_negatives_equal_repeated_rows(seed):
    pos, neg = tied_scores(seed, per_positive=False)
    repeated = neg.expand(pos.numel(), -1)

    assert mrr(pos, neg) == mrr(pos, repeated)
    for k in KS:
        assert hits_at_k(pos, neg, k) == hits_at_k(pos, repeated, k)


# Oracle tests against OGB's own Evaluator on the same inputs.


@pytest.mark.parametrize(
    ("name", "k"),
    [("ogbl-ddi", 20), ("ogbl-collab", 50), ("ogbl-ppa", 100)],
)
def test_ogb_evaluator_names_have_expected_k(name, k):
    # Evaluator reads master.csv shipped inside the ogb package, so this
    # needs no network; it also pins the K each oracle test relies on.
    evaluator = Evaluator(name)

    assert evaluator.eval_metric == f"hits@{k}"
    assert evaluator.K == k


@pytest.mark.parametrize("as_numpy", [False, True])
@pytest.mark.parametrize("name", ["ogbl-ddi", "ogbl-collab", "ogbl-ppa"])
@pytest.mark.parametrize("seed", SEEDS)
def test_hits_at_k_equals_ogb_evaluator(seed, name, as_numpy):
    evaluator = Evaluator(name)
    gen = torch.Generator().manual_seed(seed)
    # 150 negatives from 30 values keep ties at every K in {20, 50, 100}.
    pos = torch.randint(0, 30, (40,), generator=gen).to(torch.float32)
    neg = torch.randint(0, 30, (150,), generator=gen).to(torch.float32)
    if as_numpy:
        pos, neg = pos.numpy(), neg.numpy()

    expected = evaluator.eval({"y_pred_pos": pos, "y_pred_neg": neg})

    assert hits_at_k(pos, neg, evaluator.K) == expected[f"hits@{evaluator.K}"]


def test_hits_at_k_positive_tied_with_kth_negative_does_not_count():
    # Sorted descending the negatives are five 10s, then fifteen 7s, so
    # the 20th best is 7; of the positives only 8, 10 and 11 beat it.
    neg = torch.tensor([10.0] * 5 + [7.0] * 15 + [1.0] * 5)
    pos = torch.tensor([7.0, 8.0, 10.0, 11.0, 6.0])

    expected = Evaluator("ogbl-ddi").eval(
        {"y_pred_pos": pos, "y_pred_neg": neg}
    )

    assert hits_at_k(pos, neg, 20) == 3 / 5
    assert expected["hits@20"] == 3 / 5


def test_hits_at_k_fewer_negatives_than_k_is_one_like_ogb():
    pos = torch.zeros(4)
    neg = torch.ones(99)

    expected = Evaluator("ogbl-ppa").eval(
        {"y_pred_pos": pos, "y_pred_neg": neg}
    )

    assert hits_at_k(pos, neg, 100) == 1.0
    assert expected["hits@100"] == 1.0
    assert hits_at_k(pos, neg, 99) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_mrr_equals_ogb_evaluator(seed):
    evaluator = Evaluator("ogbl-citation2")
    gen = torch.Generator().manual_seed(seed)
    pos = torch.randint(0, 6, (30,), generator=gen).to(torch.float32)
    neg = torch.randint(0, 6, (30, 25), generator=gen).to(torch.float32)

    expected = evaluator.eval({"y_pred_pos": pos, "y_pred_neg": neg})

    # OGB stores reciprocal ranks in float32, so it agrees to that
    # rounding only.
    assert evaluator.eval_metric == "mrr"
    assert mrr(pos, neg) == pytest.approx(
        float(expected["mrr_list"].double().mean()), rel=1e-6
    )


@pytest.mark.parametrize(
    ("pos", "neg", "rank"),
    [
        # One negative above, two tied: ranks 2 and 4 average to 3.
        ([2.0], [[3.0, 2.0, 2.0, 1.0]], 3.0),
        # Tied with all three negatives: ranks 1 and 4 average to 2.5.
        ([1.0], [[1.0, 1.0, 1.0]], 2.5),
        # No ties: the plain rank.
        ([5.0], [[6.0, 4.0, 7.0]], 3.0),
    ],
)
def test_mrr_ties_average_optimistic_and_pessimistic_rank(pos, neg, rank):
    pos, neg = torch.tensor(pos), torch.tensor(neg)

    expected = Evaluator("ogbl-citation2").eval(
        {"y_pred_pos": pos, "y_pred_neg": neg}
    )

    assert mrr(pos, neg) == 1.0 / rank
    assert float(expected["mrr_list"][0]) == pytest.approx(1.0 / rank)


def test_per_row_hits_differs_from_ogb_mrr_hits_list_on_ties():
    # The docstring of hits_at_k promises this difference: a positive tied
    # with all three of its negatives has tie-averaged rank 2.5, a hit for
    # OGB's hits@3_list, but it does not beat the 3rd best negative.
    pos, neg = torch.tensor([3.0]), torch.tensor([[3.0, 3.0, 3.0]])

    expected = Evaluator("ogbl-citation2").eval(
        {"y_pred_pos": pos, "y_pred_neg": neg}
    )

    assert float(expected["hits@3_list"][0]) == 1.0
    assert hits_at_k(pos, neg, 3) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_roc_auc_equals_ogb_evaluator(seed):
    gen = torch.Generator().manual_seed(seed)
    pos = torch.randint(0, 5, (30,), generator=gen).to(torch.float32)
    neg = torch.randint(0, 5, (45,), generator=gen).to(torch.float32)

    expected = Evaluator("ogbl-vessel").eval(
        {"y_pred_pos": pos, "y_pred_neg": neg}
    )

    assert roc_auc(pos, neg) == expected["rocauc"]


# AUC and AP on cases with closed-form answers.


@pytest.mark.parametrize(
    ("pos", "neg", "auc", "ap"),
    [
        # Perfect separation.
        ([3.0, 4.0], [1.0, 2.0], 1.0, 1.0),
        # Reversed: recall steps to 1/2 at precision 1/3, then to 1 at
        # precision 2/4.
        ([1.0, 2.0], [3.0, 4.0], 0.0, 0.5 * (1 / 3) + 0.5 * (2 / 4)),
        # All tied: one threshold at precision P / (P + N).
        ([1.0, 1.0], [1.0, 1.0, 1.0], 0.5, 2 / 5),
        # One positive tied with one negative, one above both.
        ([2.0, 1.0], [1.0], 0.75, 0.5 * 1.0 + 0.5 * (2 / 3)),
    ],
)
def test_auc_and_ap_closed_form(pos, neg, auc, ap):
    pos, neg = torch.tensor(pos), torch.tensor(neg)

    assert roc_auc(pos, neg) == pytest.approx(auc, abs=1e-12)
    assert average_precision(pos, neg) == pytest.approx(ap, abs=1e-12)


def test_auc_and_ap_pool_per_positive_negatives():
    pos = torch.tensor([0.9, 0.2, 0.6])
    neg = torch.tensor([[0.1, 0.7], [0.3, 0.2], [0.5, 0.95]])

    assert roc_auc(pos, neg) == roc_auc(pos, neg.flatten())
    assert average_precision(pos, neg) == average_precision(pos, neg.flatten())


# Input types, dtypes and the returned type.

ALL_METRICS = [
    pytest.param(roc_auc, id="roc_auc"),
    pytest.param(average_precision, id="average_precision"),
    pytest.param(lambda pos, neg: hits_at_k(pos, neg, 2), id="hits_at_k"),
    pytest.param(mrr, id="mrr"),
]


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float32, torch.int64]
)
def test_dtypes_agree_with_float64(metric, dtype):
    # Small integers are exact in every dtype, so all ranks must agree.
    pos, neg = tied_scores(seed=3, per_positive=False)

    value = metric(pos.to(dtype), neg.to(dtype))

    assert type(value) is float
    assert value == metric(pos, neg)


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_numpy_torch_and_mixed_inputs_agree(metric):
    pos, neg = tied_scores(seed=5, per_positive=False)

    expected = metric(pos, neg)

    assert metric(pos.numpy(), neg.numpy()) == expected
    assert metric(pos.numpy(), neg) == expected
    assert metric(pos, neg.numpy().astype(np.float32)) == expected


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_inputs_that_require_grad_are_accepted(metric):
    pos = torch.tensor([0.3, 0.8], requires_grad=True)
    neg = torch.tensor([0.1, 0.5, 0.9], requires_grad=True)

    assert metric(pos, neg) == metric(pos.detach(), neg.detach())


def test_ranking_metrics_accept_infinite_scores():
    pos = torch.tensor([math.inf, 0.0])
    neg = torch.tensor([[1.0, -math.inf], [math.inf, -1.0]])

    assert hits_at_k(pos, neg, 1) == 0.5
    assert mrr(pos, neg) == pytest.approx((1.0 + 0.5) / 2)


def test_hits_at_k_accepts_numpy_integer_k():
    pos, neg = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 3.0])

    assert hits_at_k(pos, neg, np.int64(2)) == 0.5


# link_metrics.


def test_link_metrics_matches_the_single_functions():
    pos, neg = tied_scores(seed=2, per_positive=True)

    result = link_metrics(pos, neg, ("mrr", "hits@3", "auc", "ap"))

    assert list(result) == ["mrr", "hits@3", "auc", "ap"]
    assert result == {
        "mrr": mrr(pos, neg),
        "hits@3": hits_at_k(pos, neg, 3),
        "auc": roc_auc(pos, neg),
        "ap": average_precision(pos, neg),
    }


def test_link_metrics_default_names():
    pos, neg = tied_scores(seed=1, per_positive=False)

    assert list(link_metrics(pos, neg)) == ["auc", "ap", "hits@20", "mrr"]


@pytest.mark.parametrize(
    "name", ["hits@0", "hits@", "hits@2.5", "hits@-1", "MRR", "roc", 20]
)
def test_link_metrics_rejects_unknown_names(name):
    pos, neg = torch.tensor([1.0]), torch.tensor([0.0])

    with pytest.raises(
        ValueError,
        match=rf"unknown metric name {name!r}; valid names are 'auc', 'ap'",
    ):
        link_metrics(pos, neg, ("auc", name))


def test_link_metrics_checks_names_before_computing():
    # The scores are invalid too, but the name error must come first.
    pos, neg = torch.tensor([math.nan]), torch.tensor([0.0])

    with pytest.raises(ValueError, match="unknown metric name 'foo'"):
        link_metrics(pos, neg, ("mrr", "foo"))


def test_link_metrics_rejects_a_single_string():
    pos, neg = torch.tensor([1.0]), torch.tensor([0.0])

    with pytest.raises(TypeError, match="got the single string 'mrr'"):
        link_metrics(pos, neg, "mrr")


# Validation at the boundary.


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    ("pos", "neg", "match"),
    [
        (
            torch.zeros(2, 1),
            torch.zeros(3),
            r"y_pred_pos must be one-dimensional \[num_pos\], "
            r"got shape \(2, 1\)",
        ),
        (
            torch.zeros(2),
            torch.zeros(2, 3, 1),
            r"y_pred_neg must be \[num_neg\] .* got shape \(2, 3, 1\)",
        ),
        (
            torch.zeros(2),
            torch.zeros(3, 4),
            r"one row per positive, got 3 rows for num_pos=2",
        ),
        (
            torch.zeros(0),
            torch.zeros(3),
            r"y_pred_pos must hold at least one score, got shape \(0,\)",
        ),
        (
            torch.zeros(2),
            torch.zeros(0),
            r"y_pred_neg must hold at least one negative .* shape \(0,\)",
        ),
        (
            torch.zeros(2),
            torch.zeros(2, 0),
            r"y_pred_neg must hold at least one negative .* shape \(2, 0\)",
        ),
        (
            torch.tensor([0.0, math.nan]),
            torch.zeros(3),
            r"y_pred_pos must not contain NaN.* 1 NaN of 2 scores",
        ),
        (
            torch.zeros(2),
            torch.tensor([[0.0, math.nan], [math.nan, 1.0]]),
            r"y_pred_neg must not contain NaN.* 2 NaN of 4 scores",
        ),
    ],
)
def test_bad_scores_raise_value_error(metric, pos, neg, match):
    with pytest.raises(ValueError, match=match):
        metric(pos, neg)


@pytest.mark.parametrize("metric", [roc_auc, average_precision])
def test_auc_and_ap_reject_infinite_scores(metric):
    pos, neg = torch.tensor([1.0, math.inf]), torch.zeros(3)

    with pytest.raises(
        ValueError, match=r"y_pred_pos must be finite .* 1 infinite of 2"
    ):
        metric(pos, neg)


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    ("neg", "match"),
    [
        ([0.0, 1.0], r"y_pred_neg must be a torch.Tensor .* got list"),
        (
            torch.tensor([True, False]),
            r"y_pred_neg must hold real numbers .* torch dtype torch.bool",
        ),
        (
            np.array([1 + 1j]),
            r"y_pred_neg must hold real numbers .* numpy dtype complex128",
        ),
    ],
)
def test_bad_score_types_raise_type_error(metric, neg, match):
    with pytest.raises(TypeError, match=match):
        metric(torch.zeros(2), neg)


@pytest.mark.parametrize(
    ("k", "shown"),
    [(0, "0"), (-3, "-3"), (2.5, "2.5"), (True, "True"), ("3", "'3'")],
)
def test_hits_at_k_rejects_bad_k(k, shown):
    pos, neg = torch.zeros(2), torch.zeros(3)

    with pytest.raises(
        ValueError, match=rf"k must be an integer >= 1 .*, got {shown}$"
    ):
        hits_at_k(pos, neg, k)
