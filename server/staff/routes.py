"""Staff routes: workstation login and logout, the caller's account, the admin's account management."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from server.deps import AdminStaff, ClientDep, CurrentStaff, DbDep, SessionDep, SettingsDep
from server.errors import ErrorBody
from server.staff import service
from server.staff.schemas import (
    MAX_ID,
    LoginIn,
    LoginOut,
    Role,
    StaffAdminPublic,
    StaffCreate,
    StaffPublic,
    StaffUpdate,
)

router = APIRouter(tags=["staff"])

StaffId = Annotated[int, Path(ge=1, le=MAX_ID, description="Staff account id")]


@router.post("/staff/auth/login", response_model=LoginOut, summary="Log in to the workstation",
             responses={423: {"model": ErrorBody, "description": "Locked after too many wrong passwords"}})
def login(body: LoginIn, db: DbDep, client: ClientDep, settings: SettingsDep) -> LoginOut:
    result = service.login(db=db, username=body.username, password=body.password, client=client)
    return LoginOut(token=result.token, staff=StaffPublic.model_validate(result.staff),
                    idle_timeout_s=settings.staff_session_idle_s, expires_at=result.expires_at,
                    hospital=settings.hospital_name)


@router.post("/staff/auth/logout", status_code=204, summary="Log out (ends this session and its event stream)")
def logout(ctx: CurrentStaff, session: SessionDep) -> None:
    service.logout(session=session, staff=ctx.staff, session_id=ctx.session_id, actor=ctx.actor)
    session.commit()


@router.get("/staff/me", response_model=StaffPublic, summary="The logged-in staff member")
def me(ctx: CurrentStaff) -> StaffPublic:
    return StaffPublic.model_validate(ctx.staff)


@router.get("/staff/admin/staff", response_model=list[StaffAdminPublic], summary="List staff accounts (admin)")
def list_staff(ctx: AdminStaff, session: SessionDep, role: Role | None = None,
               active: Annotated[bool | None, Query(description="Only active (true) or deactivated (false)")] = None,
               ) -> list[StaffAdminPublic]:
    return [StaffAdminPublic.model_validate(s) for s in service.list_staff(session=session, role=role, active=active)]


@router.post("/staff/admin/staff", status_code=201, response_model=StaffAdminPublic,
             summary="Create a staff account (admin)")
def create_staff(body: StaffCreate, ctx: AdminStaff, session: SessionDep) -> StaffAdminPublic:
    staff = service.create_staff(session=session, username=body.username, name=body.name, role=body.role,
                                 password=body.password, doctor_id=body.doctor_id, actor=ctx.actor)
    session.commit()
    return StaffAdminPublic.model_validate(staff)


@router.patch("/staff/admin/staff/{staff_id}", response_model=StaffAdminPublic,
              summary="Rename, deactivate, reset the password of or unlock a staff account (admin)")
def update_staff(staff_id: StaffId, body: StaffUpdate, ctx: AdminStaff, session: SessionDep) -> StaffAdminPublic:
    staff = service.update_staff(session=session, staff_id=staff_id, actor=ctx.actor, name=body.name,
                                 active=body.active, password=body.password, unlock=body.unlock)
    session.commit()
    return StaffAdminPublic.model_validate(staff)
