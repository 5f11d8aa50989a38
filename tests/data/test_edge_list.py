import gzip
import logging
import random

import pytest
import torch
from torch_geometric.utils import coalesce, is_undirected

from pyg_signeq.data.edge_list import random_link_split, read_edge_list
from pyg_signeq.data.families import as_data, grid_2d


def write(tmp_path, text, name="graph.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def pairs(data):
    return set(zip(*data.edge_index.tolist(), strict=True))


def test_whitespace_ints(tmp_path):
    text = "# a comment\n\n10 30\n30   20\n\t  # indented comment\n20\t10\n"
    data = read_edge_list(write(tmp_path, text))
    assert data.num_nodes == 3
    assert torch.equal(data.node_ids, torch.tensor([10, 20, 30]))
    # A triangle on the relabelled nodes 0, 1, 2.
    expected = {(0, 1), (0, 2), (1, 2), (1, 0), (2, 0), (2, 1)}
    assert pairs(data) == expected
    assert torch.equal(data.edge_index, coalesce(data.edge_index, num_nodes=3))
    assert "edge_weight" not in data


def test_csv_weights_and_header(tmp_path):
    text = "source,target,weight\na, b ,0.5\nb,c,2\n"
    data = read_edge_list(write(tmp_path, text, "g.csv"))
    assert data.node_ids == ["a", "b", "c"]
    got = {
        (u, w): x
        for u, w, x in zip(
            *data.edge_index.tolist(), data.edge_weight.tolist(), strict=True
        )
    }
    assert got == {(0, 1): 0.5, (1, 0): 0.5, (1, 2): 2.0, (2, 1): 2.0}
    assert data.edge_weight.dtype == torch.float32


@pytest.mark.parametrize(
    ("text", "num_nodes"),
    [
        ("u v\n1 2\n2 3\n", 3),  # header of names above integer ids
        ("u v w\n1 2 1.0\n", 2),
        ("alice bob\ncarol dave\n", 4),  # string ids: no header guessed
        ("1 2\n", 2),  # a single line is an edge
    ],
)
def test_header_guess(tmp_path, text, num_nodes):
    assert read_edge_list(write(tmp_path, text)).num_nodes == num_nodes


def test_header_argument(tmp_path):
    path = write(tmp_path, "source target\nalice bob\n")
    assert read_edge_list(path, header=True).node_ids == ["alice", "bob"]
    assert read_edge_list(path, header=False).num_nodes == 4
    with pytest.raises(ValueError, match="holds a header but no edge"):
        read_edge_list(write(tmp_path, "u v\n", "h.txt"), header=True)


def test_string_ids_are_not_numbers(tmp_path):
    # One non-integer id makes every id a string: "7" and "07" differ.
    data = read_edge_list(write(tmp_path, "7 07\n07 x\n"))
    assert data.node_ids == ["07", "7", "x"]


def test_duplicates_and_reduce(tmp_path):
    path = write(tmp_path, "0 1 1\n1 0 3\n0 1 2\n1 2 5\n")
    expected = {"sum": 6.0, "mean": 2.0, "max": 3.0, "min": 1.0}
    for reduce, value in expected.items():
        data = read_edge_list(path, reduce=reduce)
        assert data.edge_index.size(1) == 4
        weight = dict(
            zip(
                zip(*data.edge_index.tolist(), strict=True),
                data.edge_weight.tolist(),
                strict=True,
            )
        )
        assert weight[0, 1] == weight[1, 0] == value
        assert weight[1, 2] == 5.0


def test_self_loops_dropped_and_logged(tmp_path, caplog):
    path = write(tmp_path, "0 0\n0 1\n2 2\n1 1\n")
    with caplog.at_level(logging.INFO, logger="pyg_signeq.data.edge_list"):
        data = read_edge_list(path)
    assert "dropped 3 self-loop(s)" in caplog.text
    # Node 2 appears only in a self-loop and stays, isolated.
    assert data.num_nodes == 3
    assert pairs(data) == {(0, 1), (1, 0)}


def test_gzip(tmp_path):
    path = tmp_path / "g.txt.gz"
    with gzip.open(path, "wt") as file:
        file.write("1 2\n2 3\n")
    assert read_edge_list(path).edge_index.size(1) == 4


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("0 1\n1 2 3 4\n", 2, "expected 'u v' or 'u v w', got 4 fields"),
        ("0 1\n# c\n\n2\n", 4, "got 1 fields"),
        ("0 1 1.0\n1 2\n", 2, "expected 3 fields like the first edge, got 2"),
        ("0 1 1.0\n1 2 heavy\n", 2, "weight 'heavy' is not a finite number"),
        ("0 1 1.0\n1 2 nan\n", 2, "weight 'nan' is not a finite number"),
    ],
)
def test_malformed_line(tmp_path, text, line, match):
    path = write(tmp_path, text)
    content = text.splitlines()[line - 1].strip()
    with pytest.raises(ValueError, match=match) as info:
        read_edge_list(path)
    message = str(info.value)
    assert f"{path}, line {line}:" in message
    assert repr(content) in message


