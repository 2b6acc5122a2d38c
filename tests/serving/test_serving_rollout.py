"""Registry, stable share assignment, the logged rollout steps, the admin token, swaps under load."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from embrec.artifacts.model_dir import load
from embrec.serving import rollout
from embrec.serving.model_registry import ModelRegistry, RegistryError


def test_registry_versions_and_atomic_state(registry: ModelRegistry, model_dirs: tuple[Path, Path]) -> None:
    assert registry.versions() == ["v1", "v2"]
    assert registry.state().active == "v1"  # the first version added is served; adding never switches
    assert registry.add(model_dirs[1]) == "v3"
    assert registry.state().active == "v1"
    with pytest.raises(RegistryError, match="already exists"):
        registry.add(model_dirs[1], "v3")
    with pytest.raises(RegistryError, match="unknown version"):
        registry.path("../v1")
    assert json.loads((registry.root / "state.json").read_text())["active"] == "v1"
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_a_model_directory_opens_as_a_registry_of_one(model_dirs: tuple[Path, Path]) -> None:
    single = ModelRegistry.open(model_dirs[0])
    assert single.versions() == ["first"] and single.state().active == "first"
    with pytest.raises(RegistryError):
        single.add(model_dirs[1])


def test_share_assignment_is_stable_proportional_and_nested() -> None:
    users = [str(u) for u in range(20_000)]
    ten = {u for u in users if rollout.serves_candidate(u, 0.1)}
    half = {u for u in users if rollout.serves_candidate(u, 0.5)}
    assert ten <= half  # raising the share only adds users
    assert abs(len(ten) / len(users) - 0.1) < 0.01 and abs(len(half) / len(users) - 0.5) < 0.015
    assert ten == {u for u in users if rollout.serves_candidate(u, 0.1)}  # same answer every time
    assert rollout.user_bucket("42") == pytest.approx(rollout.user_bucket("42"))
    assert not any(rollout.serves_candidate(u, 0.0) for u in users[:100])
    assert all(rollout.serves_candidate(u, 1.0) for u in users[:100])


def test_propose_approve_promote_rollback_are_logged_with_who(registry: ModelRegistry) -> None:
    rollout.propose(registry, "v2", "alice")
    rollout.approve(registry, 0.1, "bob")
    state = registry.state()
    assert (state.active, state.candidate, state.share) == ("v1", "v2", 0.1)
    rollout.approve(registry, 1.0, "carol")
    assert (registry.state().active, registry.state().candidate) == ("v2", None)
    rollout.rollback(registry, "dave")
    state = registry.state()
    assert state.active == "v1"
    assert [(e.action, e.version, e.who) for e in state.log] == [
        ("propose", "v2", "alice"), ("approve", "v2", "bob"), ("promote", "v2", "carol"), ("rollback", "v1", "dave"),
    ]  # fmt: skip
    assert all(e.when.endswith("+00:00") for e in state.log)
    with pytest.raises(RegistryError, match="no candidate"):
        rollout.approve(registry, 0.5, "erin")
    with pytest.raises(RegistryError, match="share"):
        rollout.approve(registry, 1.5, "erin")


def test_compare_reports_accuracy_overlap_popularity_and_changed_users(
    model_dirs: tuple[Path, Path], split: object
) -> None:
    active, candidate = load(model_dirs[0]), load(model_dirs[1])
    test = split.test  # type: ignore[attr-defined]
    report = rollout.compare(active, candidate, [str(u) for u in range(1, 101)], test, k=10, most_changed=5)
    assert set(report["held_out"]) == {"active", "candidate"}
    assert report["held_out"]["active"]["n"] == len(test)
    assert 0.5 < report["held_out"]["active"]["rmse"] < 2
    lists = report["lists"]
    assert lists["users"] == 100 and 0 <= lists["overlap@10"] <= 1
    assert lists["popularity_shift"] == pytest.approx(lists["popularity_candidate"] - lists["popularity_active"])
    overlaps = [row["overlap"] for row in lists["most_changed"]]
    assert len(overlaps) == 5 and overlaps == sorted(overlaps) and overlaps[0] <= lists["overlap@10"]
    same = rollout.compare(active, active, ["1", "2"], None)
    assert same["lists"]["overlap@10"] == 1.0 and same["held_out"] is None


def test_admin_endpoints_need_the_token(client: TestClient, admin_headers: dict[str, str]) -> None:
    body = {"version": "v2", "who": "alice"}
    assert client.post("/admin/rollout/propose", json=body).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/admin/rollout/propose", json=body, headers=wrong).status_code == 401
    assert client.get("/rollout").status_code == 200  # reading needs no token
    assert client.post("/admin/rollout/propose", json=body, headers=admin_headers).status_code == 200


def test_admin_endpoints_are_off_without_the_variable(
    client: TestClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMBREC_ADMIN_TOKEN")
    response = client.post("/admin/rollout/rollback", json={"who": "x"}, headers=admin_headers)
    assert response.status_code == 403 and "EMBREC_ADMIN_TOKEN" in response.json()["detail"]


def test_rollout_over_http_serves_the_share_then_everyone(client: TestClient, admin_headers: dict[str, str]) -> None:
    users = [str(u) for u in range(1, 201)]
    client.post("/admin/rollout/propose", json={"version": "v2", "who": "alice"}, headers=admin_headers)
    compared = client.get("/admin/rollout/compare", headers=admin_headers).json()
    assert compared["lists"]["users"] > 0
    client.post("/admin/rollout/approve", json={"share": 0.25, "who": "bob"}, headers=admin_headers)
    versions = {u: client.get(f"/recommendations/{u}", params={"k": 1}).json()["model_version"] for u in users}
    expected = {u: "v2" if rollout.serves_candidate(u, 0.25) else "v1" for u in users}
    assert versions == expected
    assert 'embrec_candidate_share 0.25' in client.get("/metrics").text
    client.post("/admin/rollout/approve", json={"share": 1.0, "who": "carol"}, headers=admin_headers)
    assert client.get("/recommendations/7").json()["model_version"] == "v2"
    status = client.post("/admin/rollout/rollback", json={"who": "dave"}, headers=admin_headers).json()
    assert status["active"] == "v1" and [e["who"] for e in status["log"]] == ["alice", "bob", "carol", "dave"]
    again = client.post("/admin/rollout/approve", json={"share": 0.5, "who": "x"}, headers=admin_headers)
    assert again.status_code == 409 and "no candidate" in again.json()["detail"]


def test_state_changes_from_the_command_line_are_picked_up(client: TestClient, registry: ModelRegistry) -> None:
    rollout.propose(registry, "v2", "cli")
    rollout.approve(registry, 1.0, "cli")
    for _ in range(200):  # the reload runs in a background thread
        if client.get("/health").json()["active"] == "v2":
            break
        threading.Event().wait(0.02)
    assert client.get("/recommendations/1").json()["model_version"] == "v2"


def test_swapping_versions_under_load_drops_no_request(client: TestClient, admin_headers: dict[str, str]) -> None:
    statuses: list[int] = []
    stop = threading.Event()

    def hammer(seed: int) -> None:
        rng = np.random.default_rng(seed)
        while not stop.is_set():
            user = str(int(rng.integers(1, 944)))
            statuses.append(client.get(f"/recommendations/{user}", params={"k": 10}).status_code)

    threads = [threading.Thread(target=hammer, args=(s,)) for s in range(4)]
    for thread in threads:
        thread.start()
    client.post("/admin/rollout/propose", json={"version": "v2", "who": "a"}, headers=admin_headers)
    for share in (0.1, 0.5, 1.0):
        client.post("/admin/rollout/approve", json={"share": share, "who": "a"}, headers=admin_headers)
    client.post("/admin/rollout/rollback", json={"who": "a"}, headers=admin_headers)
    stop.set()
    for thread in threads:
        thread.join()
    assert len(statuses) > 20 and set(statuses) == {200}


def test_a_rollback_swaps_back_to_the_version_in_memory(client: TestClient, admin_headers: dict[str, str]) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    first = service.snapshot.active
    created = client.post("/users", json={"genres": ["Comedy"]}).json()["user"]
    for step, body in (("propose", {"version": "v2", "who": "a"}), ("approve", {"share": 1.0, "who": "a"})):
        client.post(f"/admin/rollout/{step}", json=body, headers=admin_headers)
    assert service.snapshot.active.version == "v2" and service.snapshot.active.knows(created)
    client.post("/admin/rollout/rollback", json={"who": "a"}, headers=admin_headers)
    assert service.snapshot.active is first and first.knows(created)
