"""Serving figures: /recommendations throughput and latency under load, with a rollout mid-run.

Run: ``.venv/bin/python benchmarks/serving.py [--seconds 30] [--client python|wrk] [--list-cache-mb M]``.
Trains two ``dot`` versions on MovieLens 100k u1 (default configs, seeds 0 and 1) into a temporary
registry, starts ``embrec serve`` in a subprocess, and loads it from this process over loopback:
``GET /recommendations/{random user}?k=10`` from 1, 8 and 64 concurrent keep-alive connections for
``--seconds`` each. During every level the candidate is approved for 50% of users and then rolled
back through the admin endpoints. Prints requests/s, p50/p99 latency, errors, the server's CPU
time per request, the share of lists answered from its list cache and the load average per level.

The load generator shares the cores with the server: ``--client python`` (default) is a lean
``asyncio.Protocol`` client on uvloop; ``--client wrk`` runs ``wrk`` (C, if installed). The
server's list cache is on by default (as ``embrec serve`` ships); ``--list-cache-mb 0`` measures
every list computed.

Target (issue 7): >= 1,000 requests/s with p99 < 50 ms at every concurrency level, no error at
any level, and the approve and rollback answered 200. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

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
from embrec.serving.service import Settings
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


def start_server(registry: ModelRegistry, store: str, port: int, list_cache_mb: float) -> subprocess.Popen[bytes]:
    env = os.environ | {"EMBREC_ADMIN_TOKEN": TOKEN}
    command = [sys.executable, "-m", "embrec", "serve", str(registry.root), "--port", str(port), "--store", store,
               "--list-cache-mb", str(list_cache_mb)]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


class Connection(asyncio.Protocol):
    """One keep-alive connection sending requests back to back, each as soon as the last answer is complete.

    A minimal HTTP/1.1 client written on ``asyncio.Protocol`` callbacks (no coroutine per request):
    the load generator shares the machine's cores with the server, so its CPU per request is kept
    small (about a third of ``asyncio.open_connection`` streams').
    """

    def __init__(self, requests: list[bytes], until: float, latencies: list[float], errors: list[str]):
        self.requests, self.until, self.latencies, self.errors = requests, until, latencies, errors
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent = 0
        self.buffer = bytearray()
        self.need = -1  # bytes of the whole answer, once its head is in
        self.start = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.send_next()

    def send_next(self) -> None:
        self.buffer.clear()
        self.need = -1
        request = self.requests[self.sent % len(self.requests)]
        self.sent += 1
        self.start = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            if not head.startswith(b"HTTP/1.1 200"):
                self.errors.append(head.split(b"\r\n")[0].decode())
            self.need = end + 4 + _content_length(head)
        if len(self.buffer) < self.need:
            return
        now = time.perf_counter()
        self.latencies.append(now - self.start)
        if len(self.buffer) > self.need:
            self.errors.append("bytes after the answer")
        if now < self.until:
            self.send_next()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None or time.perf_counter() < self.until:
            self.errors.append(type(exc).__name__ if exc else "connection closed by the server")
        if not self.done.done():
            self.done.set_result(None)


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


async def python_level(port: int, users: np.ndarray, concurrency: int, seconds: float) -> Level:
    """Load from ``concurrency`` :class:`Connection` s on a uvloop event loop (when installed)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    until = start + seconds
    connections = []
    for seed in range(concurrency):
        picked = np.random.default_rng(seed).choice(users, 4096)  # a random user per request
        requests = [f"GET /recommendations/{user}?k=10 HTTP/1.1\r\nHost: bench\r\n\r\n".encode() for user in picked]
        try:
            factory = functools.partial(Connection, requests, until, latencies, errors)
            _, connection = await loop.create_connection(factory, "127.0.0.1", port)
            connections.append(connection)
        except OSError as exc:
            errors.append(type(exc).__name__)
    try:  # a connection whose answer never comes is an error, not a hung benchmark
        await asyncio.wait_for(asyncio.gather(*(c.done for c in connections)), seconds + 30)
    except TimeoutError:
        errors.append("no answer within 30 s")
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    p50, p99 = (float(np.percentile(ms, q)) for q in (50, 99)) if len(ms) else (float("nan"),) * 2
    return Level(concurrency, len(latencies), len(latencies) / elapsed, p50, p99, len(errors))


def run_python(port: int, users: np.ndarray, concurrency: int, seconds: float) -> Level:
    factory: Callable[[], asyncio.AbstractEventLoop]
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # uvloop is a dependency of embrec but for Windows
        factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(python_level(port, users, concurrency, seconds))


WRK_SCRIPT = """
users = {%s}
math.randomseed(%d)
request = function()
  return wrk.format("GET", "/recommendations/" .. users[math.random(#users)] .. "?k=10")
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("EMBREC %%d %%d %%d %%f %%f\\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(port: int, users: np.ndarray, concurrency: int, seconds: float) -> Level:
    """Load from ``wrk`` (one thread; C, so it takes far less CPU per request than any Python client)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT % (",".join(f'"{u}"' for u in users), concurrency))
        script.flush()
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "-s", script.name,
                   f"http://127.0.0.1:{port}"]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("EMBREC "))
    requests, errors, micros, p50, p99 = (float(v) for v in line.split()[1:])
    return Level(concurrency, int(requests), requests / (micros / 1e6), p50 / 1000, p99 / 1000, int(errors))


