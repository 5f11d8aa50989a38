import copy

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import k_hop_subgraph

from pyg_signeq.data import nearly_symmetric, random_link_split
from pyg_signeq.nn import build_model
from pyg_signeq.sampling import (
    link_neighbor_loader,
    sampling_available,
    train_epoch_sampled,
)
from pyg_signeq.training import uniform_negatives
from pyg_signeq.transforms import AddLaplacianPE, add_train_pe

K = 6
needs_sampler = pytest.mark.skipif(
    not sampling_available(),
    reason="neighbour sampling needs pyg-lib or torch-sparse, neither is "
    "installed (no wheels for this torch build)",
)


@pytest.fixture(scope="module")
def train_data():
    data = nearly_symmetric("er", 20, 2, 10, seed=0, p=0.3)
    splits = random_link_split(data, val=0.1, test=0.1, seed=0)
    train = add_train_pe(
        *splits, AddLaplacianPE(K, seed=0, dtype=torch.float64)
    )[0]
    train.x = train.x.double()
    return train


def _subgraph_batches(data, links, labels, size, pe=None):
    """What LinkNeighborLoader yields, built by hand: the 2-hop
    neighbourhood of every batch of links, with pe and x sliced."""
    pe = data.pe if pe is None else pe
    for start in range(0, links.size(1), size):
        chunk = links[:, start : start + size]
        n_id, edge_index, mapping, _ = k_hop_subgraph(
            chunk.reshape(-1),
            2,
            data.edge_index,
            relabel_nodes=True,
            num_nodes=data.num_nodes,
        )
        yield Data(
            x=data.x[n_id],
            pe=pe[n_id],
            edge_index=edge_index,
            n_id=n_id,
            num_nodes=n_id.numel(),
            edge_label_index=mapping.view(2, -1),
            edge_label=labels[start : start + size],
        )


def _links(data):
    pos = data.edge_label_index
    neg = uniform_negatives(
        data.num_nodes, pos.size(1), torch.Generator().manual_seed(0)
    )
    labels = torch.cat([torch.ones(pos.size(1)), torch.zeros(pos.size(1))])
    return torch.cat([pos, neg], dim=1), labels


@pytest.mark.parametrize("name", ["sign_dss", "sign_eq"])
def test_sliced_pe_keeps_the_loss_invariant_to_sign_flips(train_data, name):
    links, labels = _links(train_data)
    torch.manual_seed(0)
    model = build_model(name, k=K).double()
    twin = copy.deepcopy(model)
    signs = torch.tensor([1.0, -1.0, -1.0, 1.0, -1.0, 1.0]).double()
    flipped_pe = train_data.pe * signs
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.1)
    loss = train_epoch_sampled(
        model, _subgraph_batches(train_data, links, labels, 32), optimizer
    )
    flipped = train_epoch_sampled(
        twin,
        _subgraph_batches(train_data, links, labels, 32, flipped_pe),
        twin_optimizer,
    )
    assert flipped == pytest.approx(loss, abs=1e-10)
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_one_whole_graph_batch_is_a_full_batch_step(train_data):
    links, labels = _links(train_data)
    torch.manual_seed(0)
    model = build_model("sign_dss", k=K).double()
    with torch.no_grad():
        logits = model(None, train_data.edge_index, links, pe=train_data.pe)
        expected = F.binary_cross_entropy_with_logits(logits, labels.double())
    batch = Data(
        pe=train_data.pe,
        edge_index=train_data.edge_index,
        num_nodes=train_data.num_nodes,
        edge_label_index=links,
        edge_label=labels,
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loss = train_epoch_sampled(model, [batch], optimizer)
    assert loss == pytest.approx(expected.item(), abs=1e-12)


def test_batches_without_labels_are_refused(train_data):
    model = build_model("sign_dss", k=K).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batch = Data(pe=train_data.pe, edge_index=train_data.edge_index)
    with pytest.raises(ValueError, match="'edge_label_index'"):
        train_epoch_sampled(model, [batch], optimizer)
    with pytest.raises(ValueError, match="yielded no links"):
        train_epoch_sampled(model, [], optimizer)


@pytest.mark.skipif(
    sampling_available(), reason="pyg-lib or torch-sparse is installed"
)
def test_without_a_sampler_the_loader_names_what_to_install(train_data):
    with pytest.raises(ImportError, match="pyg-lib or torch-sparse"):
        link_neighbor_loader(
            train_data, [5, 5], 32, torch.Generator().manual_seed(0)
        )


@needs_sampler
def test_loader_slices_pe_per_subgraph(train_data):
    loader = link_neighbor_loader(
        train_data, [5, 5], 32, torch.Generator().manual_seed(0)
    )
    num_links = 0
    for batch in loader:
        torch.testing.assert_close(batch.pe, train_data.pe[batch.n_id])
        assert batch.edge_label_index.max() < batch.num_nodes
        num_links += batch.edge_label.numel()
    assert num_links == 2 * train_data.edge_label_index.size(1)


@needs_sampler
@pytest.mark.parametrize("name", ["sign_dss", "sign_eq_gnn"])
def test_sampled_training_lowers_the_loss(train_data, name):
    torch.manual_seed(0)
    model = build_model(name, k=K).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(5):
        loader = link_neighbor_loader(train_data, [10, 10], 64, generator)
        losses.append(train_epoch_sampled(model, loader, optimizer))
    assert losses[-1] < losses[0]


def test_loader_checks_num_neighbors(train_data):
    with pytest.raises(ValueError, match="'num_neighbors'"):
        link_neighbor_loader(
            train_data, [0], 32, torch.Generator().manual_seed(0)
        )
