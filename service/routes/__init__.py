"""The hub's HTTP API, one module per resource."""

from fastapi import APIRouter

from service.routes import (
    agencies,
    audit,
    health,
    hits,
    principals,
    projects,
    runs,
    suspects,
    uploads,
)

api_router = APIRouter()
for module in (health, agencies, principals, projects, uploads, runs, hits, suspects, audit):
    api_router.include_router(module.router)
