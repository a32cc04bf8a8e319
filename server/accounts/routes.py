"""Account holders' routes: SMS codes, registration, login, logout, personal centre, feedback."""
from __future__ import annotations

from fastapi import APIRouter, Response

from server.accounts import service
from server.accounts.schemas import (
    AccountCodeRequest,
    AccountPublic,
    AuthOut,
    CodeRequest,
    CodeSent,
    FeedbackCreate,
    FeedbackPublic,
    MobileChangeIn,
    PasswordChangeIn,
    PasswordLoginIn,
    RegisterIn,
    SmsLoginIn,
    TicketOut,
    VerifyIn,
)
from server.deps import ClientDep, CurrentAccount, DbDep, SessionDep, SettingsDep
from server.errors import AppError

router = APIRouter(tags=["accounts"])


def _code_sent(settings: SettingsDep) -> CodeSent:
    return CodeSent(expires_in_s=settings.sms_code_ttl_s, resend_after_s=settings.sms_resend_interval_s)


@router.post("/sms/codes", status_code=202, response_model=CodeSent,
             summary="Send an SMS code to register or to log in")
def send_public_code(body: CodeRequest, session: SessionDep, client: ClientDep,
                     settings: SettingsDep) -> CodeSent:
    service.request_public_code(session=session, mobile=body.mobile, purpose=body.purpose, client=client)
    session.commit()
    return _code_sent(settings)


@router.post("/me/sms/codes", status_code=202, response_model=CodeSent,
             summary="Send an SMS code for a personal-centre step or for adding a patient")
def send_account_code(body: AccountCodeRequest, ctx: CurrentAccount, session: SessionDep, client: ClientDep,
                      settings: SettingsDep) -> CodeSent:
    service.request_account_code(session=session, account=ctx.account, purpose=body.purpose, mobile=body.mobile,
                                 client=client)
    session.commit()
    return _code_sent(settings)


@router.post("/auth/register", status_code=201, response_model=AuthOut,
             summary="Register with a mobile number, an SMS code, a password and a name")
def register(body: RegisterIn, session: SessionDep, client: ClientDep) -> AuthOut:
    account, token = service.register(session=session, mobile=body.mobile, code=body.code,
                                      password=body.password, password_confirm=body.password_confirm,
                                      name=body.name, client=client)
    session.commit()
    return AuthOut(token=token, account=AccountPublic.model_validate(account))


@router.post("/auth/login/sms", response_model=AuthOut, summary="Log in with the mobile number and an SMS code")
def login_sms(body: SmsLoginIn, session: SessionDep, client: ClientDep) -> AuthOut:
    try:
        account, token = service.login_with_code(session=session, mobile=body.mobile, code=body.code,
                                                 client=client)
    except AppError as exc:
        service.record_refused_login(session=session, mobile=body.mobile, method="sms", reason=exc.code,
                                     client=client)
        raise
    session.commit()
    return AuthOut(token=token, account=AccountPublic.model_validate(account))


@router.post("/auth/login/password", response_model=AuthOut,
             summary="Log in with the mobile number and the password")
def login_password(body: PasswordLoginIn, db: DbDep, client: ClientDep) -> AuthOut:
    account, token = service.login_with_password(db, mobile=body.mobile, password=body.password, client=client)
    return AuthOut(token=token, account=AccountPublic.model_validate(account))


@router.post("/auth/logout", status_code=204, summary="Log out: this session's token stops working")
def logout(ctx: CurrentAccount, session: SessionDep) -> Response:
    service.logout(session=session, account=ctx.account, session_id=ctx.session_id, actor=ctx.actor)
    session.commit()
    return Response(status_code=204)


@router.get("/me", response_model=AccountPublic, summary="The logged-in account")
def me(ctx: CurrentAccount) -> AccountPublic:
    return AccountPublic.model_validate(ctx.account)


@router.post("/me/mobile/verify", response_model=TicketOut,
             summary="Check the code sent to the current number before changing it")
def verify_for_mobile(body: VerifyIn, ctx: CurrentAccount, session: SessionDep) -> TicketOut:
    ticket = service.issue_ticket(session=session, account=ctx.account, purpose="change_mobile", code=body.code)
    session.commit()
    return TicketOut(ticket=ticket, expires_in_s=int(service.TICKET_TTL.total_seconds()))


@router.post("/me/mobile", response_model=AccountPublic,
             summary="Change the mobile number (ticket from the current number, code from the new one)")
def change_mobile(body: MobileChangeIn, ctx: CurrentAccount, session: SessionDep) -> AccountPublic:
    account = service.change_mobile(session=session, account=ctx.account, session_id=ctx.session_id,
                                    ticket=body.ticket, new_mobile=body.new_mobile, code=body.code,
                                    actor=ctx.actor)
    session.commit()
    return AccountPublic.model_validate(account)


@router.post("/me/password/verify", response_model=TicketOut,
             summary="Check the code sent to the registered number before changing the password")
def verify_for_password(body: VerifyIn, ctx: CurrentAccount, session: SessionDep) -> TicketOut:
    ticket = service.issue_ticket(session=session, account=ctx.account, purpose="change_password",
                                  code=body.code)
    session.commit()
    return TicketOut(ticket=ticket, expires_in_s=int(service.TICKET_TTL.total_seconds()))


@router.post("/me/password", status_code=204,
             summary="Set a new password; the account's other sessions end")
def change_password(body: PasswordChangeIn, ctx: CurrentAccount, session: SessionDep) -> Response:
    service.change_password(session=session, account=ctx.account, session_id=ctx.session_id, ticket=body.ticket,
                            password=body.password, password_confirm=body.password_confirm, actor=ctx.actor)
    session.commit()
    return Response(status_code=204)


@router.post("/me/feedback", status_code=201, response_model=FeedbackPublic,
             summary="Send feedback: text, pictures (files uploaded with purpose feedback), or both")
def create_feedback(body: FeedbackCreate, ctx: CurrentAccount, session: SessionDep) -> FeedbackPublic:
    feedback, file_ids = service.create_feedback(session=session, account=ctx.account, text=body.text,
                                                 file_ids=body.file_ids, actor=ctx.actor)
    session.commit()
    return FeedbackPublic(id=feedback.id, text=feedback.text, file_ids=file_ids, created_at=feedback.created_at)


@router.get("/me/feedback", response_model=list[FeedbackPublic], summary="My feedback, newest first")
def list_feedback(ctx: CurrentAccount, session: SessionDep) -> list[FeedbackPublic]:
    return [FeedbackPublic(id=f.id, text=f.text, file_ids=ids, created_at=f.created_at)
            for f, ids in service.list_feedback(session=session, account=ctx.account)]

