"""The FastAPI application: every slice's router under ``/api/v1``, background jobs in the lifespan."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from server import lifecycle
from server.config import get_settings
from server.db import get_db
from server.errors import ERROR_RESPONSES, install_handlers

API = "/api/v1"

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await lifecycle.startup(app)
    try:
        yield
    finally:
        await lifecycle.shutdown(app)


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Internet hospital: online revisit service",
        version="1.0.0",
        description="Patient mini-program API and the staff workstation's API. Errors are "
                    "`{code, message, details}` with a stable `code` and a Chinese `message`.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    install_handlers(app)

    from server.accounts.routes import router as accounts
    from server.appointments.routes import router as appointments
    from server.catalogue.routes import router as catalogue
    from server.consultation.routes import router as consultation
    from server.events.routes import router as events
    from server.files.routes import router as files
    from server.patients.routes import router as patients
    from server.payments.routes import router as payments
    from server.prescriptions.routes import router as prescriptions
    from server.refunds.routes import router as refunds
    from server.refunds.staff_routes import router as refund_desk
    from server.sms.routes import router as sms
    from server.staff.routes import router as staff
    from server.video.routes import router as video

    # In the order requests need them: this FastAPI matches a request against the routers one after another (each
    # route's pattern, twice for the router that matches), so the patient app's busiest routes come first. No two
    # routers share a path, so the order changes nothing else.
    for router in (catalogue, appointments, payments, accounts, patients, files, consultation, video,
                   prescriptions, refunds, refund_desk, staff, events):
        app.include_router(router, prefix=API)
    if not settings.production:
        app.include_router(sms, prefix=API)
    from server.appointments.routes import install_fast_path

    install_fast_path(app, prefix=API)

    @app.get("/healthz", tags=["ops"], summary="Liveness and database check")
    def healthz() -> dict[str, str]:
        with get_db().session(write=False) as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "database": get_db().dialect}

    return app
