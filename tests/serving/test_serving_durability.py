"""Nothing acknowledged is lost: a server killed with SIGKILL mid-stream keeps every 2xx rating."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from embrec.serving.ratings_store import RatingsStore

START_SECONDS = 90


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(model_dir: Path, store_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "embrec", "serve", str(model_dir), "--port", str(port), "--store", store_url]
    server = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError(f"server did not start: {log.read_text()}")


def test_every_acknowledged_rating_survives_a_sigkill(model_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    port, log = _free_port(), tmp_path / "server.log"
    server = _start(model_dirs[0], store_url, port, log)
    acknowledged: list[tuple[str, str, float]] = []
    failures: list[str] = []

    def stream() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            for n in range(1, 1683):
                rating = ("1", str(n), float(1 + n % 5))
                body = {"ratings": [{"user": rating[0], "item": rating[1], "rating": rating[2]}]}
                try:
                    response = client.post("/ratings", json=body)
                except httpx.TransportError as exc:
                    failures.append(type(exc).__name__)
                    return
                if response.status_code == 201:
                    acknowledged.append(rating)

    client = threading.Thread(target=stream)
    client.start()
    while len(acknowledged) < 30 and client.is_alive():
        time.sleep(0.01)
    os.kill(server.pid, signal.SIGKILL)  # mid-stream: the client is still sending
    client.join(timeout=30)
    server.wait(timeout=10)
    assert failures, "the client should have seen the server die"
    assert 30 <= len(acknowledged) < 1682

    restarted = _start(model_dirs[0], store_url, port, log)
    try:
        health = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert health["ratings_stored"] >= len(acknowledged)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=20)
    store = RatingsStore(store_url)
    stored = {(r.user, r.item, r.rating) for r in store.ratings()}
    store.close()
    assert set(acknowledged) <= stored
