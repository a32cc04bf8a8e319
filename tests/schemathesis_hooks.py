"""Schemathesis hooks for tests/test_api_schema.py (loaded through ``SCHEMATHESIS_HOOKS``).

The runs act with real staff tokens, so a generated ``PATCH /staff/admin/staff/{id}`` on the account whose token a
run uses would reset its password (which ends its sessions) and leave every later request of the run answering
401, testing nothing. The ids to keep away from come in ``CLINIC_ST_PROTECTED_STAFF_IDS`` (comma-separated).
"""
from __future__ import annotations

import os
from typing import Any

import schemathesis

_PROTECTED = {x.strip() for x in os.environ.get("CLINIC_ST_PROTECTED_STAFF_IDS", "").split(",") if x.strip()}


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    params = case.path_parameters or {}
    # a path parameter ends up as text in the URL, whatever type was generated
    return str(params.get("staff_id")).strip() not in _PROTECTED
