"""Model directories: safetensors weights plus a JSON manifest. Never pickle."""

from embrec.artifacts.model_dir import ModelDirError, load, save

__all__ = ["ModelDirError", "load", "save"]
