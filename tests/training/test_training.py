import math

import pytest
import torch
import torch_geometric.transforms as T
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.data import Data

from pyg_signeq import training
from pyg_signeq.data import nearly_symmetric
from pyg_signeq.nn import LinkEmbedding, LinkPredictor, build_model
from pyg_signeq.training import (
    FitResult,
    evaluate,
    fit,
    train_epoch,
    uniform_negatives,
)
from pyg_signeq.transforms import AddLaplacianPE, add_train_pe

K = 8


def make_split(seed: int = 0, scale: bool = False):
    """Four copies of a 40-node ER graph, split 80/10/10, PE from train.

    Almost every true edge joins two nodes of one copy, while three in
    four uniform pairs cross copies, and the low Laplacian eigenvectors
    tell the copies apart: an easy task for a model on the PE.
    """
    data = nearly_symmetric("er", 40, 4, 10, seed=seed, p=0.15)
    split = T.RandomLinkSplit(
        num_val=0.1,
        num_test=0.1,
        is_undirected=True,
        add_negative_train_samples=False,
    )
    # RandomLinkSplit draws from the global generator.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        splits = split(data)
    splits = add_train_pe(*splits, AddLaplacianPE(K, seed=0))
    if scale:
        # Unit eigenvectors have entries near 1 / sqrt(N); scaled to O(1),
        # an MLP on their products learns in a few epochs.
        for part in splits:
            part.pe = part.pe * math.sqrt(part.num_nodes)
    return splits


@pytest.fixture(scope="module")
def splits():
    return make_split()


def build(name: str, seed: int = 0) -> LinkPredictor:
    torch.manual_seed(seed)
    return build_model(name, k=K)


