"""Cold start: new users from a few answers or their tastes, new items from metadata or first ratings."""

from embrec.coldstart.extend import add_items, add_users
from embrec.coldstart.fallbacks import ColdList, choose_fallback, compare_fallbacks, fallback
from embrec.coldstart.fold_in import fold_in, fold_in_ratings, fold_in_user, predict_folded
from embrec.coldstart.new_items import add_item, fit_metadata_model, fold_in_item
from embrec.coldstart.newcomer import newcomer_list, place_newcomer
from embrec.coldstart.preferences import Preferences, from_preferences
from embrec.coldstart.prior import FoldedRows, Prior, population_prior
from embrec.coldstart.questionnaire import questionnaire

__all__ = [
    "ColdList",
    "FoldedRows",
    "Preferences",
    "Prior",
    "add_item",
    "add_items",
    "add_users",
    "choose_fallback",
    "compare_fallbacks",
    "fallback",
    "fit_metadata_model",
    "fold_in",
    "fold_in_item",
    "fold_in_ratings",
    "fold_in_user",
    "from_preferences",
    "newcomer_list",
    "place_newcomer",
    "population_prior",
    "predict_folded",
    "questionnaire",
]
