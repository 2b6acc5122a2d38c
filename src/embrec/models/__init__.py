"""Pure PyTorch models: index tensors in, predicted ratings out. No ids, no files, no loops."""

from embrec.models.config import ModelConfig
from embrec.models.registry import MODELS, build_model, default_model_config

__all__ = ["MODELS", "ModelConfig", "build_model", "default_model_config"]
