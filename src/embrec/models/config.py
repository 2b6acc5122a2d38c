"""What defines a model's shape, as a frozen dataclass that round-trips to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a model.

    ``kind`` names an entry of the registry (``dot``, ``nn``, ``bias``, ``mean``). ``y_range``
    is the output interval ``(lo, hi)`` of the scaled sigmoid ``lo + (hi - lo) * sigmoid(x)``;
    ``None`` lets training derive it from the rating scale ((0, 5.5) for 1-5 stars).
    ``layers``/``dropout`` shape the MLP of ``nn``; ``bias_reg`` is the shrinkage (in pseudo-ratings)
    of the closed-form bias baseline. ``features`` declares the side features of ``widedeep``
    (the JSON of ``embrec.data.side_features.SideFeatures``); training fits their vocabularies
    and stores the fitted JSON here, so a model directory can encode new users and items.
    """

    kind: str = "dot"
    factors: int = 50
    y_range: tuple[float, float] | None = None
    layers: tuple[int, ...] = (32,)
    dropout: float = 0.5
    bias_reg: float = 5.0
    features: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        values = dict(data)
        if values.get("y_range") is not None:
            values["y_range"] = tuple(values["y_range"])
        if "layers" in values:
            values["layers"] = tuple(values["layers"])
        return cls(**values)
