"""Errors a person can act on: every refusal has a stable ``code`` and a Chinese ``message``.

Routes raise :class:`AppError` (or a subclass); the handlers below turn it, request validation errors and
anything unexpected into ``{"code": ..., "message": ..., "details": ...}``. A refused request changes nothing
because the session's transaction is rolled back when the exception leaves the route.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any | None = None


class AppError(Exception):
    status: int = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, details: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details
        if status is not None:
            self.status = status


class NotFound(AppError):
    """Absent and not-yours answer alike, so an id reveals nothing."""

    status = 404

    def __init__(self, what: str = "记录") -> None:
        super().__init__("not_found", f"{what}不存在或无权访问")


class Unauthorized(AppError):
    status = 401

    def __init__(self, code: str = "unauthenticated", message: str = "请先登录") -> None:
        super().__init__(code, message)


class Forbidden(AppError):
    status = 403

    def __init__(self, code: str = "forbidden", message: str = "没有权限执行此操作") -> None:
        super().__init__(code, message)


class Conflict(AppError):
    status = 409


class InvalidState(AppError):
    """An illegal transition of a state machine."""

    status = 409

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__("invalid_state", message, details=details)


class TooMany(AppError):
    status = 429


# error responses documented on every route, so the OpenAPI document describes what clients really get
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}

_FIELD_MESSAGES = {
    "missing": "必填项未填写",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "date_from_datetime_parsing": "日期格式不正确",
    "date_parsing": "日期格式不正确",
    "datetime_parsing": "时间格式不正确",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "greater_than": "数值太小",
    "less_than": "数值太大",
    "json_invalid": "请求内容不是有效的JSON",
    "model_attributes_type": "请求内容格式不正确",
    "dict_type": "请求内容格式不正确",
    "list_type": "应为列表",
    "too_long": "数量太多",
    "too_short": "数量太少",
    "value_error": "内容不正确",
}


def _json_safe(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return str(value)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"code": exc.code, "message": exc.message,
                                                             "details": _json_safe(exc.details)})

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            ctx = err.get("ctx") or {}
            custom = ctx.get("error") if err.get("type") == "value_error" else None
            msg = str(custom) if custom else _FIELD_MESSAGES.get(err.get("type", ""), "内容不正确")
            fields.append({"field": ".".join(loc), "message": msg, "type": err.get("type")})
        first = fields[0] if fields else {"field": "", "message": "请求内容不正确"}
        label = f"{first['field']}: " if first["field"] else ""
        return JSONResponse(status_code=422, content={"code": "validation_error",
                                                      "message": f"{label}{first['message']}",
                                                      "details": fields})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: ("not_found", "请求的地址不存在"), 405: ("method_not_allowed", "不支持此请求方法")}
        code, msg = codes.get(exc.status_code, ("http_error", str(exc.detail)))
        return JSONResponse(status_code=exc.status_code, content={"code": code, "message": msg, "details": None},
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(status_code=500, content={"code": "internal_error",
                                                      "message": "服务暂时不可用，请稍后重试", "details": None})
