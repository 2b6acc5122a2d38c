"""Rating and ranking metrics, the evaluation protocol and cross-validation."""

from embrec.evaluation.protocol import evaluate, relevance_threshold

__all__ = ["evaluate", "relevance_threshold"]
