"""The hub's HTTP API, one module per resource."""

from fastapi import APIRouter

from service.routes import (
    agencies,
    audit,
    disclosure,
    enrolment,
    health,
    hits,
    key_epochs,
    members,
    principals,
    projects,
    public_keys,
    retention,
    runs,
    suspects,
    uploads,
    watch,
    wrapped_keys,
)

api_router = APIRouter()
for module in (health, agencies, principals, enrolment, projects, members, retention):
    api_router.include_router(module.router)
for module in (uploads, runs, watch, hits, suspects, audit):
    api_router.include_router(module.router)
for module in (public_keys, key_epochs, wrapped_keys, disclosure):  # keys and disclosure
    api_router.include_router(module.router)
