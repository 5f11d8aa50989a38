import argparse
import builtins
import logging
import pickle
import shutil
import urllib.request
from collections import Counter

import numpy as np
import pytest
import torch
from torch_geometric.utils import coalesce, is_undirected

from pyg_signeq.data.ogb import (
    OGB_LINK_METRICS,
    load_ogb_link,
    write_tiny_ogb_link,
)
from pyg_signeq.metrics import link_metrics

NAMES = sorted(OGB_LINK_METRICS)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Fail loudly if anything tries the network or the console."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network or console used: {args}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(builtins, "input", refuse)


def train_pairs(split_edge):
    train = split_edge["train"]
    if "edge" in train:
        return torch.as_tensor(train["edge"]).t()
    return torch.stack(
        [
            torch.as_tensor(train["source_node"]),
            torch.as_tensor(train["target_node"]),
        ]
    )


@pytest.mark.parametrize("name", NAMES)
def test_load_tiny(tmp_path, name):
    n = 50
    folder = write_tiny_ogb_link(name, tmp_path, num_nodes=n, seed=3)
    assert folder == tmp_path / name.replace("-", "_")
    ds = load_ogb_link(name, tmp_path)

    assert ds.name == name
    assert ds.metric == OGB_LINK_METRICS[name]
    assert ds.evaluator.eval_metric == ds.metric
    data = ds.data
    assert data.num_nodes == n
    assert data.edge_index.dtype == torch.long
    assert is_undirected(data.edge_index, num_nodes=n)
    # The training graph is the training split, both directions, merged.
    pairs = train_pairs(ds.split_edge)
    expected = coalesce(torch.cat([pairs, pairs.flip(0)], 1), num_nodes=n)
    assert torch.equal(data.edge_index, expected)
    if name == "ogbl-ddi":
        assert data.x is None
    else:
        assert data.x.dtype == torch.float32
        assert data.x.shape == (n, 8)
    assert ("edge_weight" in data) == (name == "ogbl-collab")

    for split in ("valid", "test"):
        edges = ds.eval_edges(split)
        num_pos = edges.pos_edge_index.size(1)
        assert num_pos == n // 5
        assert edges.pos_edge_index.dtype == torch.long
        assert torch.equal(edges.source, edges.pos_edge_index[0])
        assert torch.equal(edges.target_pos, edges.pos_edge_index[1])
        if name == "ogbl-citation2":
            assert not edges.shared_negatives
            assert edges.neg_edge_index is None
            assert edges.target_neg.shape == (num_pos, 20)
            # Negatives avoid the source and the true target.
            assert not bool((edges.target_neg == edges.source[:, None]).any())
            hit = edges.target_neg == edges.target_pos[:, None]
            assert not bool(hit.any())
        else:
            assert edges.shared_negatives and edges.target_neg is None
            k = int(ds.metric.split("@")[1])
            assert edges.neg_edge_index.shape == (2, 2 * k)
            # Shared negatives are not edges of the graph.
            graph = set(zip(*data.edge_index.tolist(), strict=True))
            negs = zip(*edges.neg_edge_index.tolist(), strict=True)
            assert not any(pair in graph for pair in negs)


@pytest.mark.parametrize("name", NAMES)
def test_official_evaluator(tmp_path, name):
    write_tiny_ogb_link(name, tmp_path, num_nodes=40)
    ds = load_ogb_link(name, tmp_path)
    edges = ds.eval_edges("test")
    num_pos = edges.pos_edge_index.size(1)
    shape = (
        (edges.neg_edge_index.size(1),)
        if edges.shared_negatives
        else tuple(edges.target_neg.shape)
    )
    gen = torch.Generator().manual_seed(0)
    neg = torch.rand(shape, generator=gen, dtype=torch.float64)
    assert ds.evaluate(neg.new_full((num_pos,), 2.0), neg) == 1.0
    assert ds.evaluate(neg.new_full((num_pos,), -1.0), neg) < 0.1
    # Random continuous scores: no ties, so OGB and our metrics agree (up
    # to OGB's float32 reciprocal ranks).
    pos = torch.rand(num_pos, generator=gen, dtype=torch.float64)
    ours = link_metrics(pos, neg, [ds.metric])[ds.metric]
    assert ds.evaluate(pos, neg) == pytest.approx(ours, abs=1e-6)
    assert ds.evaluate(pos.numpy(), neg.numpy()) == pytest.approx(
        ours, abs=1e-6
    )


