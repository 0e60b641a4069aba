"""Liveness and readiness probes; no authentication."""

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.deps import SessionDep
from service.errors import Unavailable, problem_responses
from service.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health")
def get_health() -> HealthPublic:
    """Answer while the process runs."""
    return HealthPublic()


@router.get("/ready", responses=problem_responses(503))
def get_ready(session: SessionDep) -> HealthPublic:
    """Answer once the database answers."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as err:
        raise Unavailable("database") from err
    return HealthPublic()
