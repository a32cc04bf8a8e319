"""``clinic-server``: run, migrate, fill and inspect the service."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence


def _apply_database_url(args: argparse.Namespace) -> None:
    if getattr(args, "database_url", None):
        os.environ["CLINIC_DATABASE_URL"] = args.database_url
        from server.config import get_settings

        get_settings.cache_clear()


def cmd_init_db(_args: argparse.Namespace) -> int:
    from server.config import get_settings
    from server.migrations import upgrade

    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)
    print(f"database ready: {_safe_url(settings.effective_database_url)}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.config import get_settings

    cmd_init_db(args)
    settings = get_settings()
    workers = args.workers
    if workers > 1 and settings.is_sqlite:
        print("note: several workers share one SQLite file; PostgreSQL is recommended for that", file=sys.stderr)
    uvicorn.run("server.app:create_app", factory=True, host=args.host, port=args.port, workers=workers,
                log_level=args.log_level, access_log=args.access_log, loop="auto", http="auto",
                # open event streams never finish by themselves: give them a moment, then end them
                timeout_graceful_shutdown=5)
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from server.demo import run

    cmd_init_db(args)
    return run(days=args.days)


def cmd_simulate(args: argparse.Namespace) -> int:
    from server.simulate import run

    return run(base_url=args.base_url, patients=args.patients, pace=args.pace, rounds=args.rounds,
               seed=args.seed, doctor=args.doctor)


def cmd_sms_outbox(args: argparse.Namespace) -> int:
    from server.sms.cli import run

    return run(mobile=args.mobile, limit=args.limit)


def cmd_import_visits(args: argparse.Namespace) -> int:
    from server.catalogue.his import import_csv

    cmd_init_db(args)
    return import_csv(args.file)


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    from server.audit.service import verify
    from server.db import get_db

    problems = 0
    with get_db().session(write=False) as session:
        for line in verify(session):
            problems += 1
            print(line)
    if problems:
        print(f"audit log: {problems} problem(s) found", file=sys.stderr)
        return 1
    print("audit log: chain intact")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="clinic-server", description=__doc__)
    p.add_argument("--database-url", help="SQLAlchemy URL (default: CLINIC_DATABASE_URL or a SQLite file)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the HTTP service (migrates first)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--log-level", default="info")
    s.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=False)
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("init-db", help="create or upgrade the schema (Alembic)")
    s.set_defaults(func=cmd_init_db)

    s = sub.add_parser("demo-data", help="fill departments, doctors, slots, drugs, staff and visit records")
    s.add_argument("--days", type=int, default=7, help="days of slots from today")
    s.set_defaults(func=cmd_demo_data)

    s = sub.add_parser("simulate", help="simulated patients using the public HTTP API")
    s.add_argument("--base-url", default="http://127.0.0.1:8000")
    s.add_argument("--patients", type=int, default=5)
    s.add_argument("--pace", type=float, default=2.0, help="seconds between a patient's steps")
    s.add_argument("--rounds", type=int, default=0, help="journeys per simulated patient (0: forever)")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--doctor", type=int, default=None, help="book only with this doctor (public doctor id)")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("sms-outbox", help="messages recorded by the development SMS provider")
    s.add_argument("--mobile")
    s.add_argument("--limit", type=int, default=20)
    s.set_defaults(func=cmd_sms_outbox)

    s = sub.add_parser("import-visits", help="load past outpatient visits (HIS records) from a CSV file")
    s.add_argument("file")
    s.set_defaults(func=cmd_import_visits)

    s = sub.add_parser("audit-verify", help="check the audit log's hash chain")
    s.set_defaults(func=cmd_audit_verify)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    _apply_database_url(args)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
