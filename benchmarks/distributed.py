"""2-process DDP against 1 process: ``dot`` on synthetic planted low-rank ratings.

Run ``.venv/bin/python benchmarks/distributed.py`` (1e6 ratings, 3 epochs) or
``--size 1e7 --epochs 1``. Both runs train ``dot`` with 64 factors, ``TrainConfig()``'s defaults
(one torch thread per process) and the same seed and global batch, on 99% of the ratings
(``embrec.data.synthetic``); the 2-process run is two processes on this machine joined by gloo
(``torch.multiprocessing.spawn``), each taking half of every batch, with DDP all-reducing the
dense gradients of the embedding tables after every batch. Prints seconds per epoch, ratings per
second, the bytes all-reduced per batch and the RMSE against the noise-free planted ratings on
the held-out 1%. ``--sparse`` trains with ``TrainConfig.sparse`` (sparse table gradients, lazy
Adam): DDP then exchanges only the rows each batch used. Exits 1 when the two RMSEs differ by
more than ``--tolerance`` (default 1e-3: the runs compute the same gradients up to the order of
float sums).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.multiprocessing as mp
from rich.console import Console
from rich.table import Table

from embrec.data.splits import random_test_mask
from embrec.data.synthetic import SIZES, planted_ratings
from embrec.evaluation.rating_metrics import rmse
from embrec.models import ModelConfig
from embrec.training.config import TrainConfig
from embrec.training.distributed import fit_hooks, process_group
from embrec.training.loop import predict_pairs, train_model

console = Console(width=160)


def measure(
    rank: int, world: int, port: int, size: str, epochs: int, seed: int, settings: dict[str, Any], out: str
) -> None:
    """One process of a ``world``-process run; rank 0 writes its figures to ``out`` as JSON."""
    if world > 1:
        os.environ |= {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank)}
        os.environ["WORLD_SIZE"] = str(world)
    data = planted_ratings(SIZES[size], seed)
    held = random_test_mask(len(data.ratings), 0.01, seed)
    train, test = data.ratings.subset(~held), data.ratings.subset(held)
    config = replace(TrainConfig(), epochs=epochs, seed=seed, **settings)
    with process_group(timeout_s=600) as process:
        hooks = fit_hooks(process, None, dict)
        model, _, history = train_model(train, ModelConfig(kind="dot", factors=64), config, hooks=hooks)
    if rank != 0:
        return
    predicted = predict_pairs(model, torch.from_numpy(test.users).long(), torch.from_numpy(test.items).long())
    epoch_s = float(np.mean([e.seconds for e in history.epochs]))
    result = {
        "processes": world,
        "n_train": len(train),
        "users": train.n_users,
        "items": train.n_items,
        "epoch_s": epoch_s,
        "ratings_per_s": len(train) / epoch_s,
        "allreduce_mb": _dense_bytes(model, settings["sparse"]) / 1e6 if world > 1 else 0.0,
        "rmse_truth": rmse(predicted.numpy(), data.truth.expected(test.users, test.items)),
    }
    Path(out).write_text(json.dumps(result))


def _dense_bytes(model: torch.nn.Module, sparse: bool) -> int:
    """Bytes of the gradients DDP all-reduces densely: all of them, or all but the sparse tables'."""
    tables = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)} if sparse else set()
    return sum(p.numel() * 4 for p in model.parameters() if id(p) not in tables)


def run(world: int, args: argparse.Namespace) -> dict[str, Any]:
    console.print(f"{world} process(es): generating {args.size} ratings and training ...", highlight=False)
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "result.json")
        if world == 1:
            measure(0, 1, 0, args.size, args.epochs, args.seed, _settings(args), out)
        else:
            shared = (world, _free_port(), args.size, args.epochs, args.seed, _settings(args), out)
            mp.spawn(measure, args=shared, nprocs=world)
        result: dict[str, Any] = json.loads(Path(out).read_text())
    return result


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """TrainConfig fields the command line overrides (batch size and rate only when given)."""
    given = {"batch_size": args.batch_size, "lr": args.lr}
    return {"sparse": args.sparse} | {k: v for k, v in given.items() if v is not None}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1e6", choices=list(SIZES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sparse", action="store_true", help="TrainConfig.sparse: sparse table gradients")
    parser.add_argument("--batch-size", type=int, default=None, help="global batch (default: TrainConfig's)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default: TrainConfig's)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest allowed RMSE difference")
    args = parser.parse_args()
    start = time.perf_counter()
    results = [run(1, args), run(2, args)]
    load = os.getloadavg()[0]
    table = Table(
        title=f"dot, 64 factors, TrainConfig() with {_settings(args)}, {args.epochs} epoch(s) "
        f"on {args.size} synthetic ratings, "
        f"{os.cpu_count()} cores, load average {load:.1f}"
    )
    for column in ("processes", "ratings", "users x items", "s / epoch", "ratings / s", "dense MB all-reduced / batch",
                   "RMSE vs truth"):  # fmt: skip
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            str(r["processes"]), f"{r['n_train']:,}", f"{r['users']:,} x {r['items']:,}", f"{r['epoch_s']:.2f}",
            f"{r['ratings_per_s']:,.0f}", f"{r['allreduce_mb']:.2f}", f"{r['rmse_truth']:.5f}",
        )  # fmt: skip
    console.print(table)
    gap = abs(results[0]["rmse_truth"] - results[1]["rmse_truth"])
    speedup = results[1]["ratings_per_s"] / results[0]["ratings_per_s"]
    ok = gap <= args.tolerance
    console.print(
        f"speed-up of 2 processes: {speedup:.2f}x; RMSE difference {gap:.2e} (tolerance {args.tolerance:g}) "
        f"{'met' if ok else 'MISSED'}; {time.perf_counter() - start:.0f} s in all",
        highlight=False,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
