import csv
import json

import pytest
import torch

from benchmarks import node_clustering as nc

# A tiny version of the default graphs: fast, same code path.
TINY = nc.Settings(epochs=3, k=4, block_size=16, bridges=(3, 5), pairs=64)
MODELS = ["gcn", "eigvec_dot", "sign_eq"]
TINY_ARGS = [
    "--quick",
    "--epochs",
    "3",
    "--k",
    "4",
    "--block-size",
    "16",
    "--bridges",
    "3",
    "5",
    "--pairs",
    "64",
    "--quiet",
]


def test_every_model_and_seed_is_recorded_once(tmp_path):
    rows = nc.run_node_clustering(MODELS, 2, TINY, tmp_path)

    keys = [(r["model"], r["seed"]) for r in rows]
    assert len(keys) == len(set(keys)) == 3 * 2
    for row in rows:
        for metric in ("test_node_acc", "test_pair_acc", "val_node_acc"):
            assert 0.0 <= row[metric] <= 1.0
        assert 0 <= row["best_epoch"] <= TINY.epochs
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == rows
    untrained = next(r for r in rows if r["model"] == "eigvec_dot")
    assert untrained["num_parameters"] == 0
    assert untrained["best_epoch"] == 0


def test_resume_skips_finished_trials(tmp_path, monkeypatch):
    nc.run_node_clustering(["eigvec_dot"], 1, TINY, tmp_path)
    calls = []
    real = nc.train_one

    def counting(model, task, settings, seed):
        calls.append(seed)
        return real(model, task, settings, seed)

    monkeypatch.setattr(nc, "train_one", counting)
    rows = nc.run_node_clustering(["eigvec_dot"], 2, TINY, tmp_path)

    assert calls == [1]
    assert [(r["model"], r["seed"]) for r in rows] == [
        ("eigvec_dot", 0),
        ("eigvec_dot", 1),
    ]


def test_other_settings_in_the_same_directory_are_refused(tmp_path):
    nc.run_node_clustering(["eigvec_dot"], 1, TINY, tmp_path)
    other = nc.Settings(epochs=3, k=4, block_size=20, bridges=(3, 5))

    with pytest.raises(ValueError, match="'out'.*block_size"):
        nc.run_node_clustering(["eigvec_dot"], 1, other, tmp_path)


def test_cli_writes_every_file_with_every_model(tmp_path, capsys):
    out = tmp_path / "out"
    models = ["gcn", "signnet", "sign_dss", "sign_eq"]
    argv = [*TINY_ARGS, "--out", str(out), "--models", *models]

    assert nc.main(argv) == 0
    for name in ("results.jsonl", "results.csv", "settings.json"):
        assert (out / name).stat().st_size > 0
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"
    table = (out / "results.md").read_text()
    for model in models:
        assert f"| {model} |" in table
    assert "--block-size 16" in table
    with open(out / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["model"], r["seed"]) for r in rows) == sorted(
        (m, str(s)) for m in models for s in range(nc.QUICK["trials"])
    )
    assert capsys.readouterr().out == ""

    # A second run finds everything done and trains nothing.
    before = (out / "results.jsonl").read_text()
    assert nc.main(argv) == 0
    assert (out / "results.jsonl").read_text() == before


def test_cli_names_a_bad_model(tmp_path, caplog):
    argv = ["--models", "nope", "--out", str(tmp_path), "--quiet"]

    assert nc.main(argv) == 2
    assert "'models': unknown model 'nope'" in caplog.text


def test_sampled_pairs_are_balanced_and_never_join_copies():
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(40) // 10
    orbit = torch.arange(40) % 10
    nodes = torch.nonzero(orbit < 6).view(-1)

    pairs, label = nc.sample_pairs(y, orbit, nodes, 500, 4, generator)

    assert pairs.shape == (2, 1000)
    assert torch.equal(label, torch.cat([torch.ones(500), torch.zeros(500)]))
    same = y[pairs[0]] == y[pairs[1]]
    assert torch.equal(same, label.bool())
    assert (orbit[pairs[0]] != orbit[pairs[1]]).all()
    assert torch.isin(pairs, nodes).all()
    # Uniform over the allowed pairs: every block pair shows up.
    blocks = set(map(tuple, y[pairs].t().tolist()))
    assert len(blocks) == 16


def test_sample_pairs_rejects_asymmetric_node_sets():
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(20) // 10
    orbit = torch.arange(20) % 10
    nodes = torch.tensor([0, 1, 2, 11, 12, 13])

    with pytest.raises(ValueError, match="'nodes' must hold the same"):
        nc.sample_pairs(y, orbit, nodes, 10, 2, generator)


def test_cluster_accuracy_matches_a_loop():
    generator = torch.Generator().manual_seed(1)
    scores = torch.randn(30, 24, generator=generator)
    train_y = torch.arange(24) % 3
    test_y = torch.randint(3, (30,), generator=generator)

    correct = 0
    for t in range(30):
        means = [
            sum(scores[t, r] for r in range(24) if train_y[r] == c) / 8
            for c in range(3)
        ]
        correct += int(max(range(3), key=lambda c: means[c]) == test_y[t])

    assert nc.cluster_accuracy(scores, train_y, test_y, 3) == pytest.approx(
        correct / 30
    )


@pytest.mark.parametrize(
    ("name", "blind"),
    [
        ("gcn", True),
        ("signnet", True),
        ("sign_dss", False),
        ("sign_eq", False),
    ],
)
def test_sign_invariant_models_score_every_cluster_alike(name, blind):
    # Each cluster holds the copies of the same training nodes, which a
    # sign-invariant model embeds identically: a test node's mean score
    # is then the same for every cluster, and node accuracy is chance by
    # construction. Positional models score the clusters differently.
    settings = nc.Settings(k=8, block_size=24)
    task = nc.load_task(0, settings)
    torch.manual_seed(0)
    model = nc.build_model(name, k=8)
    with torch.no_grad():
        embedding = model.encode_data(task.data)
        scores = nc._scores(model, embedding, task.test, task.train)
    one_hot = torch.nn.functional.one_hot(task.data.y[task.train], 4)
    means = scores @ one_hot.float() / one_hot.sum(0)

    # Compared with how much the scores of one model vary over pairs,
    # since the untrained models score on very different scales.
    spread = (means.max(1).values - means.min(1).values).max()
    scale = scores.std()
    assert scale > 0
    if blind:
        assert spread <= 1e-3 * scale
    else:
        assert spread > 0.1 * scale
