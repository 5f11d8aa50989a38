import csv
import json

import pytest
import torch

from benchmarks import link_pred
from pyg_signeq.training import fit

# A small version of the paper's graphs: fast, same code path.
SMALL = link_pred.Settings(epochs=3, k=4, base_nodes=60, extra_edges=30)


def _run(out, **kwargs):
    options = {
        "datasets": ["er", "ba"],
        "models": ["eigvec_dot", "sign_dss"],
        "trials": 2,
        "settings": SMALL,
        "out": out,
    }
    options.update(kwargs)
    return link_pred.run_link_pred(**options)


def test_every_dataset_model_and_seed_is_recorded_once(tmp_path):
    rows = _run(tmp_path)

    keys = [(r["dataset"], r["model"], r["seed"]) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * 2 * 3
    assert {r["model"] for r in rows} == {
        "eigvec_dot",
        "sign_dss",
        link_pred.ORACLE,
    }
    for row in rows:
        assert 0.0 <= row["test_auc"] <= 1.0
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == rows


def test_same_graphs_for_every_model_and_fresh_graphs_per_seed(tmp_path):
    settings = SMALL
    first = link_pred.load_task("er", 0, settings)
    again = link_pred.load_task("er", 0, settings)
    other = link_pred.load_task("er", 1, settings)

    assert torch.equal(first.train.edge_index, again.train.edge_index)
    assert torch.equal(
        first.test.edge_label_index, again.test.edge_label_index
    )
    assert torch.equal(first.train.pe, again.train.pe)
    assert not torch.equal(first.train.edge_index, other.train.edge_index)
    assert first.train.pe.shape == (120, 4)


def test_pe_is_cached_by_training_edges(tmp_path):
    cache = tmp_path / "cache"
    task = link_pred.load_task("ba", 0, SMALL, cache_dir=cache)
    files = list(cache.glob("pe_*.pt"))
    cached = link_pred.load_task("ba", 0, SMALL, cache_dir=cache)
    link_pred.load_task("ba", 1, SMALL, cache_dir=cache)

    assert len(files) == 1
    assert torch.equal(task.train.pe, cached.train.pe)
    assert torch.equal(task.val.pe, cached.train.pe)
    assert len(list(cache.glob("pe_*.pt"))) == 2


def test_oracle_auc_matches_counting(tmp_path):
    task = link_pred.load_task("er", 0, SMALL)
    value = link_pred.oracle_auc(task)

    pairs = task.test.edge_label_index
    same = (task.copy[pairs[0]] == task.copy[pairs[1]]).tolist()
    labels = task.test.edge_label.tolist()
    pos = [s for s, y in zip(same, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(same, labels, strict=True) if y == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    assert value == pytest.approx(wins / (len(pos) * len(neg)), abs=1e-12)
    # Nearly all positives join nodes of one copy; half the negatives
    # cross copies.
    assert value > 0.6


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    calls = []

    def failing_fit(*args, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(1)
        return fit(*args, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, fit_fn=failing_fit)
    first = link_pred.ResultsFile(tmp_path / "results.jsonl").read()
    trained = [r for r in first if r["model"] != link_pred.ORACLE]
    assert len(trained) == 3

    resumed = []

    def counting_fit(*args, **kwargs):
        resumed.append(1)
        return fit(*args, **kwargs)

    rows = _run(tmp_path, fit_fn=counting_fit)
    assert len(resumed) == 2 * 2 * 2 - 3
    assert len(rows) == 2 * 2 * 3
    assert rows[: len(first)] == first


def test_a_truncated_last_line_is_dropped(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"a": 1}\n{"b": ')
    results = link_pred.ResultsFile(path)

    assert results.read() == [{"a": 1}]
    results.append({"c": 2})
    assert results.read() == [{"a": 1}, {"c": 2}]


def test_other_settings_in_the_same_directory_are_refused(tmp_path):
    _run(tmp_path, models=["eigvec_dot"], trials=1)
    other = link_pred.Settings(epochs=4, k=4, base_nodes=60, extra_edges=30)

    with pytest.raises(
        ValueError, match=r"other settings.*'epochs': \(3, 4\)"
    ):
        _run(tmp_path, settings=other, models=["eigvec_dot"], trials=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"datasets": ["cora"]}, "unknown dataset 'cora'.*er, ba"),
        ({"models": ["gat"]}, "unknown model 'gat'.*sign_dss"),
        ({"trials": 0}, "'trials' must be a positive int"),
        ({"jobs": 0}, "'jobs' must be a positive int"),
    ],
)
def test_bad_names_list_the_valid_ones(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _run(tmp_path, **kwargs)


def test_main_writes_every_output(tmp_path, capsys):
    argv = [
        "--models",
        "eigvec_mlp",
        "sign_eq",
        "--trials",
        "2",
        "--epochs",
        "2",
        "--k",
        "4",
        "--base-nodes",
        "50",
        "--extra-edges",
        "20",
        "--out",
        str(tmp_path),
    ]
    assert link_pred.main(argv) == 0

    table = capsys.readouterr().out
    assert "| er | copy oracle (reference) | auc |" in table
    assert "| ba | sign_eq | auc |" in table
    with open(tmp_path / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 2 * 3
    assert {"test_auc", "val_auc", "seconds_per_epoch"} <= set(rows[0])
    assert (tmp_path / "results.png").stat().st_size > 1000
    assert (
        "python -m benchmarks.link_pred --models"
        in (tmp_path / "results.md").read_text()
    )


def test_main_reports_bad_input_without_a_traceback(tmp_path, caplog):
    assert link_pred.main(["--datasets", "cora", "--out", str(tmp_path)]) == 2
    assert "unknown dataset 'cora'" in caplog.text


def test_quick_preset_runs_end_to_end(tmp_path):
    # The README's --quick preset on the paper's full-size graphs.
    assert link_pred.main(["--quick", "--quiet", "--out", str(tmp_path)]) == 0
    rows = link_pred.ResultsFile(tmp_path / "results.jsonl").read()
    trials = link_pred.QUICK["trials"]
    assert len(rows) == 2 * trials * (len(link_pred.DEFAULT_MODELS) + 1)
    for suffix in ("csv", "md", "png"):
        assert (tmp_path / f"results.{suffix}").exists()
    summary = {
        (r["dataset"], r["model"]): r for r in link_pred.summarize(rows)
    }
    for dataset in ("er", "ba"):
        # About 99% of true edges lie within a copy, half the negatives
        # across copies.
        assert summary[dataset, link_pred.ORACLE]["mean"] > 0.7
        # The paper's ordering: the sign-equivariant net beats GCN.
        assert (
            summary[dataset, "sign_dss"]["mean"]
            > summary[dataset, "gcn"]["mean"]
        )


@pytest.mark.parametrize(
    ("name", "metric"),
    [("ogbl-collab", "hits@50"), ("ogbl-citation2", "mrr")],
)
def test_ogb_datasets_run_through_the_real_loader(tmp_path, name, metric):
    from pyg_signeq.data import load_ogb_link, write_tiny_ogb_link

    root = tmp_path / "ogb"
    write_tiny_ogb_link(name, root, num_nodes=80)
    out = tmp_path / "out"
    argv = [
        "--datasets",
        name,
        "--models",
        "eigvec_dot",
        "sign_dss",
        "--trials",
        "1",
        "--epochs",
        "2",
        "--k",
        "4",
        "--root",
        str(root),
        "--out",
        str(out),
        "--quiet",
    ]
    assert link_pred.main(argv) == 0

    rows = link_pred.ResultsFile(out / "results.jsonl").read()
    assert {r["model"] for r in rows} == {"eigvec_dot", "sign_dss"}
    for row in rows:
        assert 0.0 <= row[f"test_{metric}"] <= 1.0
        assert 0.0 <= row["test_auc"] <= 1.0
    # The untrained dot product of raw eigenvectors scores the official
    # pairs as OGB's evaluator would rank them.
    ogb = load_ogb_link(name, root)
    task = link_pred.load_task(name, 0, SMALL, root=root)
    pe = task.train.pe
    edges = ogb.eval_edges("test")
    score = (pe[edges.source] * pe[edges.target_pos]).sum(-1)
    if edges.shared_negatives:
        neg = edges.neg_edge_index
        neg_score = (pe[neg[0]] * pe[neg[1]]).sum(-1)
    else:
        neg_score = (pe[edges.source, None] * pe[edges.target_neg]).sum(-1)
    official = ogb.evaluate(score, neg_score)
    dot = next(r for r in rows if r["model"] == "eigvec_dot")
    assert dot[f"test_{metric}"] == pytest.approx(official, abs=1e-6)
    assert (
        "| " + name + " | eigvec_dot | " + metric
        in (out / "results.md").read_text()
    )


def test_a_missing_ogb_root_names_the_expected_folder(tmp_path, caplog):
    argv = ["--datasets", "ogbl-ddi", "--root", str(tmp_path), "--quiet"]
    assert link_pred.main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert str(tmp_path / "ogbl_ddi") in caplog.text


def test_worker_processes_give_the_same_trials(tmp_path):
    serial = _run(tmp_path / "serial", trials=1)
    parallel = _run(tmp_path / "parallel", trials=1, jobs=2)

    def by_key(rows):
        return {(r["dataset"], r["model"], r["seed"]): r for r in rows}

    serial, parallel = by_key(serial), by_key(parallel)
    assert serial.keys() == parallel.keys()
    for key, row in serial.items():
        assert parallel[key]["best_epoch"] == row["best_epoch"]
        assert parallel[key]["test_auc"] == pytest.approx(
            row["test_auc"], abs=1e-6
        )
    lines = (tmp_path / "parallel" / "results.jsonl").read_text()
    assert len(lines.splitlines()) == len(parallel)


def _write_edge_list(path, num_nodes=80, seed=0):
    generator = torch.Generator().manual_seed(seed)
    pairs = torch.randint(0, num_nodes, (400, 2), generator=generator)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    lines = ["source,target"] + [f"{u},{w}" for u, w in pairs.tolist()]
    path.write_text("\n".join(lines) + "\n")


def test_an_edge_list_file_runs_with_a_split_per_seed(tmp_path):
    path = tmp_path / "edges.csv"
    _write_edge_list(path)
    name = f"file:{path}"

    first = link_pred.load_task(name, 0, SMALL)
    again = link_pred.load_task(name, 0, SMALL)
    other = link_pred.load_task(name, 1, SMALL)
    assert torch.equal(
        first.test.edge_label_index, again.test.edge_label_index
    )
    assert not torch.equal(
        first.test.edge_label_index, other.test.edge_label_index
    )

    out = tmp_path / "out"
    argv = ["--datasets", name, "--models", "sign_dss", "--trials", "2"]
    argv += ["--epochs", "2", "--k", "4", "--jobs", "1", "--quiet"]
    assert link_pred.main([*argv, "--out", str(out)]) == 0
    rows = link_pred.ResultsFile(out / "results.jsonl").read()
    assert sorted(r["seed"] for r in rows) == [0, 1]
    assert all(r["dataset"] == name for r in rows)


def test_a_malformed_edge_list_names_the_line(tmp_path, caplog):
    path = tmp_path / "edges.txt"
    path.write_text("0 1\n1 2\n2 3 4 5\n")
    argv = ["--datasets", f"file:{path}", "--jobs", "1", "--quiet"]
    assert link_pred.main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert "line 3" in caplog.text


def test_score_batch_size_reaches_training_and_keeps_the_trials(tmp_path):
    seen = []

    def recording_fit(*args, **kwargs):
        seen.append(kwargs.get("score_batch_size"))
        return fit(*args, **kwargs)

    whole = _run(tmp_path / "whole", trials=1, models=["sign_dss"])
    chunked = _run(
        tmp_path / "chunked",
        trials=1,
        models=["sign_dss"],
        fit_fn=recording_fit,
        score_batch_size=16,
    )

    assert seen == [16, 16]
    # Chunks change the order of summation only: same step, same gradient.
    for first, second in zip(whole, chunked, strict=True):
        assert second["best_epoch"] == first["best_epoch"]
        assert second["test_auc"] == pytest.approx(first["test_auc"], abs=1e-6)
    with pytest.raises(ValueError, match="'score_batch_size' must be"):
        _run(tmp_path / "bad", score_batch_size=0)


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_the_cli_rejects_a_bad_score_batch_size(tmp_path, capsys, value):
    argv = ["--score-batch-size", value, "--out", str(tmp_path)]
    with pytest.raises(SystemExit):
        link_pred.main(argv)
    assert "--score-batch-size" in capsys.readouterr().err
