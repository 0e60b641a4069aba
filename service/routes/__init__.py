"""The hub's HTTP API, one module per resource."""

from fastapi import APIRouter

from service.routes import (
    agencies,
    audit,
    disclosure,
    health,
    hits,
    key_epochs,
    principals,
    projects,
    public_keys,
    runs,
    suspects,
    uploads,
    wrapped_keys,
)

api_router = APIRouter()
for module in (health, agencies, principals, projects, uploads, runs, hits, suspects, audit):
    api_router.include_router(module.router)
for module in (public_keys, key_epochs, wrapped_keys, disclosure):  # keys and disclosure
    api_router.include_router(module.router)
