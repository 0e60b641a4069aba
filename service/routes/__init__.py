"""The hub's HTTP API, one module per resource."""

from fastapi import APIRouter

from service.routes import agencies, health, principals, projects

api_router = APIRouter()
for module in (health, agencies, principals, projects):
    api_router.include_router(module.router)
