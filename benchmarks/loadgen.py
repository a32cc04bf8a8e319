"""A lean HTTP/1.1 load generator that runs in its own processes, so it is not what limits the figures.

Each connection is a keep-alive socket driven by asyncio (uvloop when installed) with ``httptools`` (the C parser
uvicorn itself uses) reading the answers. Requests are encoded once, before the clock starts. A full client such as
httpx spends several times the server's CPU per request; on a 2-core machine that would measure the client.

Two shapes of load:
- ``cycle``: every connection repeats a list of requests until the time is up (read mixes);
- ``sequence``: every connection works through its own finite list (bookings of distinct slots) and stops when
  the list or the time runs out;
- ``rate``: an open load. The requests (one list, ``work[0]``) are due at a fixed rate, one every ``1 / rate_per_s``
  seconds, whatever the server's answers; each takes a free connection of a pool of ``connections``, or waits for
  one. A request's latency counts from the moment it was due, not from when it found a connection, so a server that
  falls behind shows as latency ("coordinated omission" corrected, as wrk2 does). Patients arrive on their own
  schedule, not when the previous patient's answer came: this is the shape of "N bookings a second, p95 under X".
"""
from __future__ import annotations

import asyncio
import os
import resource
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import httptools
import orjson


def encode_request(method: str, path: str, *, host: str, headers: dict[str, str] | None = None,
                   json: object = None) -> bytes:
    body = b"" if json is None else orjson.dumps(json)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if json is not None:
        lines.append("Content-Type: application/json")
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Conn(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    # httptools callbacks
    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.body = []
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(raw)
        return await self.waiter


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # a few bodies of unexpected answers
    bodies: list[bytes] = field(default_factory=list)  # answers kept when asked (keep_bodies)
    cpu_s: float = 0.0  # the generator's own CPU
    window_s: float = 0.0  # the measured window; with ``rate``, until the last answer if that came later
    server_cpu_s: float | None = None  # the watched process tree's CPU inside the measured window
    load_avg_1m: float | None = None  # the machine's load average at the end of the window

    def merge(self, other: LoadResult) -> None:
        self.latencies_s.extend(other.latencies_s)
        self.statuses.update(other.statuses)
        self.errors.extend(other.errors[: max(0, 10 - len(self.errors))])
        self.bodies.extend(other.bodies)
        self.cpu_s += other.cpu_s
        self.window_s = max(self.window_s, other.window_s)


async def _run(host: str, port: int, work: list[list[bytes]], *, mode: str, start_at: float, duration_s: float,
               warmup_s: float, ok: frozenset[int], keep_bodies: bool, rate_per_s: float = 0.0,
               connections: int = 0) -> LoadResult:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in (range(connections) if mode == "rate" else work):
        _, proto = await loop.create_connection(_Conn, host, port)
        conns.append(proto)
    result = LoadResult()
    # the measured window starts at start_at (shared by every process); a warm-up runs before it for cycles
    await asyncio.sleep(max(0.0, start_at - warmup_s - time.time()))
    window_start = start_at
    window_end = start_at + duration_s
    wall_to_perf = time.perf_counter() - time.time()

    async def drive(conn: _Conn, requests: list[bytes]) -> None:
        i = 0
        n = len(requests)
        p_start, p_end = window_start + wall_to_perf, window_end + wall_to_perf
        if mode == "sequence":
            await asyncio.sleep(max(0.0, p_start - time.perf_counter()))
        while True:
            t0 = time.perf_counter()
            if t0 >= p_end:
                return
            if mode == "sequence":
                if i >= n:
                    return
                raw = requests[i]
            else:
                raw = requests[i % n]
            i += 1
            try:
                status, body = await conn.request(raw)
            except ConnectionError as exc:
                result.errors.append(str(exc))
                result.statuses["connection_error"] += 1
                return
            if t0 >= p_start:
                record(status, body, time.perf_counter() - t0)

    def record(status: int, body: bytes, latency_s: float) -> None:
        result.latencies_s.append(latency_s)
        result.statuses[status] += 1
        if status not in ok and len(result.errors) < 10:
            result.errors.append(f"{status} {body[:300]!r}")
        if keep_bodies:
            result.bodies.append(body)

    async def open_load(requests: list[bytes]) -> None:
        free: asyncio.Queue[_Conn] = asyncio.Queue()
        for c in conns:
            free.put_nowait(c)
        p_start, p_end = window_start + wall_to_perf, window_end + wall_to_perf

        async def one(raw: bytes, due: float) -> None:
            conn = await free.get()
            try:
                status, body = await conn.request(raw)
            except ConnectionError as exc:
                result.errors.append(str(exc))
                result.statuses["connection_error"] += 1
                return
            free.put_nowait(conn)
            record(status, body, time.perf_counter() - due)

        tasks = []
        for i, raw in enumerate(requests):
            due = p_start + i / rate_per_s
            if due >= p_end:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(raw, due)))
        else:
            result.errors.append(f"the {len(requests)} prepared requests ran out before the window's end")
        await asyncio.gather(*tasks)  # the window's last requests are answered (and counted) after its end
        # a server that fell behind answers the last ones after the window: the rate achieved is over the longer span
        result.window_s = max(duration_s, time.perf_counter() - p_start)

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    if mode == "rate":
        await open_load(work[0])
    else:
        await asyncio.gather(*(drive(c, reqs) for c, reqs in zip(conns, work)))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    result.window_s = max(result.window_s, duration_s)
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    return result


