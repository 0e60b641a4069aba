"""The hub's app factory. Production: `uvicorn --factory service.main:create_app`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from service.config import Settings
from service.db import make_engine
from service.errors import install_error_handlers
from service.hub_keys import load_hub_keys
from service.metrics import install_metrics
from service.routes import api_router

API_PREFIX = "/v1"
API_VERSION = "1.0.0"  # bump deliberately when openapi/openapi.json changes meaning


def operation_id(route: APIRoute) -> str:
    """Stable operation ids, hence stable generated client method names: `projects-get_project`."""
    return f"{route.tags[0]}-{route.name}"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up: load (on first start, create) the hub's keys. Shutdown: dispose the engine."""
    settings: Settings = app.state.settings
    app.state.hub_keys = load_hub_keys(settings.data_dir, create=True)
    yield
    app.state.engine.dispose()


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the hub; nothing is created at import time, nothing touches disk before start-up."""
    settings = settings or Settings()
    logging.getLogger("service").setLevel(settings.log_level)
    app = FastAPI(
        title="fieldlink hub",
        version=API_VERSION,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings)
    install_error_handlers(app)
    install_metrics(app)
    app.include_router(api_router, prefix=API_PREFIX)
    return app
