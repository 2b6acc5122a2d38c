"""Training: configuration, batches, optimiser set-up and the one training loop."""

from embrec.training.config import TrainConfig
from embrec.training.loop import EpochRecord, History, fit, train_model

__all__ = ["EpochRecord", "History", "TrainConfig", "fit", "train_model"]