def _worker(host: str, port: int, work: list[list[bytes]], mode: str, start_at: float, duration_s: float,
            warmup_s: float, ok: frozenset[int], keep_bodies: bool, rate_per_s: float,
            connections: int) -> LoadResult:
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.run
    return runner(_run(host, port, work, mode=mode, start_at=start_at, duration_s=duration_s, warmup_s=warmup_s,
                       ok=ok, keep_bodies=keep_bodies, rate_per_s=rate_per_s, connections=connections))


def run_load(base_url: str, work: list[list[bytes]], *, processes: int = 1, mode: str = "cycle",
             duration_s: float = 10.0, warmup_s: float = 1.0, ok: frozenset[int] = frozenset({200}),
             keep_bodies: bool = False, watch_pid: int | None = None, label: str = "load", rate_per_s: float = 0.0,
             connections: int = 0) -> LoadResult:
    """Drive ``len(work)`` connections (one list of encoded requests each) from ``processes`` processes; with
    ``mode="rate"``, ``connections`` connections of one process sending ``work[0]`` at ``rate_per_s``.

    ``watch_pid``: a process (the server) whose tree's CPU time inside the measured window is reported (and, with
    ``--profile``, sampled by py-spy into a profile named ``label``).
    """
    from benchmarks import profiling

    host, port = base_url.split("//", 1)[1].rsplit(":", 1)
    if mode == "rate":
        if len(work) != 1 or rate_per_s <= 0 or connections < 1:
            raise ValueError("rate mode: one request list, a rate and a connection count")
        processes = 1
    processes = max(1, min(processes, len(work)))
    shares = [work[i::processes] for i in range(processes)]
    start_at = time.time() + 1.0 + warmup_s  # time for the processes to start and connect
    total = LoadResult()
    watched: list[float] = []
    watcher = None
    if watch_pid is not None:
        def watch() -> None:
            time.sleep(max(0.0, start_at - time.time()))
            watched.append(process_tree_cpu_s(watch_pid))
            prof = profiling.start(watch_pid, duration_s=duration_s, label=label)
            time.sleep(max(0.0, start_at + duration_s - time.time()))
            watched.append(process_tree_cpu_s(watch_pid))
            watched.append(os.getloadavg()[0])
            profiling.finish(prof, label=label)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_worker, host, int(port), share, mode, start_at, duration_s,
                               warmup_s if mode == "cycle" else 0.0, ok, keep_bodies, rate_per_s, connections)
                   for share in shares]
        for f in futures:
            total.merge(f.result())
    if watcher is not None:
        watcher.join()
        total.server_cpu_s = watched[1] - watched[0]
        total.load_avg_1m = round(watched[2], 2)
    return total


# ---------------------------------------------------------------------------------------------------- server CPU

def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def process_tree_cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process and its descendants (the server and its workers), from /proc."""
    stats: dict[int, tuple[int, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            raw = (d / "stat").read_text()
        except OSError:
            continue
        rest = raw.rsplit(")", 1)[1].split()
        ppid = int(rest[1])
        cpu = (int(rest[11]) + int(rest[12])) / _clock_ticks()
        stats[int(d.name)] = (ppid, cpu)
    total = 0.0
    wanted = {pid}
    changed = True
    while changed:
        changed = False
        for p, (pp, _) in stats.items():
            if pp in wanted and p not in wanted:
                wanted.add(p)
                changed = True
    for p in wanted:
        if p in stats:
            total += stats[p][1]
    return total
