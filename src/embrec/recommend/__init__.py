"""Using a trained model through raw ids: predict, top-N, similar items."""

from embrec.recommend.recommender import ItemScore, Recommender

__all__ = ["ItemScore", "Recommender"]
