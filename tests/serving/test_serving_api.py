"""The HTTP API on a small MovieLens model: answers, error codes, new users, the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from embrec.artifacts.model_dir import load
from embrec.serving.fast_scores import DotScorer
from embrec.serving.schemas import RecommendationList

STAR_WARS = "50"


def test_recommendations_are_unseen_items_with_titles_and_scores(client: TestClient) -> None:
    body = client.get("/recommendations/1", params={"k": 5, "explain": True}).json()
    RecommendationList.model_validate(body)  # the hot path writes its JSON by hand: same shape
    assert body["user"] == "1" and body["model_version"] == "v1"
    assert len(body["items"]) == 5
    scores = [entry["score"] for entry in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all(1 <= s <= 5.5 for s in scores)
    assert all(entry["title"] and entry["because"] for entry in body["items"])
    rated = {r["item"] for r in client.get("/recommendations/1", params={"k": 100}).json()["items"]}
    assert rated  # the same call without explain works too


def test_similar_items_and_search(client: TestClient) -> None:
    similar = client.get(f"/items/{STAR_WARS}/similar", params={"k": 3}).json()
    assert similar["item"]["title"] == "Star Wars (1977)"
    assert len(similar["items"]) == 3 and STAR_WARS not in [i["item"] for i in similar["items"]]
    by_title = client.get("/items/Star Wars (1977)/similar", params={"k": 3}).json()
    assert by_title["items"] == similar["items"]
    found = client.get("/items", params={"search": "star wars"}).json()["items"]
    assert [i["title"] for i in found] == ["Star Wars (1977)"]
    assert found[0]["year"] == 1977 and "Sci-Fi" in found[0]["genres"]


def test_predict_a_batch(client: TestClient) -> None:
    pairs = [{"user": "1", "item": STAR_WARS}, {"user": "2", "item": "1"}]
    out = client.post("/predict", json={"pairs": pairs}).json()["predictions"]
    assert [(p["user"], p["item"]) for p in out] == [("1", STAR_WARS), ("2", "1")]
    assert all(0 < p["rating"] < 5.5 for p in out)


def test_a_new_user_from_ratings_gets_a_list_and_can_rate_more(client: TestClient) -> None:
    questions = client.get("/questionnaire", params={"n": 5}).json()
    assert len(questions["items"]) == 5 and "Comedy" in questions["genres"] and questions["scale"] == [1.0, 5.0]
    liked = [{"item": q["item"], "rating": 5} for q in questions["items"][:3]]
    created = client.post("/users", json={"ratings": liked, "k": 10})
    assert created.status_code == 201
    user = created.json()["user"]
    first = [i["item"] for i in created.json()["items"]]
    assert not {r["item"] for r in liked} & set(first)  # rated items are not recommended
    more = client.post("/ratings", json={"ratings": [{"user": user, "item": first[0], "rating": 1}]})
    assert more.status_code == 201 and more.json() == {"stored": 1, "folded_in": [user]}
    after = [i["item"] for i in client.get(f"/recommendations/{user}", params={"k": 10}).json()["items"]]
    assert first[0] not in after
    assert client.get("/health").json()["ratings_stored"] == 4


def test_a_new_user_from_genres_and_a_chosen_id(client: TestClient) -> None:
    created = client.post("/users", json={"user": "ada", "genres": ["Film-Noir"], "k": 5})
    assert created.status_code == 201 and created.json()["user"] == "ada"
    again = client.post("/users", json={"user": "ada", "genres": ["Film-Noir"]})
    assert again.status_code == 409
    taken = client.post("/users", json={"user": "1", "genres": ["Drama"]})
    assert taken.status_code == 409
    placed = client.get("/map", params={"user": "ada", "n": 50}).json()
    assert placed["user"] is not None and len(placed["items"]) == 50


def test_ratings_of_known_users_are_stored_and_leave_their_lists(client: TestClient) -> None:
    top = client.get("/recommendations/1", params={"k": 1}).json()["items"][0]["item"]
    stored = client.post("/ratings", json={"ratings": [{"user": "1", "item": top, "rating": 4.5}]})
    assert stored.status_code == 201 and stored.json() == {"stored": 1, "folded_in": []}
    assert client.get("/recommendations/1", params={"k": 1}).json()["items"][0]["item"] != top


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/recommendations/no-such-user", None, 404),
        ("get", "/items/no-such-item/similar", None, 404),
        ("get", "/recommendations/1?k=0", None, 422),
        ("get", "/recommendations/1?k=101", None, 422),
        ("get", "/recommendations/1?k=ten", None, 422),
        ("get", "/questionnaire?n=0", None, 422),
        ("post", "/predict", {"pairs": [{"user": "1", "item": "nope"}]}, 404),
        ("post", "/predict", {"pairs": [{"user": "nobody", "item": "1"}]}, 404),
        ("post", "/predict", {"pairs": []}, 422),
        ("post", "/ratings", {"ratings": [{"user": "1", "item": "1", "rating": 6}]}, 422),
        ("post", "/ratings", {"ratings": [{"user": "1", "item": "1", "rating": 0.5}]}, 422),
        ("post", "/ratings", {"ratings": [{"user": "1", "item": "1", "rating": "NaN"}]}, 422),
        ("post", "/ratings", {"ratings": [{"user": "1", "item": "zzz", "rating": 3}]}, 404),
        ("post", "/ratings", {"ratings": [{"user": "stranger", "item": "1", "rating": 3}]}, 404),
        ("post", "/ratings", {"ratings": [{"user": "1", "item": "1", "rating": 3, "extra": 1}]}, 422),
        ("post", "/users", {"genres": ["Not-A-Genre"]}, 422),
        ("post", "/users", {"ratings": [{"item": "1", "rating": 9}]}, 422),
    ],
)
def test_bad_input_is_refused_with_a_message(
    client: TestClient, method: str, path: str, body: object, status: int
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_malformed_json_and_oversized_bodies(client: TestClient) -> None:
    broken = client.post("/ratings", content=b'{"ratings": [', headers={"content-type": "application/json"})
    assert broken.status_code == 422
    huge = {"ratings": [{"user": "1", "item": "1", "rating": 3}] * 5000}
    assert client.post("/ratings", json=huge).status_code == 413

    def chunks() -> object:
        yield b'{"ratings": ['
        for _ in range(5000):
            yield b'{"user": "1", "item": "1", "rating": 3},'
        yield b"]}"

    streamed = client.post("/ratings", content=chunks(), headers={"content-type": "application/json"})  # type: ignore[arg-type]
    assert streamed.status_code == 413
    assert client.get("/health").json()["ratings_stored"] == 0


def test_metrics_count_requests_errors_and_the_model_version(client: TestClient) -> None:
    client.get("/recommendations/1")
    client.get("/recommendations/nobody")
    text = client.get("/metrics").text
    assert 'embrec_requests_total{method="GET",route="/recommendations/{user_id}",status="200"} 1.0' in text
    assert 'embrec_errors_total{kind="client",route="/recommendations/{user_id}"} 1.0' in text
    assert 'embrec_model_info{role="active",version="v1"} 1.0' in text
    assert "embrec_request_seconds_bucket" in text


def test_openapi_and_the_page_are_published(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/recommendations/{user_id}", "/users", "/ratings", "/predict", "/metrics"} <= set(spec["paths"])
    page = client.get("/")
    assert page.status_code == 200 and "embrec" in page.text
    assert client.get("/static/app.js").status_code == 200


def test_the_numpy_fast_path_scores_like_the_model(model_dirs: tuple[Path, Path]) -> None:
    recommender = load(model_dirs[0])
    scorer = DotScorer.of(recommender.model)
    assert scorer is not None
    users = np.array([0, 5, 942])
    expected = recommender.score_users(users).numpy()
    np.testing.assert_allclose(np.stack([scorer.scores(int(u)) for u in users]), expected, rtol=0, atol=1e-5)
