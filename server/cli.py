"""``clinic-server``: run, migrate, fill and inspect the service."""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence
from typing import Any


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
    from server.prescriptions.catalogue import load_if_empty

    added = load_if_empty(settings)
    if added:
        print(f"drug catalogue loaded: {added} drugs")
    print(f"database ready: {_safe_url(settings.effective_database_url)}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def default_workers(*, sqlite: bool) -> int:
    """PostgreSQL, the production database: a process per core (at most 8). SQLite, the development, demo and
    embedded set-up: one process (less memory, and its short-lived caches are exact within one process). Several
    SQLite workers do scale on Linux, where they queue for the write lock with ``flock`` and get connections
    spread by SO_REUSEPORT (docs/benchmarks.md: 2 workers ~520 bookings/s at most on 2 cores against ~380/s with 1);
    without those (Windows) a second worker meets SQLite's sleeping busy handler and gains nothing."""
    return 1 if sqlite else max(1, min(os.cpu_count() or 1, 8))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.config import get_settings

    cmd_init_db(args)
    if args.exit_with_parent:
        _exit_with_parent(args.exit_with_parent)
    settings = get_settings()
    workers = args.workers or default_workers(sqlite=settings.is_sqlite)
    if workers > 1 and settings.is_sqlite:
        print("note: several workers share one SQLite file; PostgreSQL is recommended for that", file=sys.stderr)
    options: dict[str, Any] = {
        "host": args.host, "port": args.port, "log_level": args.log_level, "access_log": args.access_log,
        "loop": "auto", "http": "auto",
        # open event streams never finish by themselves: give them a moment, then end them
        "timeout_graceful_shutdown": 5,
    }
    if workers > 1 and hasattr(socket, "SO_REUSEPORT"):
        return _serve_workers(workers, options)
    uvicorn.run("server.app:create_app", factory=True, workers=workers, **options)
    return 0


def _exit_with_parent(pid: int) -> None:
    """Stop gracefully (SIGTERM to ourselves) once process ``pid`` is gone: a backend embedded in the
    workstation must not outlive it, even when the workstation was killed and could not stop it."""
    import signal
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != pid:
                print(f"serve: parent process {pid} is gone; stopping", file=sys.stderr)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _serve_worker(options: dict[str, Any]) -> None:
    """One process of ``serve --workers N``: a uvicorn server on a listening socket of its own (SO_REUSEPORT)."""
    import uvicorn

    _configure_logging()
    host, port = options.pop("host"), options.pop("port")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    config = uvicorn.Config("server.app:create_app", factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def _serve_workers(workers: int, options: dict[str, Any]) -> int:
    """Several worker processes, each with its own listening socket on the same port, so that the kernel spreads
    the connections over them. uvicorn's own workers share one socket, and whichever is awake first accepts:
    measured, one of two workers got 12–14 of 16 keep-alive connections, and the pair did the work of one.

    SIGTERM or SIGINT stops the workers gracefully. A worker that exits by itself stops the others and the
    service with an error, for the process manager to restart it.
    """
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_serve_worker, args=(dict(options),), name=f"clinic-worker-{i}")
                 for i in range(workers)]
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for p in processes:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in processes:
        p.start()
    if stopping:  # a signal arrived while they were starting
        stop(signal.SIGTERM, None)
    wait([p.sentinel for p in processes])
    failed = not stopping
    if failed:
        print("a worker process exited; stopping the others", file=sys.stderr)
        stop(signal.SIGTERM, None)
    for p in processes:
        p.join(timeout=15)
        if p.is_alive():
            p.kill()
            p.join()
    return 1 if failed else 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    from server.demo import run

    cmd_init_db(args)
    return run(days=args.days)


def cmd_simulate(args: argparse.Namespace) -> int:
    from server.simulate import run

    return run(base_url=args.base_url, patients=args.patients, pace=args.pace, rounds=args.rounds,
               seed=args.seed, doctor=args.doctor, video=args.video, cancel_rate=args.cancel_rate,
               review_wait=args.review_wait)


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
    s.add_argument("--workers", type=int, default=0,
                   help="worker processes (default: 1 on SQLite, one per core on PostgreSQL)")
    s.add_argument("--log-level", default="info")
    s.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=False)
    s.add_argument("--exit-with-parent", type=int, metavar="PID", default=0,
                   help="stop when process PID (the one that started this server) is gone")
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
    s.add_argument("--no-video", dest="video", action="store_false",
                   help="do not answer video calls while waiting (by default each waiting patient does)")
    s.add_argument("--cancel-rate", type=float, default=0.1,
                   help="share of paid bookings cancelled before the time (refunded); 0 to never cancel")
    s.add_argument("--review-wait", type=float, default=20.0, metavar="SECONDS",
                   help="how long a patient not seen watches the refund application wait for the clerk's review "
                        "before going on")
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


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    _configure_logging()
    args = build_parser().parse_args(argv)
    _apply_database_url(args)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
