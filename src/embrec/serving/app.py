"""The HTTP service: :func:`create_app` builds a FastAPI app over a model registry and a ratings store.

Read endpoints need nothing; admin endpoints (``/admin/...``, see :mod:`embrec.serving.admin`)
need the token from the environment variable named in :class:`Settings`. Unknown ids answer
404 with a message, invalid input 422, bodies over the limit 413; the OpenAPI description is
at ``/openapi.json`` and the interactive docs at ``/docs``. The web page is served at ``/``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from embrec.data.ids import UnknownIdError
from embrec.serving import admin
from embrec.serving.fast_path import ListCache, RecommendationsFastPath, list_json
from embrec.serving.live_model import CatalogEntry, Listed, LiveModel
from embrec.serving.metrics import CONTENT_TYPE, BodyLimitMiddleware, MetricsMiddleware, ServiceMetrics
from embrec.serving.model_registry import ModelRegistry, RegistryError
from embrec.serving.ratings_store import DuplicateUserError, RatingsStore, StoredRating, display_url
from embrec.serving.schemas import (
    MAX_QUESTIONNAIRE,
    Health,
    Item,
    ItemList,
    ItemRating,
    Message,
    NewUser,
    Prediction,
    Predictions,
    PredictRequest,
    Questionnaire,
    RatingsRequest,
    RatingsStored,
    RecommendationList,
    ScoredItem,
    SimilarList,
    TasteMap,
    UserRating,
)
from embrec.serving.service import Service, Settings

WEB = Path(__file__).parent / "web"
K = Annotated[int, Query(ge=1, le=100, description="List length.")]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Message}, 413: {"model": Message}}


def create_app(
    models: str | Path | ModelRegistry, store: str | RatingsStore, settings: Settings | None = None
) -> FastAPI:
    """An app serving the registry (or single model directory) ``models``, writing to ``store``."""
    registry = models if isinstance(models, ModelRegistry) else ModelRegistry.open(models)
    the_store = store if isinstance(store, RatingsStore) else RatingsStore(store)
    settings = settings or Settings()
    service = Service(registry, the_store, settings)
    metrics = ServiceMetrics()
    app = FastAPI(title="embrec", version="1", responses=ERRORS, summary="Recommendations from learned embeddings.")
    app.state.service, app.state.metrics = service, metrics
    _errors(app)
    _read_routes(app, service, metrics)
    _write_routes(app, service)
    app.include_router(admin.router(service, metrics))
    app.mount("/static", StaticFiles(directory=WEB), name="static")
    # The last added runs first: metrics, then the body limit, then the fast path, then FastAPI.
    route = next(r for r in app.routes if getattr(r, "path", None) == "/recommendations/{user_id}")
    cache = app.state.list_cache = ListCache(int(settings.list_cache_mb * 2**20))
    app.add_middleware(RecommendationsFastPath, service=service, route=route, cache=cache, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _errors(app: FastAPI) -> None:
    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    app.add_exception_handler(UnknownIdError, not_found)
    app.add_exception_handler(DuplicateUserError, conflict)
    app.add_exception_handler(RegistryError, conflict)


def _read_routes(app: FastAPI, service: Service, metrics: ServiceMetrics) -> None:
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/health")
    async def health() -> Health:
        snap = service.current()
        metrics.set_versions(snap.active.version, snap.candidate.version if snap.candidate else None, snap.share)
        candidate = snap.candidate.version if snap.candidate else None
        count = service.store.count()
        return Health(status="ok", active=snap.active.version, candidate=candidate, share=snap.share,
                      store=display_url(service.store.url), ratings_stored=count)  # fmt: skip

    @app.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def prometheus() -> Response:
        snap = service.current()
        metrics.set_versions(snap.active.version, snap.candidate.version if snap.candidate else None, snap.share)
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/recommendations/{user_id}", response_model=RecommendationList)
    async def recommendations(user_id: str, k: K = 10, explain: bool = False) -> Response:
        """The ``k`` best items the user has not rated, with ``because`` titles when ``explain``."""
        model = _model_for(service, user_id)
        listed = model.recommend(user_id, k, service.rated.get(user_id, {}), explain)
        # JSON written directly (RecommendationList's shape, see the tests), as on the fast path.
        return Response(list_json(model, user_id, listed), media_type="application/json")

    @app.get("/items/{item_id}/similar")
    async def similar(item_id: str, k: K = 10) -> SimilarList:
        """Items whose factor vectors are closest (cosine) to the item's (an id or an exact title)."""
        model = service.current().active
        try:
            index, listed = model.similar(item_id, k)
        except ValueError as exc:  # a model without item factors
            return JSONResponse({"detail": str(exc)}, status_code=404)  # type: ignore[return-value]
        return SimilarList(item=_item(model.catalog[index]), model_version=model.version, items=_scored(model, listed))

    @app.get("/items")
    async def items(
        search: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> ItemList:
        """Items whose title contains every word of ``search``, most rated first."""
        model = service.current().active
        return ItemList(items=[_item(model.catalog[i]) for i in model.search(search, limit)])

    @app.post("/predict")
    async def predict(body: PredictRequest) -> Predictions:
        """Predicted ratings for a batch of (user, item) pairs."""
        snap = service.current()
        groups: dict[str, list[int]] = defaultdict(list)
        models: dict[str, LiveModel] = {}
        for position, pair in enumerate(body.pairs):
            model = _model_for(service, pair.user, snap.model_for(pair.user))
            groups[model.version].append(position)
            models[model.version] = model
        out: list[Prediction | None] = [None] * len(body.pairs)
        for version, positions in groups.items():
            pairs = [body.pairs[p] for p in positions]
            values = models[version].predict([p.user for p in pairs], [p.item for p in pairs])
            for p, pair, value in zip(positions, pairs, values, strict=True):
                out[p] = Prediction(user=pair.user, item=pair.item, rating=float(value), model_version=version)
        return Predictions(predictions=[p for p in out if p is not None])

    @app.get("/questionnaire")
    async def questionnaire(n: Annotated[int, Query(ge=1, le=MAX_QUESTIONNAIRE)] = 10) -> Questionnaire:
        """Items to ask a new user to rate, and the genres they can pick from."""
        model = service.current().active
        asked = [_item(model.catalog[i]) for i in model.questions(n)]
        return Questionnaire(items=asked, genres=model.genres(), scale=model.scale)

    @app.get("/map")
    async def taste_map(
        user: Annotated[str | None, Query(max_length=200)] = None,
        n: Annotated[int, Query(ge=10, le=2000)] = 300,
    ) -> TasteMap:
        """The most rated items on the first two principal axes of the item factors; the user's position."""
        model = _model_for(service, user) if user is not None else service.current().active
        try:
            order, xy = model.map_points(n)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)  # type: ignore[return-value]
        popularity = model.recommender.item_popularity
        points = [
            {"item": model.catalog[i].item, "title": model.catalog[i].title, "x": float(x), "y": float(y),
             "popularity": int(popularity[i])}
            for i, (x, y) in zip(order, xy, strict=True)
        ]  # fmt: skip
        position = model.user_position(user) if user is not None else None
        you = None if position is None else {"x": float(position[0]), "y": float(position[1])}
        return TasteMap.model_validate({"model_version": model.version, "items": points, "user": you})