@dataclass
class Level:
    """One concurrency level's figures."""

    concurrency: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_us: float = float("nan")  # the server process's CPU time per request
    cached: float = float("nan")  # share of the lists answered from the server's list cache
    load: float = float("nan")  # the machine's 1-minute load average at the end of the level

    def met(self) -> bool:
        return self.rps >= TARGET_RPS and self.p99_ms < TARGET_P99_MS


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def list_cache(port: int) -> tuple[float, float]:
    """(hits, misses) of the server's list cache so far, from ``/metrics``."""
    counts = {"hit": 0.0, "miss": 0.0}
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text.splitlines():
        if line.startswith("embrec_list_cache_total{"):
            counts[line.split('result="', 1)[1].split('"', 1)[0]] = float(line.rsplit(" ", 1)[1])
    return counts["hit"], counts["miss"]


def measure(client: str, server: subprocess.Popen[bytes], port: int, concurrency: int, seconds: float) -> Level:
    users = np.array([str(u) for u in range(1, 944)])
    run = run_wrk if client == "wrk" else run_python
    cpu, (hits, misses) = cpu_seconds(server.pid), list_cache(port)
    level = run(port, users, concurrency, seconds)
    hits_after, misses_after = list_cache(port)
    level.server_us = (cpu_seconds(server.pid) - cpu) / max(level.requests, 1) * 1e6
    looked_up = (hits_after - hits) + (misses_after - misses)
    level.cached = (hits_after - hits) / looked_up if looked_up else float("nan")
    level.load = os.getloadavg()[0]
    return level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="Duration of each concurrency level.")
    parser.add_argument("--data", default=None, help="MovieLens 100k folder or zip.")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="Training epochs of the two versions.")
    parser.add_argument("--client", choices=("python", "wrk"), default="python", help="The load generator.")
    parser.add_argument("--list-cache-mb", type=float, default=Settings.list_cache_mb,
                        help="MiB of lists the server keeps (embrec serve --list-cache-mb; 0: none).")  # fmt: skip
    args = parser.parse_args()
    if args.client == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (e.g. apt-get install wrk)")
    console = Console(width=max(Console().width, 132))  # the table whole in a log or pipe
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        registry = build_registry(Path(tmp), args.data, args.epochs)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        server = start_server(registry, f"sqlite:///{tmp}/store.db", port, args.list_cache_mb)
        try:
            httpx.post(f"http://127.0.0.1:{port}/admin/rollout/propose", json={"version": "v2", "who": "bench"},
                       headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
            rows: list[Level] = []
            outcomes: list[int] = []
            for concurrency in LEVELS:
                steps = rollout_during(port, args.seconds, outcomes)
                rows.append(measure(args.client, server, port, concurrency, args.seconds))
                steps.join()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    cache = f"list cache {args.list_cache_mb:g} MiB" if args.list_cache_mb > 0 else "list cache off"
    table = Table(title=f"GET /recommendations?k=10, {args.seconds:g} s per level, load from {args.client} "
                        f"(a second process, loopback), {cache}; rollout approve + rollback in each level")  # fmt: skip
    columns = ("concurrency", "requests", "requests/s", "p50 ms", "p99 ms", "errors", "server CPU us/req",
               "from cache", "load avg")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(str(r.concurrency), str(r.requests), f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}",
                      str(r.errors), f"{r.server_us:.0f}", f"{r.cached:.0%}", f"{r.load:.1f}")  # fmt: skip
    console.print(table)
    console.print(f"{os.cpu_count()} CPU cores; 1-minute load average {load_before:.1f} before the run "
                  "(other work on the machine shares the cores with the server and the load generator)")  # fmt: skip
    met = all(r.met() for r in rows)
    clean = all(r.errors == 0 for r in rows) and set(outcomes) == {200}
    console.print(f"rollout steps answered: {outcomes}")
    console.print(f"target >= {TARGET_RPS:.0f} req/s with p99 < {TARGET_P99_MS:.0f} ms at every level: "
                  f"{'met' if met else 'MISSED'}; errors: {'none' if clean else 'SOME'}")  # fmt: skip
    return 0 if met and clean else 1


if __name__ == "__main__":
    sys.exit(main())
