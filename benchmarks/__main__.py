"""``python -m benchmarks NAME [--json] [--database sqlite|postgresql] [--quick] [--slots N]``

Each benchmark starts the real server on a fresh database, prepares its data, measures, and prints its figures:
``--json`` prints one JSON object (for ``all``, ``backend``, ``workstation``, ``video``: one object keyed by
benchmark name), every figure's key naming its unit (``_ms``, ``_per_s``, ``_s``) and ``goal_met`` saying whether
the goal was reached. Progress goes to stderr.
The exit status is 0 when the runs completed, whatever the goals; 1 when a benchmark could not run.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import time
import traceback
from pathlib import Path

from benchmarks.harness import log, machine

BACKEND_NAMES = ("booking_race", "booking_throughput", "api_reads", "refund_storm")
# the workstation benchmarks (docs/benchmarks.md, "Workstation"): the real workstation code in offscreen Qt processes
WORKSTATION_NAMES = ("queue_latency", "workstation_startup", "queue_model", "gui_stall", "slip_render")
# the video visit (docs/benchmarks.md, "Video call"): two processes on loopback, 10 minutes (quick: 20 s)
VIDEO_NAMES = ("video_call",)
NAMES = (*BACKEND_NAMES, *WORKSTATION_NAMES, *VIDEO_NAMES)


def run_one(name: str, *, database: str, quick: bool, **options: object) -> dict:
    """``options`` (e.g. ``slots``) go to the benchmarks whose ``run`` takes them; ``None`` means the default."""
    module = importlib.import_module(f"benchmarks.{name}")
    accepted = inspect.signature(module.run).parameters
    extra = {k: v for k, v in options.items() if v is not None and k in accepted}
    t0 = time.monotonic()
    log(f"{name} on {database}{' (quick)' if quick else ''}")
    figures = module.run(database=database, quick=quick, **extra)
    figures["wall_s"] = round(time.monotonic() - t0, 1)
    return figures


def _text(name: str, figures: dict) -> str:
    lines = [f"{name}: goal {'met' if figures.get('goal_met') else 'NOT met'} ({figures.get('goal', '')})"]
    for k, v in figures.items():
        if k in ("goal", "goal_met"):
            continue
        lines.append(f"  {k}: {json.dumps(v, ensure_ascii=False)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", choices=(*NAMES, "all", "backend", "workstation", "video"),
                   help="one benchmark; all: every one; backend / workstation / video: one group")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--quick", action="store_true", help="a smoke-sized run (seconds, not minutes)")
    p.add_argument("--slots", type=int, metavar="N",
                   help="refund_storm: booked and paid slots the clinic stop refunds (default 1,000; quick 30)")
    p.add_argument("--profile", metavar="DIR", type=Path,
                   help="sample the server with py-spy during each measured window; stacks and summaries to DIR")
    p.add_argument("--nice", type=int, default=0, metavar="N",
                   help="run the benchmark, its server and load generator at this niceness (e.g. -10 as root, "
                        "on a machine shared with other work); reported in the output")
    args = p.parse_args(argv)
    if args.nice:
        try:
            os.nice(args.nice)  # inherited by the server process and the load generator
        except PermissionError:
            log(f"--nice {args.nice}: not permitted (a negative niceness needs root); running at {os.nice(0)}")
    if args.profile:
        from benchmarks import profiling

        profiling.PROFILE_DIR = args.profile.resolve()

    groups = {"all": NAMES, "backend": BACKEND_NAMES, "workstation": WORKSTATION_NAMES, "video": VIDEO_NAMES}
    names = groups.get(args.name, (args.name,))
    results: dict[str, dict] = {}
    failed = False
    for name in names:
        try:
            results[name] = run_one(name, database=args.database, quick=args.quick, slots=args.slots)
        except Exception as exc:  # noqa: BLE001 - report it in the JSON and go on with the others
            failed = True
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000], "goal_met": False}
    if args.name in groups:
        out: dict = {"machine": machine(), "niceness": os.nice(0), "database": args.database, "quick": args.quick,
                     **results}
    else:
        out = {"machine": machine(), "niceness": os.nice(0), "quick": args.quick, **results[args.name]}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(json.dumps(out["machine"], ensure_ascii=False))
        for name in names:
            print(_text(name, results[name]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
