"""Error of predicted ratings."""

from __future__ import annotations

import numpy as np


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error."""
    _check(predicted, actual)
    return float(np.sqrt(np.mean((np.asarray(predicted, dtype=np.float64) - actual) ** 2)))


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error."""
    _check(predicted, actual)
    return float(np.mean(np.abs(np.asarray(predicted, dtype=np.float64) - actual)))


def _check(predicted: np.ndarray, actual: np.ndarray) -> None:
    if len(predicted) != len(actual):
        raise ValueError("predicted and actual differ in length")
    if len(actual) == 0:
        raise ValueError("no ratings to compare")
