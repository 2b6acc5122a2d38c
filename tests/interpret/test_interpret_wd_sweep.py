"""The weight-decay sweep: one curve per setting on one carved validation part; decay shrinks norms."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.data.ratings import Ratings
from embrec.interpret.wd_sweep import embedding_norms, weight_decay_sweep
from embrec.models import ModelConfig
from embrec.training.config import TrainConfig
from embrec.training.loop import EpochRecord


def test_sweep_reports_every_epoch_and_decay_shrinks_the_embeddings(ratings: Ratings) -> None:
    seen: list[tuple[float, int]] = []

    def on_epoch(wd: float, record: EpochRecord) -> None:
        seen.append((wd, record.epoch))

    config = TrainConfig(epochs=3, lr=0.03, batch_size=256, seed=1)
    runs = weight_decay_sweep(ratings, [0.0, 2.0], ModelConfig(kind="dot", factors=4), config, 0.2, on_epoch)
    assert [r.weight_decay for r in runs] == [0.0, 2.0]
    assert seen == [(wd, e) for wd in (0.0, 2.0) for e in (1, 2, 3)]
    for run in runs:
        assert len(run.valid_rmse) == len(run.train_loss) == 3
        assert all(np.isfinite(run.valid_rmse)) and 1 <= run.best_epoch <= 3
        assert set(run.norms) == {"user_factors", "item_factors"}
    for table in ("user_factors", "item_factors"):
        assert runs[1].norms[table] < runs[0].norms[table]


def test_the_same_settings_give_the_same_curve(ratings: Ratings) -> None:
    """Same split and seed: two runs with the same decay give the same curve."""
    config = TrainConfig(epochs=2, batch_size=256, seed=2)
    a, b = weight_decay_sweep(ratings, [0.05, 0.05], ModelConfig(kind="dot", factors=3), config)
    assert a.valid_rmse == b.valid_rmse and a.norms == b.norms


def test_bad_settings_are_refused(ratings: Ratings) -> None:
    with pytest.raises(ValueError, match="at least one"):
        weight_decay_sweep(ratings, [], ModelConfig(), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="valid_fraction"):
        weight_decay_sweep(ratings, [0.1], ModelConfig(), TrainConfig(epochs=1), valid_fraction=0.0)


def test_norms_skip_one_column_tables_and_untrained_rows(ratings: Ratings) -> None:
    from embrec.models import build_model

    model = build_model(ratings.n_users, ratings.n_items, ModelConfig(kind="dot", factors=3, y_range=(0, 5.5)))
    part = ratings.subset(ratings.users < 10)
    norms = embedding_norms(model, part)
    assert set(norms) == {"user_factors", "item_factors"}
    rows = model.state_dict()["user_factors.weight"].numpy()[:10]
    assert norms["user_factors"] == pytest.approx(float(np.linalg.norm(rows, axis=1).mean()), rel=1e-6)
