"""The /recommendations fast path answers exactly as the FastAPI route, and its list cache never serves a stale list."""

from __future__ import annotations

from fastapi.testclient import TestClient

from embrec.serving import rollout
from embrec.serving.fast_path import ListCache, _k
from embrec.serving.live_model import LiveModel


def test_the_fast_path_writes_the_routes_bytes(client: TestClient) -> None:
    # ``explain=false`` is not the plain case: it goes through FastAPI's route and its validation.
    for user, k in (("1", 7), ("405", 1), ("13", 100)):
        fast = client.get(f"/recommendations/{user}?k={k}")
        routed = client.get(f"/recommendations/{user}?k={k}&explain=false")
        assert fast.status_code == routed.status_code == 200
        assert fast.content == routed.content and fast.headers["content-type"] == routed.headers["content-type"]
    assert client.get("/recommendations/1").content == client.get("/recommendations/1?explain=0&k=10").content
    assert len(client.app.state.list_cache) == 4  # type: ignore[attr-defined]  # the plain requests' lists


def test_only_the_plain_query_is_taken() -> None:
    assert [_k(q) for q in (b"", b"k=1", b"k=10", b"k=100", b"k=007")] == [10, 1, 10, 100, 7]
    assert [_k(q) for q in (b"k=0", b"k=101", b"k=-1", b"k=ten", b"k=1&k=2", b"explain=true", b"k=1000")] == [None] * 7


def test_a_new_rating_and_a_version_swap_change_the_cached_list(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    first = client.get("/recommendations/1?k=3").json()
    assert client.get("/recommendations/1?k=3").json() == first  # answered from the cache
    assert 'embrec_list_cache_total{result="hit"} 1.0' in client.get("/metrics").text
    top = first["items"][0]["item"]
    client.post("/ratings", json={"ratings": [{"user": "1", "item": top, "rating": 2}]})
    after = client.get("/recommendations/1?k=3").json()
    assert top not in {i["item"] for i in after["items"]} and after["items"][0] == first["items"][1]
    client.post("/admin/rollout/propose", json={"version": "v2", "who": "t"}, headers=admin_headers)
    client.post("/admin/rollout/approve", json={"share": 1.0, "who": "t"}, headers=admin_headers)
    assert client.get("/recommendations/1?k=3").json()["model_version"] == "v2"
    assert rollout.serves_candidate("1", 1.0)


def test_a_newcomers_list_follows_its_new_ratings(client: TestClient) -> None:
    created = client.post("/users", json={"genres": ["Comedy"], "k": 5}).json()
    user, listed = created["user"], client.get(f"/recommendations/{created['user']}?k=5").json()["items"]
    client.post("/ratings", json={"ratings": [{"user": user, "item": listed[0]["item"], "rating": 1}]})
    again = client.get(f"/recommendations/{user}?k=5").json()["items"]
    assert listed[0]["item"] not in {i["item"] for i in again}


def test_the_cache_is_bounded_and_can_be_off(client: TestClient) -> None:
    model: LiveModel = client.app.state.service.current().active  # type: ignore[attr-defined]
    rated: dict[str, float] = {}
    cache = ListCache(20)
    for user in ("1", "2", "3"):
        cache.put(model, user, 10, (rated, None), user.encode() * 8)
    assert len(cache) == 2 and cache.get(model, "1", 10, rated) is None
    assert cache.get(model, "3", 10, rated) == b"3" * 8
    assert cache.get(model, "3", 10, {}) is None  # another rating dict: the user rated since
    cache.put(model, "3", 10, (rated, None), b"x" * 21)  # larger than the whole cache: not kept
    assert cache.get(model, "3", 10, rated) == b"3" * 8
    off = ListCache(0)
    off.put(model, "1", 10, (rated, None), b"1")
    assert off.get(model, "1", 10, rated) is None
