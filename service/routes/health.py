"""Liveness and readiness probes; no authentication."""

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.deps import SessionDep
from service.errors import Unavailable, problem_responses
from service.objects import ObjectStore, ObjectStoreError
from service.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health")
def get_health() -> HealthPublic:
    """Answer while the process runs."""
    return HealthPublic()


@router.get("/ready", responses=problem_responses(503))
def get_ready(session: SessionDep, request: Request) -> HealthPublic:
    """Answer once the database and the store of sealed batches answer."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        raise Unavailable("database") from err
    objects: ObjectStore = request.app.state.objects
    try:
        objects.check()
    except ObjectStoreError as err:
        raise Unavailable("object store") from err
    return HealthPublic()