def test_collab_weights(tmp_path):
    write_tiny_ogb_link("ogbl-collab", tmp_path, seed=1)
    ds = load_ogb_link("ogbl-collab", tmp_path)
    train = ds.split_edge["train"]
    total = Counter()
    for (u, w), weight in zip(
        train["edge"].tolist(), train["weight"].tolist(), strict=True
    ):
        total[u, w] += weight
        total[w, u] += weight
    # Some pairs repeat over years, as in the real dataset.
    assert len(total) < 2 * train["edge"].size(0)
    data = ds.data
    assert data.edge_weight.dtype == torch.float32
    assert data.edge_weight.shape == (data.edge_index.size(1),)
    got = {
        (u, w): weight
        for u, w, weight in zip(
            *data.edge_index.tolist(), data.edge_weight.tolist(), strict=True
        )
    }
    assert got == total
    # OGB's own graph keeps the repeats with integer [E, 1] weights.
    assert ds.dataset[0].edge_weight.dtype == torch.long
    assert ds.dataset[0].edge_year.shape[1] == 1


def test_second_load_reads_processed_file(tmp_path):
    folder = write_tiny_ogb_link("ogbl-ddi", tmp_path)
    first = load_ogb_link("ogbl-ddi", tmp_path)
    processed = folder / "processed" / "geometric_data_processed.pt"
    assert processed.exists()
    # The raw files processing needs are no longer required.
    (folder / "raw" / "num-node-list.csv.gz").unlink()
    second = load_ogb_link("ogbl-ddi", tmp_path)
    assert torch.equal(first.data.edge_index, second.data.edge_index)


def test_no_global_torch_load_change(tmp_path):
    from torch_geometric.data.storage import GlobalStorage

    write_tiny_ogb_link("ogbl-citation2", tmp_path)
    load_ogb_link("ogbl-citation2", tmp_path)
    allowed = torch.serialization.get_safe_globals()
    assert GlobalStorage not in allowed and np.ndarray not in allowed
    # Outside the loader, torch.load still refuses numpy pickles.
    path = tmp_path / "ogbl_citation2" / "split" / "time" / "valid.pt"
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_split_formats(tmp_path):
    # OGB split files may hold tensors, or numpy arrays pickled by numpy 1
    # in torch's legacy (non-zip) format; both must load.
    folder = write_tiny_ogb_link("ogbl-collab", tmp_path)
    split = folder / "split" / "time"
    valid = torch.load(split / "valid.pt", weights_only=False)
    torch.save(
        {k: torch.from_numpy(v) for k, v in valid.items()}, split / "valid.pt"
    )
    test = torch.load(split / "test.pt", weights_only=False)
    torch.save(test, split / "test.pt", _use_new_zipfile_serialization=False)
    raw = (split / "test.pt").read_bytes()
    assert b"numpy._core.multiarray" in raw
    old = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    (split / "test.pt").write_bytes(old)
    ds = load_ogb_link("ogbl-collab", tmp_path)
    for key, value in test.items():
        assert np.array_equal(ds.split_edge["test"][key].numpy(), value)
    assert torch.equal(
        ds.split_edge["valid"]["edge_neg"], torch.from_numpy(valid["edge_neg"])
    )


def test_missing_root(tmp_path):
    root = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        load_ogb_link("ogbl-collab", root)
    message = str(info.value)
    assert str(root / "ogbl_collab") in message
    assert str(root / "ogbl_collab" / "raw" / "edge.csv.gz") in message
    assert (
        "http://snap.stanford.edu/ogb/data/linkproppred/collab.zip" in message
    )
    assert "rename the folder 'collab' to 'ogbl_collab'" in message
    assert not root.exists()  # nothing written


def test_missing_release_file(tmp_path):
    # OGB would ask on the console whether to delete the folder.
    folder = write_tiny_ogb_link("ogbl-ddi", tmp_path)
    (folder / "RELEASE_v1.txt").unlink()
    with pytest.raises(FileNotFoundError, match="RELEASE_v1.txt"):
        load_ogb_link("ogbl-ddi", tmp_path)
    assert (folder / "raw" / "edge.csv.gz").exists()


@pytest.mark.parametrize(
    ("name", "relative"),
    [
        ("ogbl-ddi", "split/target/test.pt"),
        ("ogbl-ppa", "raw/node-feat.csv.gz"),
        ("ogbl-collab", "raw/edge_year.csv.gz"),
        ("ogbl-citation2", "raw/node_year.csv.gz"),
    ],
)
def test_missing_file(tmp_path, name, relative):
    folder = write_tiny_ogb_link(name, tmp_path, num_nodes=40)
    (folder / relative).unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_ogb_link(name, tmp_path)
    assert str(folder / relative) in str(info.value)