def _write_routes(app: FastAPI, service: Service) -> None:
    @app.post("/users", status_code=201, responses={409: {"model": Message}})
    def new_user(body: NewUser) -> RecommendationList:
        """Create a user from questionnaire ratings and/or liked genres; returns its first list."""
        model = service.current().active
        user = body.user or service.new_user_id()
        if user in model.recommender.user_ids or service.is_new_user(user):
            raise DuplicateUserError(f"user id {user!r} is already taken")
        unknown = sorted(set(body.genres) - set(model.genres()))
        if unknown:
            _invalid(("body", "genres"), f"unknown genres {unknown}; choose from {model.genres()}", body.genres)
        ratings = _checked(model, [(user, r) for r in body.ratings], ("body", "ratings"))
        service.add_user(user, {"genres": body.genres, "questionnaire": len(ratings)}, ratings)
        model = _model_for(service, user)
        listed = model.recommend(user, body.k, service.rated.get(user, {}), explain=True)
        return RecommendationList(user=user, model_version=model.version, items=_scored(model, listed))

    @app.post("/ratings", status_code=201)
    def add_ratings(body: RatingsRequest) -> RatingsStored:
        """Store ratings (committed before the answer); a new user's ratings re-place it at once."""
        model = service.current().active
        for rating in body.ratings:
            service.check_user(rating.user)
        ratings = _checked(model, [(r.user, r) for r in body.ratings], ("body", "ratings"))
        refolded = service.add_ratings(ratings)
        return RatingsStored(stored=len(ratings), folded_in=refolded)


def _model_for(service: Service, user: str | None, model: LiveModel | None = None) -> LiveModel:
    snap = service.current()
    model = model or snap.model_for(user or "")
    if user is None or model.knows(user):
        return model
    if snap.active.knows(user):
        return snap.active
    raise UnknownIdError("user", user)


def _checked(
    model: LiveModel, ratings: list[tuple[str, ItemRating | UserRating]], loc: tuple[str, str]
) -> list[StoredRating]:
    """Ratings with items resolved to raw ids (404 if unknown) and values inside the scale (422)."""
    lo, hi = model.scale
    out = []
    for position, (user, rating) in enumerate(ratings):
        if not lo <= rating.rating <= hi:
            _invalid((*loc, str(position), "rating"), f"rating must be between {lo:g} and {hi:g}", rating.rating)
        raw = model.recommender.item_ids.raw(model.recommender.item_index(rating.item))
        out.append(StoredRating(user, raw, rating.rating))
    return out


def _invalid(loc: tuple[str, ...], message: str, value: object) -> None:
    raise RequestValidationError([{"loc": loc, "msg": message, "type": "value_error", "input": value}])


def _item(entry: CatalogEntry) -> Item:
    return Item(item=entry.item, title=entry.title, year=entry.year, genres=list(entry.genres))


def _scored(model: LiveModel, listed: list[Listed]) -> list[ScoredItem]:
    return [
        ScoredItem(**_item(model.catalog[e.index]).model_dump(), score=e.score,
                   because=list(e.because) if e.because is not None else None)
        for e in listed
    ]  # fmt: skip
