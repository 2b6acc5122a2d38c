"""The shapes of the HTTP API: pydantic models validate everything that crosses the boundary.

Ids are raw strings (1-200 characters); ratings are finite numbers (the model's scale is
checked by the app, which knows it); list lengths are bounded so that no request can ask for
unbounded work. Anything that fails validation is answered 422 by FastAPI.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_K = 100
MAX_BATCH = 1000
MAX_GENRES = 30
MAX_QUESTIONNAIRE = 50

Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Rating = Annotated[float, Field(allow_inf_nan=False)]
Genre = Annotated[str, StringConstraints(min_length=1, max_length=100)]
K = Annotated[int, Field(ge=1, le=MAX_K)]


class Strict(BaseModel):
    """Unknown fields are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Message(BaseModel):
    """An error: what went wrong, and for unknown ids what might have been meant."""

    detail: str


class Item(BaseModel):
    """An item of the catalog with its side information."""

    item: str
    title: str
    year: int | None = None
    genres: list[str] = []


class ScoredItem(Item):
    """An item in a list: ``score`` is the predicted rating (similarity for similar items)."""

    score: float
    because: list[str] | None = Field(None, description="Titles the user liked that are closest to this item.")


class RecommendationList(BaseModel):
    user: str
    model_version: str
    items: list[ScoredItem]


class SimilarList(BaseModel):
    item: Item
    model_version: str
    items: list[ScoredItem]


class ItemList(BaseModel):
    items: list[Item]


class Pair(Strict):
    user: Id
    item: Id


class PredictRequest(Strict):
    pairs: list[Pair] = Field(min_length=1, max_length=MAX_BATCH)


class Prediction(BaseModel):
    user: str
    item: str
    rating: float
    model_version: str


class Predictions(BaseModel):
    predictions: list[Prediction]


class ItemRating(Strict):
    item: Id
    rating: Rating


class NewUser(Strict):
    """A new user: questionnaire ratings, liked genres, or both; ``user`` is generated when omitted."""

    user: Id | None = None
    ratings: list[ItemRating] = Field(default=[], max_length=MAX_BATCH)
    genres: list[Genre] = Field(default=[], max_length=MAX_GENRES)
    k: K = 10


class UserRating(Strict):
    user: Id
    item: Id
    rating: Rating


class RatingsRequest(Strict):
    ratings: list[UserRating] = Field(min_length=1, max_length=MAX_BATCH)


class RatingsStored(BaseModel):
    """Ratings committed to the store; ``folded_in`` lists new users whose lists were updated."""

    stored: int
    folded_in: list[str]


class Questionnaire(BaseModel):
    items: list[Item]
    genres: list[str]
    scale: tuple[float, float]


class Health(BaseModel):
    status: str
    active: str
    candidate: str | None
    share: float
    store: str
    ratings_stored: int


class MapPoint(BaseModel):
    item: str
    title: str
    x: float
    y: float
    popularity: int


class TasteMap(BaseModel):
    """Items on the first two principal axes of the item factors; the user's own position."""

    model_version: str
    items: list[MapPoint]
    user: dict[str, float] | None


class Approval(Strict):
    share: float = Field(gt=0.0, le=1.0, description="Share of users to serve the candidate; 1 promotes it.")
    who: Id


class Actor(Strict):
    who: Id


class Proposal(Strict):
    version: Id
    who: Id


class RolloutStatus(BaseModel):
    active: str | None
    candidate: str | None
    share: float
    versions: list[str]
    log: list[dict[str, Any]]
