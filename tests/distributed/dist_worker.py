"""The body of the two-process tests, started by torchrun.

``torchrun --nproc_per_node 2 dist_worker.py MODE OUT`` runs one MODE on
every rank; rank 0 writes what the test checks to the JSON file OUT. The
test process imports this file too, to run the same training in one
process for comparison.
"""

from __future__ import annotations

import json
import sys
import time

import torch

from pyg_signeq.data import nearly_symmetric, random_link_split
from pyg_signeq.distributed import (
    DistributedError,
    broadcast_object,
    init_distributed,
    parameters_agree,
)
from pyg_signeq.nn import build_model
from pyg_signeq.training import fit
from pyg_signeq.transforms import AddLaplacianPE, add_train_pe

K = 8
EPOCHS = 4
# 96 training positives in batches of 21, 21, 21, 21 and 12: shares of 10
# and 11 links, so unequal shares are covered too.
BATCH_SIZE = 21


def make_split(dtype: torch.dtype):
    data = nearly_symmetric("er", 20, 2, 10, seed=0, p=0.3)
    splits = random_link_split(data, val=0.1, test=0.1, seed=0)
    splits = add_train_pe(*splits, AddLaplacianPE(K, seed=0, dtype=dtype))
    for split in splits:
        split.x = split.x.to(dtype)
    return splits


def train(dtype: torch.dtype, distributed: bool, agree=None) -> dict:
    """Fit sign_dss for a few epochs; return what the test compares."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        train_data, val_data, test_data = make_split(dtype)
        torch.manual_seed(0)
        model = build_model("sign_eq_gnn", k=K)
        if agree is not None:
            # Check after every optimizer step that the ranks agree.
            original = torch.optim.Adam.step

            def step(self, *args, **kwargs):
                out = original(self, *args, **kwargs)
                agree.append(parameters_agree(model))
                return out

            torch.optim.Adam.step = step
        try:
            result = fit(
                model,
                train_data,
                val_data,
                test_data,
                epochs=EPOCHS,
                batch_size=BATCH_SIZE,
                seed=3,
                distributed=distributed,
            )
        finally:
            if agree is not None:
                torch.optim.Adam.step = original
    finally:
        torch.set_default_dtype(previous)
    params = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return {
        "params": params.double().tolist(),
        "losses": [entry["loss"] for entry in result.history],
        "val_auc": [entry["val_auc"] for entry in result.history],
        "test": result.test,
        "best_epoch": result.best_epoch,
    }


def main(mode: str, out: str) -> int:
    env = init_distributed("gloo", timeout=float(sys.argv[3]))
    if mode == "train":
        report = {}
        for dtype in (torch.float64, torch.float32):
            agree: list[bool] = []
            report[str(dtype)] = train(dtype, True, agree)
            report[str(dtype)]["agree"] = agree
        if env.rank == 0:
            with open(out, "w") as handle:
                json.dump(report, handle)
        return 0
    # "fail": rank 1 dies before a collective that rank 0 waits in;
    # "stall": rank 1 stays alive but never joins it.
    if env.rank == 1:
        if mode == "stall":
            time.sleep(60)
        raise RuntimeError("injected failure on rank 1")
    start = time.perf_counter()
    try:
        broadcast_object({"payload": 1})
        torch.distributed.barrier()
    except DistributedError as error:
        with open(out, "w") as handle:
            json.dump(
                {
                    "message": str(error),
                    "seconds": time.perf_counter() - start,
                },
                handle,
            )
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
