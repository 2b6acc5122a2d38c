"""Serving figures: /recommendations throughput and latency under load, with a rollout mid-run.

Run: ``.venv/bin/python benchmarks/serving.py [--seconds 30] [--data PATH]``. Trains two ``dot``
versions on MovieLens 100k u1 (default configs, seeds 0 and 1) into a temporary registry, starts
``embrec serve`` in a subprocess, and loads it from this process over loopback: ``GET
/recommendations/{random user}?k=10`` from 1, 8 and 64 concurrent keep-alive connections for
``--seconds`` each. During every level the candidate is approved for 50% of users and then
rolled back through the admin endpoints. Prints requests/s, p50/p99 latency and errors per level.

Target (issue 7): >= 1,000 requests/s with p99 < 50 ms at some concurrency level, no error at any
level, and the approve and rollback answered 200. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from embrec.artifacts.model_dir import save
from embrec.data.movielens import load_fold
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.serving.model_registry import ModelRegistry
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

TOKEN = "benchmark-token"
LEVELS = (1, 8, 64)
TARGET_RPS, TARGET_P99_MS = 1000.0, 50.0


def build_registry(root: Path, data: str | None, epochs: int) -> ModelRegistry:
    torch.set_num_threads(1)  # small batches train faster on one thread, and far faster on a busy machine
    split = load_fold("u1", data)
    registry = ModelRegistry.open(root / "registry")
    for seed in (0, 1):
        config = TrainConfig(seed=seed, epochs=epochs)
        model, resolved, _ = train_model(split.train, ModelConfig(kind="dot"), config)
        directory = save(Recommender.from_training(model, resolved, split.train, config), root / f"seed{seed}")
        registry.add(directory, f"v{seed + 1}")
    return registry


def start_server(registry: ModelRegistry, store: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"EMBREC_ADMIN_TOKEN": TOKEN}
    command = [sys.executable, "-m", "embrec", "serve", str(registry.root), "--port", str(port), "--store", store]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


async def worker(
    port: int, users: np.ndarray, seed: int, until: float, latencies: list[float], errors: list[str]
) -> None:
    """One keep-alive connection sending requests back to back (a minimal HTTP/1.1 client)."""
    rng = np.random.default_rng(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            user = users[rng.integers(len(users))]
            request = f"GET /recommendations/{user}?k=10 HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(_content_length(head))
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n")[0].decode())
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(type(exc).__name__)
    finally:
        writer.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    raise ValueError("response without Content-Length")


def rollout_during(port: int, seconds: float, outcomes: list[int]) -> threading.Thread:
    """Approve the candidate for half the users at 1/3 of the run, roll it back at 2/3."""

    def steps() -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
            time.sleep(seconds / 3)
            outcomes.append(client.post("/admin/rollout/approve", json={"share": 0.5, "who": "bench"}).status_code)
            time.sleep(seconds / 3)
            outcomes.append(client.post("/admin/rollout/rollback", json={"who": "bench"}).status_code)
            outcomes.append(client.post("/admin/rollout/propose", json={"version": "v2", "who": "bench"}).status_code)

    thread = threading.Thread(target=steps)
    thread.start()
    return thread


async def run_level(port: int, users: np.ndarray, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(worker(port, users, s, until, latencies, errors) for s in range(concurrency)))
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        "errors": len(errors),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="Duration of each concurrency level.")
    parser.add_argument("--data", default=None, help="MovieLens 100k folder or zip.")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="Training epochs of the two versions.")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        registry = build_registry(Path(tmp), args.data, args.epochs)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        server = start_server(registry, f"sqlite:///{tmp}/store.db", port)
        try:
            httpx.post(f"http://127.0.0.1:{port}/admin/rollout/propose", json={"version": "v2", "who": "bench"},
                       headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
            users = np.array([str(u) for u in range(1, 944)])
            rows, outcomes = [], []
            for level in LEVELS:
                steps = rollout_during(port, args.seconds, outcomes)
                rows.append(asyncio.run(run_level(port, users, level, args.seconds)))
                steps.join()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    table = Table(title=f"GET /recommendations, {args.seconds:g} s per level, rollout approve + rollback in each")
    for column in ("concurrency", "requests", "requests/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(str(r["concurrency"]), str(r["requests"]), f"{r['rps']:.0f}", f"{r['p50_ms']:.2f}",
                      f"{r['p99_ms']:.2f}", str(r["errors"]))  # fmt: skip
    console.print(table)
    met = any(r["rps"] >= TARGET_RPS and r["p99_ms"] < TARGET_P99_MS for r in rows)
    clean = all(r["errors"] == 0 for r in rows) and set(outcomes) == {200}
    console.print(f"rollout steps answered: {outcomes}")
    console.print(f"target >= {TARGET_RPS:.0f} req/s with p99 < {TARGET_P99_MS:.0f} ms: {'met' if met else 'MISSED'}; "
                  f"errors: {'none' if clean else 'SOME'}")  # fmt: skip
    return 0 if met and clean else 1


if __name__ == "__main__":
    sys.exit(main())
