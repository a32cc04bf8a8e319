from __future__ import annotations

import httpx


def test_health_reports_database(api: httpx.Client) -> None:
    r = api.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["database"] in ("sqlite", "postgresql")


def test_openapi_document_is_served(api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert any(p.startswith("/api/v1/") for p in doc["paths"]) or doc["paths"]


def test_unknown_route_has_stable_code(api: httpx.Client) -> None:
    r = api.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert r.json()["message"]
