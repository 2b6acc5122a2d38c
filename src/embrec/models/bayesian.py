"""Bayesian matrix factorisation: the dot model's shape, its weights a posterior mean."""

from __future__ import annotations

import torch

from embrec.models.dot import BiasedFactors


class BayesianMF(BiasedFactors):
    """``y = clip(g + b_u + b_i + p_u . q_i, lo, hi)``, ``(lo, hi)`` the ``y_range``.

    The same tables as ``dot`` (:class:`~embrec.models.dot.BiasedFactors`), but fitted by Gibbs sampling
    (:mod:`embrec.training.gibbs`), not gradient descent: the stored weights give the average
    prediction over the posterior's samples, compressed back to ``factors`` dimensions. Averaging
    over the posterior is what a point estimate lacks on sparse data: users and items with few
    ratings get uncertain vectors, and their predictions shrink towards the biases by themselves,
    without a tuned weight decay or learning rate. The output is linear (the sampler needs a
    Gaussian likelihood), clipped to the interval the other models squash into: (0, 5.5) for
    1-5 stars, wide enough that top-N lists rarely tie at the ceiling (clipping to 1-5 instead
    would gain 0.0004 RMSE on u1 and tie every item predicted above 5). Its "logit" is the
    unclipped rating itself, so the explanations' parts add up to the prediction, in stars.
    """

    def output(self, logit: torch.Tensor) -> torch.Tensor:
        """The prediction from the sum of :meth:`logit_parts`: clipped to ``y_range``."""
        clipped: torch.Tensor = logit.clamp(*self.y_range)
        return clipped

    def output_formula(self) -> str:
        lo, hi = self.y_range
        return f"clip(logit, {lo:g}, {hi:g})"

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        logit = sum(self.logit_parts(users, items).values())
        assert isinstance(logit, torch.Tensor)
        return self.output(logit)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Predictions of every item for each user: (batch, n_items), one matrix product."""
        return self.output(self.logit_all(users))
