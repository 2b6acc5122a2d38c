"""Rollout endpoints: status for anyone; propose, compare, approve and roll back with the admin token.

The token is read from the environment variable named by ``Settings.admin_token_env`` at each
request, and sent as ``Authorization: Bearer TOKEN``. While the variable is unset or empty the
admin endpoints answer 403; a missing or wrong token answers 401.
"""

from __future__ import annotations

import hmac
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query

from embrec.serving import rollout
from embrec.serving.metrics import ServiceMetrics
from embrec.serving.model_registry import RegistryState
from embrec.serving.schemas import Actor, Approval, Message, Proposal, RolloutStatus
from embrec.serving.service import Service

LIVE_USERS = 2000
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": Message} for code in (401, 403, 409)}


def router(service: Service, metrics: ServiceMetrics) -> APIRouter:
    """The rollout routes over ``service``; each change reloads the models before answering."""
    routes = APIRouter()

    def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        token = os.environ.get(service.settings.admin_token_env, "")
        if not token:
            raise HTTPException(403, f"admin endpoints are disabled: set {service.settings.admin_token_env}")
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong admin token (Authorization: Bearer TOKEN)")

    def applied(state: RegistryState) -> RolloutStatus:
        snap = service.reload()
        metrics.set_versions(snap.active.version, snap.candidate.version if snap.candidate else None, snap.share)
        return _status(service, state)

    admin = [Depends(require_admin)]

    @routes.get("/rollout")
    async def status() -> RolloutStatus:
        """Active version, candidate and its share, the versions in the registry, and the log."""
        return _status(service, service.registry.state())

    @routes.post("/admin/rollout/propose", dependencies=admin, responses=AUTH_ERRORS)
    def propose(body: Proposal) -> RolloutStatus:
        """Make a registry version the candidate (serving nobody until approved)."""
        return applied(rollout.propose(service.registry, body.version, body.who))

    @routes.post("/admin/rollout/approve", dependencies=admin, responses=AUTH_ERRORS)
    def approve(body: Approval) -> RolloutStatus:
        """Serve the candidate to a share of users (stable by user id); share 1 promotes it."""
        return applied(rollout.approve(service.registry, body.share, body.who))

    @routes.post("/admin/rollout/rollback", dependencies=admin, responses=AUTH_ERRORS)
    def rollback(body: Actor) -> RolloutStatus:
        """Withdraw the candidate, or return to the version active before the last promotion."""
        return applied(rollout.rollback(service.registry, body.who))

    @routes.get("/admin/rollout/compare", dependencies=admin, responses=AUTH_ERRORS)
    def compare(k: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
        """The candidate against the active model: live users' lists, and held-out data when configured."""
        snap = service.current()
        if snap.candidate is None:
            raise HTTPException(409, "there is no candidate to compare; propose one first")
        users = list(dict.fromkeys([*service.rated, *snap.active.recommender.user_ids.ids]))[:LIVE_USERS]
        held_out = service.settings.held_out
        return rollout.compare(snap.active.recommender, snap.candidate.recommender, users, held_out, k)

    return routes


def _status(service: Service, state: RegistryState) -> RolloutStatus:
    return RolloutStatus(
        active=state.active,
        candidate=state.candidate,
        share=state.share,
        versions=service.registry.versions(),
        log=[vars(entry) for entry in state.log],
    )
