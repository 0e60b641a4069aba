"""The hub's app factory. Production: `uvicorn --factory service.main:create_app`."""

import logging

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from service.config import Settings
from service.db import make_engine
from service.errors import install_error_handlers
from service.routes import api_router

API_PREFIX = "/v1"
API_VERSION = "1.0.0"  # bump deliberately when openapi/openapi.json changes meaning


def operation_id(route: APIRoute) -> str:
    """Stable operation ids, hence stable generated client method names: `projects-get_project`."""
    return f"{route.tags[0]}-{route.name}"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the hub; nothing is created at import time."""
    settings = settings or Settings()
    logging.getLogger("service").setLevel(settings.log_level)
    app = FastAPI(
        title="fieldlink hub", version=API_VERSION, generate_unique_id_function=operation_id
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings)
    install_error_handlers(app)
    app.include_router(api_router, prefix=API_PREFIX)
    return app
