"""JSON answers for the busiest routes, encoded once with orjson.

A route that returns models or dicts is validated against its ``response_model`` again by FastAPI (on another
thread-pool hop for a plain ``def`` route) before it is encoded. The hot routes build plain data whose shape the
declared ``response_model`` documents and tests check, and answer with these bytes directly. orjson writes aware
datetimes and dates exactly as pydantic does (``2026-11-25T09:00:00+08:00``), and UTF-8 text unescaped.
"""
from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response


def dumps(content: Any) -> bytes:
    return orjson.dumps(content)


def json_response(content: Any, *, status_code: int = 200) -> Response:
    return Response(dumps(content), status_code=status_code, media_type="application/json")


def json_bytes_response(body: bytes, *, status_code: int = 200) -> Response:
    """An answer already encoded (a cached one)."""
    return Response(body, status_code=status_code, media_type="application/json")
