"""Ratings tables, id maps, readers, MovieLens 100k and splits."""

from embrec.data.errors import DataError
from embrec.data.ids import IdMap, UnknownIdError
from embrec.data.ratings import Ratings

__all__ = ["DataError", "IdMap", "Ratings", "UnknownIdError"]