class Recorder(LinkPredictor):
    """A raw-eigenvector dot product with one trainable scale, recording
    every call to ``encode_data`` and ``decode``."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = Parameter(torch.ones(()))
        self.encoded = 0
        self.decoded: list[Tensor] = []

    def encode_data(self, data):
        self.encoded += 1
        h, z = super().encode_data(data)
        return LinkEmbedding(h, z * self.scale)

    def decode(self, embedding, edge_label_index):
        self.decoded.append(edge_label_index.clone())
        return super().decode(embedding, edge_label_index)


def pair_list(edge_index):
    return sorted(zip(*edge_index.tolist(), strict=True))


# uniform_negatives ----------------------------------------------------------


def test_uniform_negatives_shape_range_and_no_self_pairs():
    generator = torch.Generator().manual_seed(0)
    pairs = uniform_negatives(7, 5000, generator)
    assert pairs.shape == (2, 5000) and pairs.dtype == torch.long
    assert int(pairs.min()) == 0 and int(pairs.max()) == 6
    assert not bool((pairs[0] == pairs[1]).any())


def test_uniform_negatives_are_uniform_over_ordered_pairs():
    n, samples = 5, 40_000
    pairs = uniform_negatives(n, samples, torch.Generator().manual_seed(1))
    counts = torch.zeros(n, n)
    counts.index_put_((pairs[0], pairs[1]), torch.ones(samples), True)
    expected = samples / (n * (n - 1))
    off_diagonal = counts[~torch.eye(n, dtype=torch.bool)]
    # Each count is Binomial(40000, 1/20), standard deviation about 44.
    assert float((off_diagonal - expected).abs().max()) < 5 * 44
    assert float(counts.diagonal().sum()) == 0


def test_uniform_negatives_come_from_the_generator_only():
    torch.manual_seed(3)
    state = torch.get_rng_state()
    first = uniform_negatives(100, 50, torch.Generator().manual_seed(9))
    second = uniform_negatives(100, 50, torch.Generator().manual_seed(9))
    other = uniform_negatives(100, 50, torch.Generator().manual_seed(10))
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((1, 5), ValueError, "'num_nodes' must be at least 2, got 1"),
        ((5, -1), ValueError, "'num_samples' must be at least 0, got -1"),
        ((5.0, 3), TypeError, "'num_nodes' must be an int, got float"),
    ],
)
def test_uniform_negatives_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        uniform_negatives(*args, torch.Generator())


def test_uniform_negatives_needs_a_generator():
    with pytest.raises(TypeError, match="'generator' must be a torch.Gen"):
        uniform_negatives(5, 3, 0)


# train_epoch ----------------------------------------------------------------


def test_loss_goes_down_and_validation_auc_rises():
    train, val, test = make_split(scale=True)
    model = build("eigvec_mlp")
    before = evaluate(model, val)["auc"]

    result = fit(model, train, val, test, epochs=20, lr=0.01, seed=0)

    losses = [entry["loss"] for entry in result.history]
    assert losses[-1] < 0.6 * losses[0]
    assert result.val["auc"] > 0.8
    assert result.val["auc"] > before + 0.15
    assert result.test["auc"] > 0.75


def test_sign_dss_learns_on_unscaled_pe(splits):
    train, val, test = splits
    result = fit(build("sign_dss"), train, val, test, epochs=15, seed=0)
    losses = [entry["loss"] for entry in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert result.val["auc"] > 0.75


def test_full_batch_scores_training_positives_and_generator_negatives(
    splits,
):
    train = splits[0]
    model = Recorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.manual_seed(0)
    state = torch.get_rng_state()

    train_epoch(model, train, optimizer, torch.Generator().manual_seed(5))

    assert torch.equal(torch.get_rng_state(), state)
    assert model.encoded == 1 and len(model.decoded) == 1
    pos = train.edge_label_index[:, train.edge_label == 1]
    expected_neg = uniform_negatives(
        train.num_nodes, pos.size(1), torch.Generator().manual_seed(5)
    )
    assert torch.equal(model.decoded[0], torch.cat([pos, expected_neg], 1))


def test_labelled_training_negatives_are_ignored(splits):
    # RandomLinkSplit's default adds fixed negatives to the training split;
    # training uses fresh ones instead, and only the label-1 links.
    train = splits[0].clone()
    pos = train.edge_label_index
    fixed_neg = torch.tensor([[0, 1, 2], [50, 60, 70]])
    train.edge_label_index = torch.cat([pos, fixed_neg], dim=1)
    train.edge_label = torch.cat([train.edge_label, torch.zeros(3)])
    model = Recorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train_epoch(model, train, optimizer, torch.Generator().manual_seed(0))
    scored = model.decoded[0]
    assert scored.size(1) == 2 * pos.size(1)
    assert torch.equal(scored[:, : pos.size(1)], pos)


@pytest.mark.parametrize("undirected", [True, False])
def test_positives_from_edge_index(undirected):
    edges = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])
    if undirected:
        edge_index = torch.cat([edges, edges.flip(0)], dim=1)
        expected = [(0, 1), (0, 4), (1, 2), (2, 3), (3, 4)]
    else:
        edge_index = edges
        expected = pair_list(edges)
    # A self-loop is never a positive.
    edge_index = torch.cat([edge_index, torch.tensor([[2], [2]])], dim=1)
    data = Data(edge_index=edge_index, pe=torch.randn(5, 2), num_nodes=5)
    model = Recorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    train_epoch(model, data, optimizer, torch.Generator().manual_seed(0))

    scored = model.decoded[0]
    assert scored.size(1) == 2 * len(expected)
    assert pair_list(scored[:, : len(expected)]) == expected


@pytest.mark.parametrize("batch_size", [1, 7, 64, 10_000])
def test_mini_batches_take_one_step_per_batch(splits, batch_size):
    train = splits[0]
    pos = train.edge_label_index[:, train.edge_label == 1]
    num_pos = pos.size(1)
    model = Recorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    steps = []
    step = optimizer.step
    optimizer.step = lambda *args: steps.append(1) or step(*args)

    train_epoch(
        model, train, optimizer, torch.Generator().manual_seed(0), batch_size
    )

    num_steps = math.ceil(num_pos / batch_size)
    assert len(steps) == num_steps
    assert model.encoded == num_steps  # the graph is encoded every step
    assert len(model.decoded) == num_steps
    # Every positive is scored once, each batch with as many negatives.
    seen = []
    for scored in model.decoded:
        size = scored.size(1) // 2
        assert size <= batch_size
        seen.extend(pair_list(scored[:, :size]))
    assert sorted(seen) == pair_list(pos)


@pytest.mark.parametrize("batch_size", [None, 50])
def test_epoch_loss_is_the_mean_over_all_scored_links(splits, batch_size):
    # With a learning rate of 0 the model stays fixed, so the loss of every
    # recorded batch can be recomputed afterwards.
    train = splits[0]
    model = Recorder()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loss = train_epoch(
        model, train, optimizer, torch.Generator().manual_seed(2), batch_size
    )
    total, count = 0.0, 0
    with torch.no_grad():
        embedding = model.encode_data(train)
        for links in list(model.decoded):
            logits = model.decode(embedding, links)
            half = links.size(1) // 2
            target = torch.cat([torch.ones(half), torch.zeros(half)])
            total += torch.nn.functional.binary_cross_entropy_with_logits(
                logits, target, reduction="sum"
            ).item()
            count += links.size(1)
    assert loss == pytest.approx(total / count, rel=1e-5)


@pytest.mark.parametrize("batch_size", [None, 40])
def test_train_epoch_is_reproducible(splits, batch_size):
    train = splits[0]
    results = []
    for _ in range(2):
        model = build("sign_dss")
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        generator = torch.Generator().manual_seed(4)
        losses = [
            train_epoch(model, train, optimizer, generator, batch_size)
            for _ in range(2)
        ]
        results.append((losses, [p.clone() for p in model.parameters()]))
    (loss_a, params_a), (loss_b, params_b) = results
    assert loss_a == loss_b
    assert all(
        torch.equal(a, b) for a, b in zip(params_a, params_b, strict=True)
    )


def test_parameter_free_model_trains_without_optimizer(splits):
    model = build("eigvec_dot")
    loss = train_epoch(model, splits[0], None, torch.Generator())
    assert math.isfinite(loss) and loss > 0


def test_train_epoch_bad_arguments(splits):
    train = splits[0]
    model = build("sign_dss")
    generator = torch.Generator()
    optimizer = torch.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="'optimizer' may be None only"):
        train_epoch(model, train, None, generator)
    with pytest.raises(TypeError, match="'optimizer' must be a torch.optim"):
        train_epoch(model, train, "adam", generator)
    with pytest.raises(TypeError, match="'generator' must be a torch.Gen"):
        train_epoch(model, train, optimizer, 0)
    with pytest.raises(ValueError, match="'batch_size' must be at least 1"):
        train_epoch(model, train, optimizer, generator, 0)
    with pytest.raises(TypeError, match="'model' must be a torch.nn.Module"):
        train_epoch(torch.nn.Linear(2, 2), train, optimizer, generator)
    with pytest.raises(TypeError, match="'data' must be a torch_geometric"):
        train_epoch(model, {"edge_index": 0}, optimizer, generator)


def test_missing_pe_is_named_by_the_model(splits):
    train = splits[0].clone()
    del train.pe
    model = build("sign_dss")
    optimizer = torch.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="no 'pe' attribute"):
        train_epoch(model, train, optimizer, torch.Generator())


# evaluate -------------------------------------------------------------------

METRICS = ("auc", "ap", "hits@5", "mrr")


@pytest.fixture(scope="module")
def random_val():
    # Random positions in float64: no two pairs tie, unlike the twins of a
    # nearly symmetric graph, whose scores can tie exactly.
    generator = torch.Generator().manual_seed(0)
    num_nodes, num_links = 60, 200
    # Distinct unordered pairs: (u, w) and (w, u) would tie.
    pairs = torch.triu_indices(num_nodes, num_nodes, offset=1)
    order = torch.randperm(pairs.size(1), generator=generator)
    links = pairs[:, order[:num_links]]
    return Data(
        edge_index=torch.randint(num_nodes, (2, 300), generator=generator),
        pe=torch.randn(num_nodes, K, generator=generator, dtype=torch.double),
        num_nodes=num_nodes,
        edge_label_index=links,
        edge_label=(torch.rand(num_links, generator=generator) < 0.5).float(),
    )


@pytest.mark.parametrize("name", ["sign_dss", "eigvec_mlp", "sign_eq"])
@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_chunked_evaluation_equals_unchunked(random_val, name, batch_size):
    # Matrix products may round differently for different numbers of rows,
    # so an MLP head's chunked scores can differ in the last bit; without
    # ties that cannot change a rank.
    model = build(name).double()
    whole = evaluate(model, random_val, METRICS)
    chunked = evaluate(model, random_val, METRICS, batch_size)
    assert chunked.keys() == whole.keys()
    for key, value in whole.items():
        assert chunked[key] == pytest.approx(value, abs=1e-12, rel=0)


@pytest.mark.parametrize("batch_size", [1, 7])
def test_chunked_dot_product_scores_are_exact(splits, batch_size):
    # A dot product head scores each pair on its own: bit for bit equal.
    _, val, _ = splits
    model = build("sign_dss")
    whole = evaluate(model, val, METRICS)
    assert evaluate(model, val, METRICS, batch_size) == whole


def test_explicit_links_equal_labelled_links(splits):
    _, val, _ = splits
    model = build("sign_dss")
    positive = val.edge_label == 1
    explicit = evaluate(
        model,
        val,
        METRICS,
        pos_edge_label_index=val.edge_label_index[:, positive],
        neg_edge_label_index=val.edge_label_index[:, ~positive],
    )
    assert explicit == evaluate(model, val, METRICS)


def test_evaluate_restores_every_module_mode(splits):
    model = build("sign_eq_gnn")
    model.train()
    model.node_encoder.eval()  # a partly frozen model
    modes = [module.training for module in model.modules()]
    evaluate(model, splits[1])
    assert [module.training for module in model.modules()] == modes
    model.eval()
    evaluate(model, splits[1])
    assert not any(module.training for module in model.modules())


def test_evaluate_matches_metrics_on_hand_scores():
    # Raw eigenvector dot products: scores are computable by hand.
    pe = torch.tensor([[1.0], [2.0], [-1.0], [0.5]])
    data = Data(
        edge_index=torch.tensor([[0, 1], [1, 0]]),
        pe=pe,
        num_nodes=4,
        edge_label_index=torch.tensor([[0, 1, 0, 2], [1, 3, 2, 3]]),
        edge_label=torch.tensor([1.0, 1.0, 0.0, 0.0]),
    )
    # Positive scores 2 and 1, negatives -1 and -0.5: perfectly ranked.
    result = evaluate(build("eigvec_dot"), data, ("auc", "mrr"))
    assert result == {"auc": 1.0, "mrr": 1.0}


def test_evaluate_ranks_per_positive_negatives_on_hand_scores():
    # Triplets: positive i is (src[i], dst_pos[i]), ranked only against
    # (src[i], dst_neg[i, j]). Scores are pe[u] * pe[w].
    pe = torch.tensor([[1.0], [2.0], [-1.0], [0.5], [3.0]])
    data = Data(
        edge_index=torch.tensor([[0, 1], [1, 0]]),
        pe=pe,
        num_nodes=5,
        src_index=torch.tensor([0, 2]),
        dst_pos_index=torch.tensor([1, 3]),
        dst_neg_index=torch.tensor([[4, 3], [0, 4]]),
    )
    # Positive 0 scores 2 against 3 and 0.5 (rank 2); positive 1 scores
    # -0.5 against -1 and -3 (rank 1).
    result = evaluate(build("eigvec_dot"), data, ("mrr", "hits@1"))
    assert result["mrr"] == pytest.approx((1 / 2 + 1) / 2)
    assert result["hits@1"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("no_src", r"'data.src_index' must be a tensor of shape \[num_pos\]"),
        ("flat_neg", r"'data.dst_neg_index' must be .*\[num_pos, num_neg\]"),
        ("short_src", r"must agree in num_pos"),
        ("no_neg", r"at least one positive and one negative per positive"),
        ("out_of_range", r"'data.dst_neg_index' must hold node indices in "),
    ],
)
def test_evaluate_bad_triplets(change, match):
    data = Data(
        edge_index=torch.tensor([[0, 1], [1, 0]]),
        pe=torch.randn(4, 1),
        num_nodes=4,
        src_index=torch.tensor([0, 1]),
        dst_pos_index=torch.tensor([1, 2]),
        dst_neg_index=torch.tensor([[2, 3], [3, 0]]),
    )
    if change == "no_src":
        del data.src_index
    elif change == "flat_neg":
        data.dst_neg_index = data.dst_neg_index.reshape(-1)
    elif change == "short_src":
        data.src_index = data.src_index[:1]
    elif change == "no_neg":
        data.dst_neg_index = data.dst_neg_index[:, :0]
    else:
        data.dst_neg_index = data.dst_neg_index + 4
    with pytest.raises(ValueError, match=match):
        evaluate(build("eigvec_dot"), data, ("mrr",))


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ("no_index", ValueError, "'data' has no 'edge_label_index'"),
        ("no_label", ValueError, "'data' has no 'edge_label'"),
        ("label_2", ValueError, r"only 0 .* and 1 .*got values such as \[2"),
        ("all_positive", ValueError, "at least one positive and one neg"),
        ("short_label", ValueError, r"'data.edge_label' must be a tensor of"),
    ],
)
def test_evaluate_bad_labels(splits, change, error, match):
    val = splits[1].clone()
    if change == "no_index":
        del val.edge_label_index
    elif change == "no_label":
        del val.edge_label
    elif change == "label_2":
        val.edge_label[0] = 2
    elif change == "all_positive":
        val.edge_label = torch.ones_like(val.edge_label)
    else:
        val.edge_label = val.edge_label[1:]
    with pytest.raises(error, match=match):
        evaluate(build("sign_dss"), val)


def test_evaluate_bad_arguments(splits):
    val = splits[1]
    model = build("sign_dss")
    pos = val.edge_label_index[:, val.edge_label == 1]
    with pytest.raises(ValueError, match="must be given together"):
        evaluate(model, val, pos_edge_label_index=pos)
    with pytest.raises(ValueError, match="'neg_edge_label_index' must hold"):
        evaluate(
            model,
            val,
            pos_edge_label_index=pos,
            neg_edge_label_index=pos[:, :0],
        )
    with pytest.raises(ValueError, match=r"unknown metric name 'acc'"):
        evaluate(model, val, ("auc", "acc"))
    with pytest.raises(TypeError, match="'metrics' must be a sequence"):
        evaluate(model, val, "auc")
    with pytest.raises(ValueError, match="'batch_size' must be at least 1"):
        evaluate(model, val, batch_size=0)


# fit ------------------------------------------------------------------------


class Scripted(LinkPredictor):
    """Scores that make validation and test AUC follow a script.

    Epoch ``e`` (counted by training-mode encodings, one per full-batch
    epoch) scores validation positives ``val_signs[e]`` and test positives
    ``test_signs[e]``, every other pair 0: AUC 1.0 for sign 1, 0.5 for 0 and
    0.0 for -1.
    """

    def __init__(self, val, test, val_signs, test_signs):
        super().__init__()
        self.weight = Parameter(torch.zeros(()))
        self.epoch = 0
        self.val_pos = set(
            pair_list(val.edge_label_index[:, val.edge_label == 1])
        )
        self.test_pos = set(
            pair_list(test.edge_label_index[:, test.edge_label == 1])
        )
        self.val_signs = val_signs
        self.test_signs = test_signs
        self.scored_test_at: list[int] = []

    def encode_data(self, data):
        if self.training:
            self.epoch += 1
        return LinkEmbedding(None, data.pe)

    def decode(self, embedding, edge_label_index):
        if self.training:
            return self.weight.expand(edge_label_index.size(1))
        pairs = list(zip(*edge_label_index.tolist(), strict=True))
        if any(pair in self.test_pos for pair in pairs):
            self.scored_test_at.append(self.epoch)
        e = self.epoch - 1
        return torch.tensor(
            [
                self.val_signs[e] * (pair in self.val_pos)
                + self.test_signs[e] * (pair in self.test_pos)
                for pair in pairs
            ],
            dtype=torch.float,
        )


def test_fit_reports_test_at_the_best_validation_epoch(splits):
    train, val, test = splits
    val_signs = [0, 1, 1, -1, 1]
    test_signs = [1, -1, 0, 1, 1]
    model = Scripted(val, test, val_signs, test_signs)
    seen = []

    result = fit(
        model,
        train,
        val,
        test,
        epochs=5,
        callback=lambda epoch, loss, metrics: seen.append((epoch, metrics)),
    )

    # Epoch 2 reaches AUC 1.0 first; epochs 3 and 5 only tie it.
    assert result.best_epoch == 2
    assert result.val["auc"] == 1.0
    assert result.test["auc"] == 0.0  # test_signs[1] = -1
    # The test split is scored only when validation improves.
    assert model.scored_test_at == [1, 2]
    assert [entry["val_auc"] for entry in result.history] == [
        0.5,
        1.0,
        1.0,
        0.0,
        1.0,
    ]
    assert [entry["epoch"] for entry in result.history] == [1, 2, 3, 4, 5]
    assert seen == [
        (e["epoch"], {"auc": e["val_auc"], "ap": e["val_ap"]})
        for e in result.history
    ]
    assert result.num_parameters == 1
    assert result.seconds_per_epoch > 0


def test_fit_selects_on_the_chosen_metric(splits):
    train, val, test = splits
    model = build("sign_dss")
    test_by_epoch = {}

    def record(epoch, loss, metrics):
        test_by_epoch[epoch] = evaluate(model, test, ("auc", "mrr"))

    result = fit(
        model,
        train,
        val,
        test,
        epochs=8,
        metric="mrr",
        metrics=("auc", "mrr"),
        callback=record,
    )

    mrrs = [entry["val_mrr"] for entry in result.history]
    assert result.best_epoch == mrrs.index(max(mrrs)) + 1
    assert result.val["mrr"] == max(mrrs)
    assert result.test == test_by_epoch[result.best_epoch]


def test_parameter_free_model_is_evaluated_once(splits):
    train, val, test = splits
    model = build("eigvec_dot")
    result = fit(model, train, val, test, epochs=5)
    assert result == FitResult(
        best_epoch=0,
        val=evaluate(model, val),
        test=evaluate(model, test),
        history=[],
        seconds_per_epoch=0.0,
        num_parameters=0,
    )


@pytest.mark.parametrize(
    ("name", "batch_size"), [("sign_dss", None), ("gcn", 64)]
)
def test_fit_is_deterministic(splits, name, batch_size):
    runs = []
    for _ in range(2):
        model = build(name, seed=11)
        state = torch.get_rng_state()
        result = fit(model, *splits, epochs=4, seed=3, batch_size=batch_size)
        # fit draws nothing from the global generator.
        assert torch.equal(torch.get_rng_state(), state)
        runs.append(result)
    first, second = runs
    assert first.history == second.history
    assert (first.best_epoch, first.val, first.test) == (
        second.best_epoch,
        second.val,
        second.test,
    )
    other = fit(build(name, seed=11), *splits, epochs=4, seed=4)
    assert other.history != first.history


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(epochs=0), ValueError, "'epochs' must be at least 1, got 0"),
        (dict(epochs=2.0), TypeError, "'epochs' must be an int, got float"),
        (dict(lr=0.0), ValueError, "'lr' must be positive and finite, got 0"),
        (dict(lr=-1e-3), ValueError, "'lr' must be positive"),
        (dict(lr=float("nan")), ValueError, "'lr' must be positive"),
        (dict(lr="0.01"), TypeError, "'lr' must be a float, got str"),
        (dict(seed=-1), ValueError, "'seed' must be at least 0, got -1"),
        (dict(batch_size=0), ValueError, "'batch_size' must be at least 1"),
        (
            dict(eval_batch_size=0),
            ValueError,
            "'eval_batch_size' must be at least 1, got 0",
        ),
        (
            dict(metrics=("auc", "hits@0")),
            ValueError,
            "unknown metric name 'hits@0'",
        ),
        (
            dict(metric="mrr"),
            ValueError,
            r"'metric' must be one of the computed metrics .* got 'mrr'",
        ),
        (dict(metrics=()), ValueError, "'metrics' must name at least one"),
        (dict(callback=3), TypeError, "'callback' must be callable"),
    ],
)
def test_fit_bad_arguments(splits, kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(build("sign_dss"), *splits, **kwargs)


@pytest.mark.parametrize("which", ["val_data", "test_data"])
@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("no_index", "has no 'edge_label_index'"),
        ("label_half", r"only 0 .* and 1 .* got values such as \[0.5"),
    ],
)
def test_fit_checks_splits_up_front(splits, which, change, match):
    train, val, test = (part.clone() for part in splits)
    broken = val if which == "val_data" else test
    if change == "no_index":
        del broken.edge_label_index
    else:
        broken.edge_label[0] = 0.5
    model = build("sign_dss")
    before = [param.clone() for param in model.parameters()]
    with pytest.raises(ValueError, match=f"'{which}(.edge_label)?'.*{match}"):
        fit(model, train, val, test, epochs=1)
    # Nothing was trained before the error.
    assert all(
        torch.equal(a, b)
        for a, b in zip(before, model.parameters(), strict=True)
    )


def test_fit_bad_types(splits):
    train, val, test = splits
    with pytest.raises(TypeError, match="'test_data' must be a torch_geo"):
        fit(build("sign_dss"), train, val, None)
    with pytest.raises(TypeError, match="'model' must be a torch.nn.Module"):
        fit("sign_dss", train, val, test)


def test_module_exports():
    assert set(training.__all__) == {
        "FitResult",
        "evaluate",
        "fit",
        "train_epoch",
        "uniform_negatives",
    }
