import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pyg_signeq import distributed
from pyg_signeq.distributed import (
    DistributedEnv,
    LinkLoss,
    detect_env,
    run_on_rank0,
    shard_range,
)
from pyg_signeq.nn import build_model
from pyg_signeq.training import fit, train_epoch

WORKER = Path(__file__).with_name("dist_worker.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")


def _load_worker():
    spec = importlib.util.spec_from_file_location("dist_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _torchrun(mode: str, out: Path, timeout: float, limit: float = 120):
    # --standalone: a rendezvous on this host at a port the OS picks free.
    command = [
        str(TORCHRUN),
        "--standalone",
        "--nproc_per_node",
        "2",
        str(WORKER),
        mode,
        str(out),
        str(timeout),
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    start = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=limit, env=env
    )
    return done, time.perf_counter() - start


def test_detect_env_reads_torchrun_variables():
    assert detect_env({}) is None
    assert detect_env({"RANK": "1", "WORLD_SIZE": "2"}) == DistributedEnv(
        1, 2, 1
    )
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}
    assert detect_env(env) == DistributedEnv(3, 4, 1)


@pytest.mark.parametrize(
    "env, match",
    [
        ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK must be an integer"),
        ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK must be below"),
        ({"RANK": "0", "WORLD_SIZE": "0"}, "WORLD_SIZE must be at least 1"),
    ],
)
def test_detect_env_names_a_bad_variable(env, match):
    with pytest.raises(ValueError, match=match):
        detect_env(env)


def test_init_outside_torchrun_says_how_to_launch(monkeypatch):
    for name in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="torchrun --nproc_per_node"):
        distributed.init_distributed()


def test_timeout_must_be_positive(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    with pytest.raises(ValueError, match="'timeout' must be positive"):
        distributed.init_distributed(timeout=0)
    monkeypatch.setenv("PYG_SIGNEQ_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="PYG_SIGNEQ_DIST_TIMEOUT"):
        distributed.init_distributed()


@pytest.mark.parametrize("num_items", [0, 1, 5, 96, 97])
@pytest.mark.parametrize("world_size", [1, 2, 3, 8])
def test_shards_partition_the_items_in_order(num_items, world_size):
    shares = [
        range(num_items)[shard_range(num_items, rank, world_size)]
        for rank in range(world_size)
    ]
    assert [i for share in shares for i in share] == list(range(num_items))
    sizes = [len(share) for share in shares]
    assert max(sizes) - min(sizes) <= 1


def test_shard_range_names_a_bad_rank():
    with pytest.raises(ValueError, match="'rank' must be below"):
        shard_range(10, 2, 2)


def test_single_process_helpers_need_no_process_group():
    assert not distributed.is_distributed()
    assert distributed.get_rank() == 0
    assert distributed.get_world_size() == 1
    assert distributed.broadcast_object([1, 2]) == [1, 2]
    assert run_on_rank0(lambda: 7) == 7
    assert distributed.parameters_agree(torch.nn.Linear(2, 2))


def test_link_loss_shares_sum_to_the_mean_loss(seed):
    # Two ranks' scaled losses, averaged as DDP averages gradients, give
    # the single-process mean loss; the gradients match too.
    worker = _load_worker()
    train_data, _, _ = worker.make_split(torch.float64)
    torch.set_default_dtype(torch.float64)
    try:
        model = build_model("sign_dss", k=worker.K)
    finally:
        torch.set_default_dtype(torch.float32)
    pos = train_data.edge_label_index
    whole = LinkLoss(model)
    loss, _ = whole(train_data, pos, torch.Generator().manual_seed(1))
    grads = torch.autograd.grad(loss, list(model.parameters()))
    total = 0.0
    summed = [torch.zeros_like(g) for g in grads]
    for rank in range(2):
        part, _ = LinkLoss(model, rank, 2)(
            train_data, pos, torch.Generator().manual_seed(1)
        )
        total = total + part.item() / 2
        for acc, g in zip(
            summed,
            torch.autograd.grad(part, list(model.parameters())),
            strict=True,
        ):
            acc += g / 2
    assert total == pytest.approx(loss.item(), abs=1e-12)
    for a, b in zip(grads, summed, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_ddp_needs_the_wrapper_of_this_model(seed):
    worker = _load_worker()
    train_data, val_data, test_data = worker.make_split(torch.float32)
    model = build_model("sign_dss", k=worker.K)
    optimizer = torch.optim.Adam(model.parameters())
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="'ddp' must wrap LinkLoss"):
        train_epoch(model, train_data, optimizer, generator, ddp=model)
    with pytest.raises(ValueError, match="initialised process group"):
        fit(model, train_data, val_data, test_data, distributed=True)


def test_two_gloo_ranks_follow_the_single_process_run(tmp_path):
    """Tolerances: float64 parameters within 1e-10 and the same metrics;
    float32 parameters within 1e-4 (Adam's normalised steps amplify
    differences of rounding in tiny gradients), losses within 1e-6 and
    AUCs within 0.02 (one pair of the 121 ranked may swap places)."""
    out = tmp_path / "report.json"
    done, _ = _torchrun("train", out, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    worker = _load_worker()
    for dtype, atol, metric_tol in [
        (torch.float64, 1e-10, 1e-12),
        (torch.float32, 1e-4, 0.02),
    ]:
        ranks = report[str(dtype)]
        # 96 positives in batches of 21: 5 steps in each of 4 epochs.
        assert ranks["agree"] == [True] * 20
        single = worker.train(dtype, distributed=False)
        torch.testing.assert_close(
            torch.tensor(ranks["params"]),
            torch.tensor(single["params"]),
            atol=atol,
            rtol=0,
        )
        assert ranks["losses"] == pytest.approx(
            single["losses"], abs=max(atol, 1e-6)
        )
        assert ranks["val_auc"] == pytest.approx(
            single["val_auc"], abs=metric_tol
        )
        assert ranks["test"] == pytest.approx(single["test"], abs=metric_tol)


def test_a_failing_rank_stops_the_other_with_a_clear_error(tmp_path):
    out = tmp_path / "report.json"
    done, seconds = _torchrun("fail", out, timeout=30)
    assert done.returncode != 0
    assert "injected failure on rank 1" in done.stderr
    report = json.loads(out.read_text())
    assert "another rank failed or stopped answering" in report["message"]
    assert report["seconds"] < 30


@pytest.mark.slow
def test_a_stalled_rank_times_out_the_other(tmp_path):
    out = tmp_path / "report.json"
    done, seconds = _torchrun("stall", out, timeout=3)
    assert done.returncode != 0
    report = json.loads(out.read_text())
    assert "another rank failed or stopped answering" in report["message"]
    assert report["seconds"] < 30
