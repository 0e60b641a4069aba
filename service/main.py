"""The hub's app factory. Production: `uvicorn --factory service.main:create_app`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from service import orphans
from service.audit import audit_writer, install_audit
from service.config import Settings
from service.db import make_engine, prepare_database_file
from service.errors import install_error_handlers
from service.guard import install_body_gate, install_throttle
from service.hub_keys import settings_keys
from service.jobs import run_workers
from service.metrics import install_metrics
from service.objects import LocalObjects, ObjectStore, ObjectStoreError, object_store
from service.request_log import install_request_log
from service.retention import purge_schedule
from service.routes import api_router
from service.security_headers import install_security_headers
from service.spool import remove_leftovers
from service.tracing import configured_tracing, install_tracing
from service.web.docs import install_docs
from service.web.pages import install_pages

logger = logging.getLogger(__name__)

API_PREFIX = "/v1"
API_VERSION = "1.0.0"  # bump deliberately when openapi/openapi.json changes meaning


def operation_id(route: APIRoute) -> str:
    """Stable operation ids, hence stable generated client method names: `projects-get_project`."""
    return f"{route.tags[0]}-{route.name}"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up: keys, clean-up, the audit writer, orphaned batches, workers, purge schedule.

    Shutdown: stop the schedule and the run workers, flush and stop the audit writer,
    dispose the engine.
    """
    settings: Settings = app.state.settings
    app.state.hub_keys = settings_keys(settings, create=True)  # the data folder, owner-only
    if app.state.owns_engine:
        prepare_database_file(settings)  # hub.db owner-only, created so if it is new
    remove_leftovers(settings.data_dir)  # of killed processes: sealed spool files, partials
    _abort_stale_writes(app.state.objects)
    with audit_writer(app):
        _remove_orphans(app)  # audited: inside the audit writer
        with run_workers(app), purge_schedule(app):
            yield
    app.state.tracing.shutdown()  # exports the spans still pending
    if app.state.owns_engine:  # an engine passed to create_app is its caller's to dispose
        app.state.engine.dispose()


def _abort_stale_writes(objects: ObjectStore) -> None:
    # The data folder's partial files went with the spool's; a bucket's unfinished multipart
    # uploads go here. The hub starts all the same when the store does not answer.
    if isinstance(objects, LocalObjects):
        return
    try:
        objects.remove_leftovers()
    except ObjectStoreError as err:
        logger.warning("unfinished uploads in the object store not removed: %s", err)


def _remove_orphans(app: FastAPI) -> None:
    # Sealed batches a killed replace or delete left unreferenced (service.orphans). The hub
    # starts all the same when the store or the audit log does not answer.
    settings: Settings = app.state.settings
    try:
        orphans.sweep_orphans(
            app.state.sessions,
            app.state.objects,
            app.state.audit_writer,
            grace=timedelta(seconds=settings.orphan_grace_s),
        )
    except Exception as exc:
        logger.warning("unreferenced batch objects not removed: %s", type(exc).__name__)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the hub; nothing is created at import time, nothing touches disk before start-up."""
    settings = settings or Settings()
    logging.getLogger("service").setLevel(settings.log_level)
    app = FastAPI(
        title="fieldlink hub",
        version=API_VERSION,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load from CDNs; service.web.docs serves our copies
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings)
    app.state.owns_engine = engine is None
    # Sessions opened outside a request (audit writer, run workers); tests may put theirs here.
    app.state.sessions = sessionmaker(app.state.engine, expire_on_commit=False)
    app.state.objects = object_store(settings)  # sealed batches: data folder or S3 bucket
    install_error_handlers(app)
    install_body_gate(app)  # inside the audit middleware: its refusals are audited
    install_audit(app)  # before metrics, so request latency includes the audit append
    install_throttle(app)  # outside it: a flood of 429s does not fill the audit log
    install_metrics(app)
    install_tracing(app, configured_tracing(settings))  # inside the access log: request ids
    install_request_log(app)  # outside the rest: request id first, every answer logged
    install_security_headers(app)  # outermost: every answer gets them, errors included
    app.include_router(api_router, prefix=API_PREFIX)
    install_docs(app)
    install_pages(app)  # the web pages under /app, after /static and the error handlers
    return app
