"""Cold start: new users from a few answers or their tastes, new items from metadata or first ratings."""

from embrec.coldstart.extend import add_items, add_users
from embrec.coldstart.fold_in import fold_in, fold_in_ratings, fold_in_user, predict_folded
from embrec.coldstart.prior import FoldedRows, Prior, population_prior

__all__ = [
    "FoldedRows",
    "Prior",
    "add_items",
    "add_users",
    "fold_in",
    "fold_in_ratings",
    "fold_in_user",
    "population_prior",
    "predict_folded",
]
