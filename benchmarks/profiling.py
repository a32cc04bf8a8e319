"""Where the server's time goes during a measured window: py-spy samples every worker, if py-spy is installed.

``python -m benchmarks NAME --profile DIR`` writes, for each measured window, ``DIR/<label>.txt`` (collapsed stacks,
the input of any flame-graph tool) and ``DIR/<label>-summary.txt``: the share of samples spent in each of the
project's functions (inclusive) and in each library, so a slow route is named without reading a flame graph.
py-spy is not a dependency of the project (``pip install py-spy``); without it ``--profile`` only says so.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

PROFILE_DIR: Path | None = None


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pid: int, *, duration_s: float, label: str) -> subprocess.Popen[bytes] | None:
    """Sample the process tree of ``pid`` for ``duration_s`` seconds (non-blocking)."""
    if PROFILE_DIR is None:
        return None
    exe = py_spy()
    if exe is None:
        print("profiling: py-spy is not installed (pip install py-spy); skipped", file=sys.stderr)
        return None
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    out = PROFILE_DIR / f"{label}.txt"
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--subprocesses", "--format", "raw", "--rate", "250",
                             "--duration", str(max(1, int(duration_s))), "--nonblocking", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish(proc: subprocess.Popen[bytes] | None, *, label: str) -> None:
    if proc is None or PROFILE_DIR is None:
        return
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return
    raw = PROFILE_DIR / f"{label}.txt"
    if raw.exists():
        (PROFILE_DIR / f"{label}-summary.txt").write_text(summarize(raw.read_text()))


def _where(frame: str) -> tuple[str, str]:
    """(function, file) of a py-spy frame ``function (path/to/file.py:line)``."""
    name, _, rest = frame.partition(" (")
    return name, rest.rsplit(":", 1)[0]


def _library(file: str) -> str:
    """The package a frame's file belongs to: py-spy shortens paths to ``package/module.py``."""
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    if file.startswith("server/") or "/server/" in file and "site-packages" not in file:
        return "server (own code)"
    top = file.split("/", 1)[0].removesuffix(".py")
    if top in sys.stdlib_module_names or top.startswith("<"):
        return "python stdlib"
    return top


def summarize(collapsed: str, *, top: int = 40) -> str:
    total = 0
    busy = 0
    inclusive: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf_name, leaf_file = _where(frames[-1])
        # idle workers: waiting for a request, a thread or a lock
        if leaf_name in ("select", "poll", "epoll_wait", "wait", "_worker", "run_forever", "_run_once") or \
                leaf_file.endswith(("selectors.py", "threading.py", "queue.py")):
            continue
        busy += n
        seen = set()
        for f in frames:
            name, file = _where(f)
            if _library(file) == "server (own code)":
                key = f"{file.split('server/', 1)[1]}:{name}"
                if key not in seen:
                    inclusive[key] += n
                    seen.add(key)
        libraries[_library(leaf_file)] += n
    lines = [f"samples: {total}, busy (not waiting): {busy}", "",
             "busy samples by library (where the leaf frame is):"]
    for lib, n in libraries.most_common(top):
        lines.append(f"  {100 * n / max(busy, 1):5.1f}%  {lib}")
    lines += ["", "busy samples inside the project's functions (inclusive):"]
    for key, n in inclusive.most_common(top):
        lines.append(f"  {100 * n / max(busy, 1):5.1f}%  server/{key}")
    return "\n".join(lines) + "\n"
