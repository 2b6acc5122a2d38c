"""The ratings store: every rating and new user that reaches the service, in a database.

SQLAlchemy Core over any database URL; SQLite by default (one file, created on first use, in
WAL mode with ``synchronous=FULL``). Every write runs in its own transaction and returns only
after the commit, so a caller that acknowledges a request after :meth:`RatingsStore.add_ratings`
returns never acknowledges a rating the database could still lose: a crash of the process (even
SIGKILL) right after the commit keeps it.

Two tables:

- ``ratings``: ``id`` (autoincrement), ``user_id``, ``item_id`` (raw ids, text), ``rating``,
  ``created`` (Unix seconds). Repeated (user, item) pairs are kept; readers use the latest.
- ``users``: ``user_id`` (primary key), ``created``, ``profile`` (the onboarding answers as JSON).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import ConnectionPoolEntry

DEFAULT_URL = "sqlite:///embrec.db"

metadata = sa.MetaData()
ratings_table = sa.Table(
    "ratings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(200), nullable=False, index=True),
    sa.Column("item_id", sa.String(200), nullable=False),
    sa.Column("rating", sa.Float, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
)
users_table = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class StoredRating:
    """One rating as stored: raw ids, value and arrival time."""

    user: str
    item: str
    rating: float
    created: float = field(default_factory=time.time)


@dataclass(frozen=True)
class StoredUser:
    """A user created through the service, with the onboarding answers it came with."""

    user: str
    profile: dict[str, Any]
    created: float


class DuplicateUserError(ValueError):
    """A new user whose id is already taken."""


class RatingsStore:
    """Append-only access to the ratings and users tables of one database."""

    def __init__(self, url: str = DEFAULT_URL):
        self.url = url
        self.engine = _engine(url)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def add_ratings(self, ratings: Sequence[StoredRating]) -> int:
        """Insert the ratings in one transaction; returns how many, once committed."""
        rows = _rows(ratings)
        if rows:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(ratings_table), rows)
        return len(rows)

    def add_user(self, user: str, profile: dict[str, Any], ratings: Sequence[StoredRating] = ()) -> None:
        """Insert a new user and its first ratings in one transaction; :class:`DuplicateUserError` if taken."""
        rows = _rows(ratings)
        new_user = sa.insert(users_table).values(user_id=user, created=time.time(), profile=json.dumps(profile))
        try:
            with self.engine.begin() as conn:
                conn.execute(new_user)
                if rows:
                    conn.execute(sa.insert(ratings_table), rows)
        except IntegrityError:
            raise DuplicateUserError(f"user id {user!r} is already taken") from None

    def ratings(self, user: str | None = None, since_id: int = 0) -> list[StoredRating]:
        """Stored ratings in arrival order, all or one user's, with row id above ``since_id``."""
        query = sa.select(ratings_table).where(ratings_table.c.id > since_id).order_by(ratings_table.c.id)
        if user is not None:
            query = query.where(ratings_table.c.user_id == user)
        with self.engine.connect() as conn:
            return [StoredRating(r.user_id, r.item_id, r.rating, r.created) for r in conn.execute(query)]

    def users(self) -> list[StoredUser]:
        """Users created through the service, oldest first."""
        query = sa.select(users_table).order_by(users_table.c.created)
        with self.engine.connect() as conn:
            return [StoredUser(r.user_id, json.loads(r.profile), r.created) for r in conn.execute(query)]

    def has_user(self, user: str) -> bool:
        query = sa.select(users_table.c.user_id).where(users_table.c.user_id == user)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def count(self) -> int:
        """Number of stored ratings."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(ratings_table)).scalar_one())


def _rows(ratings: Sequence[StoredRating]) -> list[dict[str, object]]:
    return [{"user_id": r.user, "item_id": r.item, "rating": float(r.rating), "created": r.created} for r in ratings]


def display_url(url: str) -> str:
    """The URL with any password hidden (for /health and logs)."""
    return sa.make_url(url).render_as_string(hide_password=True)


def _engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    """WAL (readers never block the writer), a full fsync per commit, and waiting on locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