def test_malformed_csv(tmp_path):
    path = write(tmp_path, "a,b\nc,\n", "g.csv")
    with pytest.raises(ValueError, match=r"line 2: empty node id .*'c,'"):
        read_edge_list(path)


def test_bad_arguments(tmp_path):
    path = write(tmp_path, "0 1\n")
    with pytest.raises(ValueError, match="holds no edge"):
        read_edge_list(write(tmp_path, "# nothing\n\n", "e.txt"))
    with pytest.raises(ValueError, match="'reduce' must be one of"):
        read_edge_list(path, reduce="add")
    with pytest.raises(TypeError, match="'header' must be a bool or None"):
        read_edge_list(path, header="yes")
    with pytest.raises(TypeError, match="'path' must be a str"):
        read_edge_list(3)
    with pytest.raises(ValueError, match="node id of 2\\*\\*63 or more"):
        read_edge_list(write(tmp_path, f"0 {2**63}\n", "big.txt"))


def grid(weighted=False):
    data = as_data(grid_2d(12, 10), 120)
    if weighted:
        data.edge_weight = data.edge_index.sum(0).float()
    return data


def as_set(edge_index):
    return {
        (min(u, w), max(u, w))
        for u, w in zip(*edge_index.tolist(), strict=True)
    }


def test_split_conventions_and_no_leaks():
    data = grid(weighted=True)
    train, val, test = random_link_split(data, val=0.1, test=0.2, seed=3)
    full = as_set(data.edge_index)
    num = len(full)
    n_val, n_test = int(0.1 * num), int(0.2 * num)

    assert is_undirected(train.edge_index)
    assert train.edge_index.size(1) == 2 * (num - n_val - n_test)
    assert bool((train.edge_label == 1).all())
    assert as_set(train.edge_label_index) == as_set(train.edge_index)
    # Edge attributes follow their edges.
    row, col = train.edge_index
    assert torch.equal(train.edge_weight, (row + col).float())

    for split, size in ((val, n_val), (test, n_test)):
        label = split.edge_label
        assert label.tolist() == [1.0] * size + [0.0] * size
        positives = split.edge_label_index[:, :size]
        negatives = split.edge_label_index[:, size:]
        assert as_set(positives) <= full
        assert not as_set(negatives) & full
        assert not bool((negatives[0] == negatives[1]).any())
    train_set = as_set(train.edge_index)
    val_pos = as_set(val.edge_label_index[:, :n_val])
    test_pos = as_set(test.edge_label_index[:, :n_test])
    assert not train_set & val_pos and not train_set & test_pos
    assert not val_pos & test_pos
    assert train_set | val_pos | test_pos == full
    assert as_set(val.edge_index) == train_set
    assert as_set(test.edge_index) == train_set | val_pos


def test_split_is_reproducible_and_leaves_global_rngs_alone():
    data = grid()
    torch.manual_seed(123)
    random.seed(123)
    torch_state = torch.get_rng_state()
    python_state = random.getstate()
    first = random_link_split(data, seed=7)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert random.getstate() == python_state
    # Whatever the global state, the seed alone decides.
    torch.rand(5)
    random.random()
    second = random_link_split(data, seed=7)
    other = random_link_split(data, seed=8)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.edge_label_index, b.edge_label_index)
    assert not torch.equal(
        first[1].edge_label_index, other[1].edge_label_index
    )
    # The input graph is untouched.
    assert "edge_label_index" not in data


def test_split_keeps_node_ids(tmp_path):
    # One edge, two nodes: a list of node ids as long as edge_index, which
    # PyG would otherwise split as an edge attribute.
    lines = "\n".join(f"n{i} n{i + 1}" for i in range(0, 40, 2))
    data = read_edge_list(write(tmp_path, lines))
    assert len(data.node_ids) == data.edge_index.size(1) == 40
    for split in random_link_split(data, val=0.1, test=0.1, seed=0):
        assert split.node_ids == data.node_ids


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"val": 1.0},
            ValueError,
            r"'val' as a fraction must lie in \[0, 1\)",
        ),
        ({"test": -1}, ValueError, "'test' as a count must be non-negative"),
        (
            {"val": "0.1"},
            TypeError,
            "'val' must be a float fraction or an int",
        ),
        (
            {"val": 0.5, "test": 0.5},
            ValueError,
            "must leave edges for training",
        ),
        ({"seed": -1}, ValueError, "'seed' must be non-negative, got -1"),
        ({"seed": 1.0}, TypeError, "'seed' must be an int, got float"),
    ],
)
def test_split_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        random_link_split(grid(), **kwargs)


def test_split_refuses_directed_graph():
    data = grid()
    data.edge_index = data.edge_index[
        :, data.edge_index[0] < data.edge_index[1]
    ]
    with pytest.raises(ValueError, match="must be undirected"):
        random_link_split(data)
    with pytest.raises(TypeError, match="'data' must be a torch_geometric"):
        random_link_split(data.edge_index)
