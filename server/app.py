"""The FastAPI application: every slice's router under ``/api/v1``, background jobs in the lifespan."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
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
    routers = (catalogue, appointments, payments, accounts, patients, files, consultation, video, prescriptions,
               refunds, refund_desk, staff, events)
    for router in routers:
        app.include_router(router, prefix=API)
    if not settings.production:
        app.include_router(sms, prefix=API)
    from server.appointments.routes import install_fast_path

    install_fast_path(app, prefix=API)

    document_staff_roles(app, routers)

    @app.get("/healthz", tags=["ops"], summary="Liveness and database check")
    def healthz() -> dict[str, str]:
        with get_db().session(write=False) as s:
            s.execute(text("SELECT 1"))
        return {"status": "ok", "database": get_db().dialect}

    return app


def _staff_roles(dependant: Any) -> set[str] | None:
    """The roles the route's ``require_roles`` lets through (None: no such check)."""
    found: set[str] | None = None
    for sub in dependant.dependencies:
        roles = getattr(sub.call, "staff_roles", None)
        if roles is not None:
            found = set(roles) if found is None else found & set(roles)
        inner = _staff_roles(sub)
        if inner is not None:
            found = inner if found is None else found & inner
    return found


def document_staff_roles(app: FastAPI, routers: tuple[APIRouter, ...]) -> None:
    """Each staff operation limited to some roles says which in ``x-staff-roles`` (the others answer 403
    ``role_forbidden``), so that the workstation and the tests read it from the contract."""
    roles_of: dict[tuple[str, str], list[str]] = {}
    for router in routers:
        for route in router.routes:
            roles = _staff_roles(route.dependant) if isinstance(route, APIRoute) else None
            if roles is not None:
                for method in route.methods:
                    roles_of[(API + route.path_format, method.lower())] = sorted(roles)
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        schema = plain()
        for (path, method), roles in roles_of.items():
            op = schema.get("paths", {}).get(path, {}).get(method)
            if op is not None:
                op["x-staff-roles"] = roles
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