def test_pyg_suffixed_folder(tmp_path):
    # OGB prefers '<dir>_pyg' when it exists; so does the check.
    folder = write_tiny_ogb_link("ogbl-ddi", tmp_path)
    shutil.move(folder, tmp_path / "ogbl_ddi_pyg")
    ds = load_ogb_link("ogbl-ddi", tmp_path)
    assert ds.data.num_nodes == 60


def test_refused_processed_file(tmp_path):
    folder = write_tiny_ogb_link("ogbl-ddi", tmp_path)
    processed = folder / "processed"
    processed.mkdir()
    torch.save(
        {"stranger": argparse.Namespace()},
        processed / "geometric_data_processed.pt",
    )
    with pytest.raises(RuntimeError, match="delete the folder .*processed"):
        load_ogb_link("ogbl-ddi", tmp_path)


def test_refused_split_file(tmp_path):
    folder = write_tiny_ogb_link("ogbl-ddi", tmp_path)
    path = folder / "split" / "target" / "valid.pt"
    torch.save({"edge": argparse.Namespace()}, path)
    with pytest.raises(RuntimeError, match="refused a split file of ogbl-ddi"):
        load_ogb_link("ogbl-ddi", tmp_path)


def test_unknown_name(tmp_path):
    valid = r"\['ogbl-citation2', 'ogbl-collab', 'ogbl-ddi', 'ogbl-ppa'\]"
    for fn in (load_ogb_link, write_tiny_ogb_link):
        with pytest.raises(ValueError, match=f"'name' must be one of {valid}"):
            fn("ogbl-wikikg2", tmp_path)
    for fn in (load_ogb_link, write_tiny_ogb_link):
        with pytest.raises(TypeError, match="'root' must be a str or os.Path"):
            fn("ogbl-ddi", 3)


def test_eval_edges_bad_split(tmp_path):
    write_tiny_ogb_link("ogbl-ddi", tmp_path)
    ds = load_ogb_link("ogbl-ddi", tmp_path)
    with pytest.raises(ValueError, match="'split' must be one of .*'train'"):
        ds.eval_edges("train")


def test_writer_is_deterministic_and_refuses_overwrite(tmp_path):
    a = write_tiny_ogb_link("ogbl-citation2", tmp_path / "a", seed=5)
    b = write_tiny_ogb_link("ogbl-citation2", tmp_path / "b", seed=5)
    for part in ("train", "valid", "test"):
        left = torch.load(
            a / "split" / "time" / f"{part}.pt", weights_only=False
        )
        right = torch.load(
            b / "split" / "time" / f"{part}.pt", weights_only=False
        )
        assert left.keys() == right.keys()
        assert all(np.array_equal(left[k], right[k]) for k in left)
    with pytest.raises(FileExistsError, match="not overwriting"):
        write_tiny_ogb_link("ogbl-citation2", tmp_path / "a")
    with pytest.raises(ValueError, match="'num_nodes' must be at least 30"):
        write_tiny_ogb_link("ogbl-ddi", tmp_path / "c", num_nodes=10)


def test_ogb_output_goes_to_the_log(tmp_path, capsys, caplog):
    write_tiny_ogb_link("ogbl-ppa", tmp_path, num_nodes=40)
    with caplog.at_level(logging.DEBUG, logger="pyg_signeq.data.ogb"):
        load_ogb_link("ogbl-ppa", tmp_path)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "Loading necessary files" in caplog.text


@pytest.mark.parametrize("name", NAMES)
def test_link_splits_hold_the_official_pairs(tmp_path, name):
    write_tiny_ogb_link(name, tmp_path, num_nodes=50, seed=1)
    ogb = load_ogb_link(name, tmp_path)
    train, val, test = ogb.link_splits()

    for split in (train, val, test):
        assert torch.equal(split.edge_index, ogb.data.edge_index)
        assert split.x.size(0) == ogb.data.num_nodes == split.num_nodes
    if name == "ogbl-ddi":
        assert torch.equal(train.x, torch.ones(ogb.data.num_nodes, 1))
    for split, data in [("valid", val), ("test", test)]:
        edges = ogb.eval_edges(split)
        if edges.shared_negatives:
            num_pos = edges.pos_edge_index.size(1)
            assert torch.equal(
                data.edge_label_index[:, :num_pos], edges.pos_edge_index
            )
            assert torch.equal(
                data.edge_label_index[:, num_pos:], edges.neg_edge_index
            )
            assert data.edge_label.sum() == num_pos
            assert data.edge_label.numel() == data.edge_label_index.size(1)
        else:
            assert torch.equal(data.src_index, edges.source)
            assert torch.equal(data.dst_pos_index, edges.target_pos)
            assert torch.equal(data.dst_neg_index, edges.target_neg)
    if name == "ogbl-collab":
        assert torch.equal(train.edge_weight, ogb.data.edge_weight)
