import pytest
import torch

from pyg_signeq.data import nearly_symmetric, random_link_split
from pyg_signeq.nn import build_model
from pyg_signeq.training import fit, train_epoch
from pyg_signeq.transforms import AddLaplacianPE, add_train_pe

K = 8


@pytest.fixture(scope="module")
def splits():
    data = nearly_symmetric("er", 20, 2, 10, seed=0, p=0.3)
    splits = random_link_split(data, val=0.1, test=0.1, seed=0)
    return add_train_pe(
        *splits, AddLaplacianPE(K, seed=0, dtype=torch.float64)
    )


def _grads(name, data, score_batch_size, batch_size=None):
    torch.manual_seed(0)
    model = build_model(name, k=K).double()
    data = data.clone()
    data.x = data.x.double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    generator = torch.Generator().manual_seed(5)
    loss = train_epoch(
        model,
        data,
        optimizer,
        generator,
        batch_size,
        score_batch_size=score_batch_size,
    )
    return loss, [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize(
    "name", ["sign_dss", "sign_eq_gnn", "eigvec_mlp", "gcn"]
)
@pytest.mark.parametrize("score_batch_size", [1, 7, 64])
def test_scoring_in_chunks_gives_the_whole_batch_gradient(
    splits, name, score_batch_size
):
    # 96 positives and 96 negatives: chunks of 1, 7 and 64 links, the last
    # one shorter, and one straddling positives and negatives.
    loss, grads = _grads(name, splits[0], None)
    chunked_loss, chunked = _grads(name, splits[0], score_batch_size)
    assert chunked_loss == pytest.approx(loss, abs=1e-12)
    for a, b in zip(grads, chunked, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


def test_chunks_within_mini_batches(splits):
    loss, grads = _grads("sign_dss", splits[0], None, batch_size=50)
    chunked_loss, chunked = _grads("sign_dss", splits[0], 30, batch_size=50)
    assert chunked_loss == pytest.approx(loss, abs=1e-12)
    for a, b in zip(grads, chunked, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)


def test_untrained_model_scores_in_chunks(splits):
    model = build_model("eigvec_dot", k=K)
    generator = torch.Generator().manual_seed(5)
    whole = train_epoch(model, splits[0], None, generator)
    generator = torch.Generator().manual_seed(5)
    chunked = train_epoch(
        model, splits[0], None, generator, score_batch_size=10
    )
    assert chunked == pytest.approx(whole, rel=1e-6)


def test_fit_passes_score_batch_size_on(splits):
    results = []
    for score_batch_size in (None, 16):
        torch.manual_seed(0)
        model = build_model("sign_dss", k=K).double()
        results.append(
            fit(
                model,
                *splits,
                epochs=3,
                seed=0,
                score_batch_size=score_batch_size,
            )
        )
    whole, chunked = results
    losses = [entry["loss"] for entry in whole.history]
    assert [e["loss"] for e in chunked.history] == pytest.approx(
        losses, abs=1e-10
    )
    assert chunked.test == pytest.approx(whole.test, abs=1e-12)


@pytest.mark.parametrize("value", [0, -3])
def test_score_batch_size_must_be_positive(splits, value):
    model = build_model("sign_dss", k=K)
    optimizer = torch.optim.Adam(model.parameters())
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="'score_batch_size' must be at"):
        train_epoch(
            model, splits[0], optimizer, generator, score_batch_size=value
        )
