"""The web page in headless Chromium: onboarding, then recommendation cards and the taste map."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from PIL import Image

from embrec.serving.app import create_app
from embrec.serving.model_registry import ModelRegistry

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip


@pytest.fixture
def base_url(registry: ModelRegistry, store_url: str) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread of this process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(registry, store_url), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_onboarding_then_recommendations_and_the_taste_map(base_url: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (.ci/run installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(base_url)
        page.wait_for_selector("#questionnaire .question")
        questions = page.locator("#questionnaire .question")
        assert questions.count() == 12
        for position, stars in ((0, 5), (1, 5), (2, 2)):
            questions.nth(position).locator(f'.stars button[data-value="{stars}"]').click()
        page.locator('#genres input[value="Sci-Fi"]').check()
        page.click("#submit")
        page.wait_for_selector("#recommendations .card")
        cards = page.locator("#recommendations .card")
        assert cards.count() == 12
        first = cards.first.inner_text()
        assert "predicted" in first and "because you liked" in first
        page.wait_for_selector("#map svg circle.you")
        assert page.locator("#map svg circle.item").count() == 300
        cards.first.locator("button").click()
        page.wait_for_selector("#similar-list li")
        assert page.locator("#similar-list li").count() == 8
        assert page.locator("#status").inner_text() == ""
        shot = page.screenshot(full_page=True, path=str(tmp_path / "page.png"))
        browser.close()
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)
    assert pixels.std() > 10  # not a blank page
