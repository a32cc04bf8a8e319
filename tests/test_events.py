"""The staff event stream through the live server: live delivery, resume without loss or repeats, visibility,
resync after retention, session end, many readers, and (on PostgreSQL) delivery across worker processes."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

import server.models  # noqa: F401 - every table, for in-process writes
from server.actor import SYSTEM
from server.db import Database
from server.events.models import Event
from server.events.service import Reader, record_change
from server.timeutil import now
from tests.conftest import LiveServer, start_server, stop_server
from tests.helpers import register_account
from tests.test_staff import PASSWORD, login_headers, make_doctor, make_staff, server_database, uname

V1 = "/api/v1"
EVENT_FIELDS = {"id", "kind", "topic", "object_type", "object_id", "at", "payload"}
ADMIN = Reader("admin")


# --- reading a stream ----------------------------------------------------------------------------------------------


@dataclass
class Sse:
    event: str
    id: int | None
    data: dict

    @property
    def is_control(self) -> bool:
        return self.event in ("cursor", "resync", "session_expired", "keep-alive")


class StreamReader:
    """Reads one open SSE response; every wait has a deadline (the read timeout bounds a silent server)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()
        self.ended = False

    def next(self) -> Sse:
        event, ident, data = "message", None, []
        for line in self._lines:
            if line == "":
                if data:
                    return Sse(event, int(ident) if ident is not None else None, json.loads("\n".join(data)))
                event, ident, data = "message", None, []
                continue
            if line.startswith(":"):
                if line == ": keep-alive":
                    return Sse("keep-alive", None, {})
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "id":
                ident = value
            elif name == "data":
                data.append(value)
        self.ended = True
        raise EOFError("stream ended")

    def until(self, stop: Callable[[Sse], bool], *, timeout: float = 10) -> list[Sse]:
        """Frames up to and including the first that ``stop`` accepts."""
        deadline = time.monotonic() + timeout
        seen: list[Sse] = []
        while True:
            frame = self.next()
            seen.append(frame)
            if stop(frame):
                return seen
            assert time.monotonic() < deadline, f"no matching frame in {timeout}s; got {seen[-5:]}"

    def live(self) -> Sse:
        """Wait for the ``cursor`` frame that follows the catch-up: from here on, new events arrive live."""
        return self.until(lambda f: f.event == "cursor")[-1]


@contextmanager
def open_stream(server: LiveServer, headers: dict[str, str], *, after: int | None = None,
                last_event_id: int | str | None = None, read_timeout: float = 10) -> Iterator[StreamReader]:
    h = dict(headers)
    if last_event_id is not None:
        h["Last-Event-ID"] = str(last_event_id)
    params = {"after": after} if after is not None else {}
    with httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(10, read=read_timeout)) as client, \
            client.stream("GET", f"{V1}/staff/events", headers=h, params=params) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield StreamReader(response)


def events_only(frames: list[Sse]) -> list[Sse]:
    return [f for f in frames if not f.is_control]


# --- arranging -------------------------------------------------------------------------------------------------------


def write_events(db: Database, n: int, *, topic: str = "admin", doctor_id: int | None = None,
                 kind: str = "test.step", payload: dict | None = None) -> list[int]:
    ids = []
    with db.transaction() as s:
        for i in range(n):
            ids.append(record_change(s, actor=SYSTEM, kind=kind, object_type="test", object_id=i + 1, topic=topic,
                                     doctor_id=doctor_id, payload=payload if payload is not None else {"i": i}).id)
    return ids


def newest(api: httpx.Client, headers: dict[str, str]) -> int:
    r = api.get(f"{V1}/staff/events/cursor", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["last_id"]


@pytest.fixture(scope="module")
def sdb(live_server: LiveServer) -> Iterator[Database]:
    db = server_database(live_server)
    yield db
    db.dispose()


@dataclass
class Cast:
    admin: dict
    clerk: dict
    pharmacist: dict
    doctor_a: dict
    doctor_b: dict


@pytest.fixture(scope="module")
def cast(live_server: LiveServer, sdb: Database) -> Cast:
    people = {"admin": make_staff(sdb, role="admin"), "clerk": make_staff(sdb, role="clerk"),
              "pharmacist": make_staff(sdb, role="pharmacist"),
              "doctor_a": make_staff(sdb, role="doctor", doctor_id=make_doctor(sdb)),
              "doctor_b": make_staff(sdb, role="doctor", doctor_id=make_doctor(sdb))}
    with live_server.client() as c:
        for p in people.values():
            p["headers"] = login_headers(c, p)
    return Cast(**people)


# --- live delivery ---------------------------------------------------------------------------------------------------


def test_a_state_change_reaches_an_open_stream_at_once(live_server: LiveServer, api: httpx.Client,
                                                        cast: Cast) -> None:
    with open_stream(live_server, cast.admin["headers"]) as stream:
        start = stream.live()
        assert start.id is not None and start.data == {"last_id": start.id}
        t0 = time.monotonic()
        r = api.post(f"{V1}/staff/admin/staff", headers=cast.admin["headers"],
                     json={"username": uname("c"), "name": "新收费员", "role": "clerk", "password": PASSWORD})
        assert r.status_code == 201
        frames = stream.until(lambda f: f.event == "staff.created" and f.data["object_id"] == r.json()["id"])
        elapsed = time.monotonic() - t0
    event = frames[-1]
    assert elapsed < 1.5, elapsed  # woken after the commit, not by the safety poll
    assert set(event.data) == EVENT_FIELDS
    assert event.id == event.data["id"] > start.id
    assert event.data["topic"] == "admin" and event.data["object_type"] == "staff"
    assert event.data["payload"]["username"] == r.json()["username"]
    assert event.data["at"].endswith("+08:00")
    assert "password" not in json.dumps(event.data)


def test_a_commit_of_another_process_reaches_an_open_stream_promptly(live_server: LiveServer, sdb: Database,
                                                                    cast: Cast) -> None:
    """Another process on the database (a second worker, the CLI; here the test itself) wakes no hub in the
    server: PostgreSQL's NOTIFY delivers the commit, SQLite's short poll (``events_poll_sqlite_s``) finds it."""
    doctor = cast.doctor_a
    delays = []
    with open_stream(live_server, doctor["headers"]) as stream:
        stream.live()
        for _ in range(5):
            t0 = time.monotonic()
            [written] = write_events(sdb, 1, topic="clinical", doctor_id=doctor["doctor_id"])
            stream.until(lambda f, written=written: f.id == written)
            delays.append(time.monotonic() - t0)
    assert max(delays) < 0.75, delays


def test_resume_misses_nothing_and_repeats_nothing(live_server: LiveServer, sdb: Database, cast: Cast) -> None:
    doctor = cast.doctor_a
    with open_stream(live_server, doctor["headers"]) as stream:
        stream.live()
        first = write_events(sdb, 20, topic="clinical", doctor_id=doctor["doctor_id"])
        got = events_only(stream.until(lambda f: f.id == first[4]))
    assert [f.id for f in got] == first[:5]

    # disconnected: 30 more
    second = write_events(sdb, 30, topic="clinical", doctor_id=doctor["doctor_id"])
    with open_stream(live_server, doctor["headers"], last_event_id=first[4]) as stream:
        frames = stream.until(lambda f: f.event == "cursor")
    assert [f.id for f in events_only(frames)] == first[5:] + second
    assert [f.data["payload"]["i"] for f in events_only(frames)] == list(range(5, 20)) + list(range(30))
    assert frames[-1].id == second[-1]

    # the header wins over ?after= (a browser keeps the first URL and sends the header)
    with open_stream(live_server, doctor["headers"], after=0, last_event_id=second[-2]) as stream:
        frames = stream.until(lambda f: f.event == "cursor")
    assert [f.id for f in events_only(frames)] == [second[-1]]


def test_fifty_events_written_while_away_arrive_exactly_once_in_order(live_server: LiveServer, sdb: Database,
                                                                       cast: Cast) -> None:
    doctor = cast.doctor_b
    with open_stream(live_server, doctor["headers"]) as stream:
        cursor = stream.live().id
    ids = write_events(sdb, 50, topic="prescription", doctor_id=doctor["doctor_id"], kind="prescription.test")
    with open_stream(live_server, doctor["headers"], after=cursor) as stream:
        frames = stream.until(lambda f: f.event == "cursor")
        got = events_only(frames)
        assert [f.id for f in got] == ids
        assert {f.event for f in got} == {"prescription.test"}
        # and what comes next arrives live on the same connection, once
        more = write_events(sdb, 1, topic="clinical", doctor_id=doctor["doctor_id"])
        frames = stream.until(lambda f: f.id == more[0])
    assert [f.id for f in events_only(frames)] == more


# --- visibility ---------------------------------------------------------------------------------------------------


def test_each_role_sees_only_its_events(live_server: LiveServer, api: httpx.Client, sdb: Database,
                                        cast: Cast) -> None:
    a, b = cast.doctor_a["doctor_id"], cast.doctor_b["doctor_id"]
    start = newest(api, cast.admin["headers"])
    ids = {
        "clinical_b": write_events(sdb, 1, topic="clinical", doctor_id=b)[0],
        "clinical_a": write_events(sdb, 1, topic="clinical", doctor_id=a)[0],
        "money": write_events(sdb, 1, topic="money", doctor_id=a, kind="payment.succeeded",
                              payload={"amount_fen": 5000, "out_trade_no": "A20260101"})[0],
        "rx_a": write_events(sdb, 1, topic="prescription", doctor_id=a)[0],
        "rx_b": write_events(sdb, 1, topic="prescription", doctor_id=b)[0],
        "admin": write_events(sdb, 1, topic="admin")[0],
    }
    expected = {
        "admin": set(ids.values()),
        "doctor_a": {ids["clinical_a"], ids["rx_a"]},
        "doctor_b": {ids["clinical_b"], ids["rx_b"]},
        "pharmacist": {ids["rx_a"], ids["rx_b"]},
        "clerk": {ids["money"]},
    }
    mine = set(ids.values())
    for role, want in expected.items():
        headers = getattr(cast, role)["headers"]
        page = api.get(f"{V1}/staff/events/since", params={"after": start}, headers=headers).json()
        assert {e["id"] for e in page["events"]} & mine == want, role
        assert page["next_after"] >= ids["admin"]
        with open_stream(live_server, headers, after=start) as stream:
            frames = stream.until(lambda f: f.event == "cursor")
        assert {f.id for f in events_only(frames)} & mine == want, role
        # moved past what it may not see, so a reconnect does not scan those rows again
        assert frames[-1].id >= ids["admin"], role
        if role == "clerk":
            assert all(f.data["topic"] == "money" for f in events_only(frames))
            money = next(f for f in frames if f.id == ids["money"])
            assert money.data["payload"] == {"amount_fen": 5000, "out_trade_no": "A20260101"}


def test_money_events_cannot_carry_clinical_text(sdb: Database, api: httpx.Client, cast: Cast) -> None:
    before = newest(api, cast.admin["headers"])
    with pytest.raises(ValueError, match="clinical keys"):
        write_events(sdb, 1, topic="money", payload={"amount_fen": 1, "description": "头痛三天"})
    with pytest.raises(ValueError, match="topic"):
        write_events(sdb, 1, topic="gossip")
    assert newest(api, cast.admin["headers"]) == before


def test_since_pages_through_in_order(api: httpx.Client, sdb: Database, cast: Cast) -> None:
    doctor = cast.doctor_a
    start = newest(api, cast.admin["headers"])
    ids = write_events(sdb, 25, topic="clinical", doctor_id=doctor["doctor_id"])
    got, after, pages = [], start, 0
    while True:
        r = api.get(f"{V1}/staff/events/since", params={"after": after, "limit": 10}, headers=doctor["headers"])
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["resync"] is False
        assert all(set(e) == EVENT_FIELDS for e in page["events"])
        got += [e["id"] for e in page["events"]]
        after, pages = page["next_after"], pages + 1
        if not page["more"]:
            break
    assert got == ids and pages == 3 and after >= ids[-1]


def test_stream_and_pages_need_a_staff_login(live_server: LiveServer, api: httpx.Client) -> None:
    patient = register_account(api)
    for url in ("/staff/events", "/staff/events/cursor", "/staff/events/since?after=0"):
        assert api.get(V1 + url).status_code == 401
        r = api.get(V1 + url, headers=patient["headers"])
        assert r.status_code == 401 and r.json()["code"] == "session_expired"


@pytest.mark.parametrize(("params", "headers"), [
    ({"after": -1}, {}), ({"after": 2**60}, {}), ({"after": "x"}, {}),
    ({}, {"Last-Event-ID": "abc"}), ({}, {"Last-Event-ID": "-5"}), ({}, {"Last-Event-ID": str(2**64)}),
])
def test_bad_cursors_are_refused(api: httpx.Client, cast: Cast, params: dict, headers: dict) -> None:
    r = api.get(f"{V1}/staff/events", params=params, headers=cast.admin["headers"] | headers)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    if params:
        r = api.get(f"{V1}/staff/events/since", params=params, headers=cast.admin["headers"])
        assert r.status_code == 422


def test_two_hundred_streams_each_get_the_event(live_server: LiveServer, api: httpx.Client, cast: Cast) -> None:
    n = 200
    headers = cast.admin["headers"]

    async def main() -> float:
        limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=live_server.base_url, limits=limits,
                                     timeout=httpx.Timeout(20, read=20)) as client:
            ready = asyncio.Semaphore(0)
            target: dict[str, int] = {}

            async def reader() -> float:
                async with client.stream("GET", f"{V1}/staff/events", headers=headers) as response:
                    assert response.status_code == 200
                    live = False
                    async for line in response.aiter_lines():
                        if not live and line.startswith("event: cursor"):
                            live = True
                            ready.release()
                        if line.startswith("data: ") and target and f'"object_id":{target["id"]}' in line \
                                and '"staff.updated"' in line:
                            return time.monotonic()
                raise AssertionError("stream ended")

            tasks = [asyncio.create_task(reader()) for _ in range(n)]
            for _ in range(n):
                await asyncio.wait_for(ready.acquire(), timeout=60)
            target["id"] = cast.clerk["id"]
            t0 = time.monotonic()
            r = await client.patch(f"{V1}/staff/admin/staff/{cast.clerk['id']}", json={"name": f"收费员{n}"},
                                   headers=headers)
            assert r.status_code == 200
            arrived = await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
            return max(arrived) - t0

    slowest = asyncio.run(main())
    assert slowest < 5, slowest


# --- the hub in-process: a reader that stops reading ------------------------------------------------------------


@pytest.fixture()
def quiet_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Database]]:
    """Settings and the process's database for a hub run in the test itself, on a fresh SQLite file, with no
    safety poll: every read of the hub is caused by a commit's wake-up (or the test's own ``wake()``)."""
    import server.db as server_db
    from server.config import Settings
    from server.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    upgrade(url)
    settings = Settings(data_dir=tmp_path, database_url=url, events_poll_s=60, events_poll_sqlite_s=60,
                        events_heartbeat_s=60, events_prune_interval_s=3600)
    db = Database(settings)
    monkeypatch.setattr(server_db, "_db", db)
    yield settings, db
    db.dispose()


def test_a_stalled_reader_delays_nobody_and_later_catches_up_without_loss(
        quiet_hub: tuple[Any, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from server.events import stream as hub_module

    settings, db = quiet_hub
    monkeypatch.setattr(hub_module, "QUEUE_SIZE", 10)

    def ids_of(frames: list[bytes]) -> list[int]:
        return [int(m) for f in frames for m in re.findall(rb"^id: (\d+)\nevent: test", f, re.MULTILINE)]

    async def main() -> None:
        hub = hub_module.Hub(settings)
        monkeypatch.setattr(hub_module, "_hub", hub)
        await hub.start()
        try:
            stalled = hub_module.stream(reader=ADMIN, session_id=1, cursor=None)
            reader = hub_module.stream(reader=ADMIN, session_id=2, cursor=None)
            for gen in (stalled, reader):
                assert (await anext(gen)).startswith(b"retry:")
                assert b"event: cursor" in await anext(gen)
            [live_sub] = [sub for sub in hub.subscribers if sub.session_id == 2]
            written: list[int] = []
            reads = hub.reads
            for _ in range(8):
                batch = await asyncio.to_thread(write_events, db, 5)
                written += batch
                got: list[bytes] = []
                while len(ids_of(got)) < 5:
                    got.append(await asyncio.wait_for(anext(reader), timeout=5))
                assert ids_of(got) == batch
            # the stalled reader was dropped from the fan-out, not waited for; the other one never noticed
            assert hub.subscribers == {live_sub} and not live_sub.overflowed
            assert 1 <= hub.reads - reads <= 8  # one read per commit, shared by both readers
            got = []
            while len(ids_of(got)) < 40:
                got.append(await asyncio.wait_for(anext(stalled), timeout=5))
            assert ids_of(got) == written
            more = await asyncio.to_thread(write_events, db, 3)
            got = []
            while len(ids_of(got)) < 3:
                got.append(await asyncio.wait_for(anext(stalled), timeout=5))
            assert ids_of(got) == more
            await stalled.aclose()
            await reader.aclose()
            assert not hub.subscribers
        finally:
            await hub.stop()

    asyncio.run(main())


def test_a_new_subscriber_never_moves_the_hub_past_events_an_earlier_one_is_owed(
        quiet_hub: tuple[Any, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub skips its position ahead to the newest event only when nobody is subscribed (after commits nobody
    was listening for). With a subscriber present, a second one must not do it, even when the flag that says
    "commits went unread" is set (a commit that raced with the first subscribe leaves it so)."""
    from server.events import bus
    from server.events import stream as hub_module

    settings, db = quiet_hub

    async def main() -> None:
        hub = hub_module.Hub(settings)
        monkeypatch.setattr(hub_module, "_hub", hub)
        await hub.start()
        try:
            await asyncio.to_thread(write_events, db, 2)  # nobody listening: the hub is behind
            first = await hub.subscribe(reader=ADMIN, session_id=1)
            start = hub.last_id
            assert first.live_from == start
            bus.unsubscribe(hub.wake_threadsafe)  # the next commits reach the hub late, as a raced wake would
            owed = await asyncio.to_thread(write_events, db, 3)
            hub._behind = True
            second = await hub.subscribe(reader=ADMIN, session_id=2)
            assert hub.last_id == start and second.live_from == start
            hub.wake()
            got = [await asyncio.wait_for(first.queue.get(), timeout=5) for _ in owed]
            assert [f.id for f in got] == owed
        finally:
            bus.subscribe(hub.wake_threadsafe)
            await hub.stop()

    asyncio.run(main())


# --- retention, heartbeats and the session's end, on a server with short intervals ---------------------------------


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("events"), extra_env={
        "CLINIC_EVENTS_HEARTBEAT_S": "0.5", "CLINIC_EVENTS_POLL_S": "0.3", "CLINIC_EVENTS_PRUNE_INTERVAL_S": "1"})
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def qdb(quick_server: LiveServer) -> Iterator[Database]:
    db = server_database(quick_server)
    yield db
    db.dispose()


def test_a_cursor_older_than_retention_gets_resync(quick_server: LiveServer, qdb: Database) -> None:
    admin = make_staff(qdb, role="admin")
    with quick_server.client() as api:
        admin["headers"] = login_headers(api, admin)
        ids = write_events(qdb, 10)
        with qdb.transaction() as s:
            s.execute(update(Event).where(Event.id <= ids[7]).values(at=now() - dt.timedelta(days=30)))
        # the server's own retention job removes them
        deadline = time.monotonic() + 10
        while True:
            with qdb.session(write=False) as s:
                oldest = s.execute(text("SELECT min(id) FROM events")).scalar()
            if oldest > ids[7]:
                break
            assert time.monotonic() < deadline, "retention job did not prune"
            time.sleep(0.1)
        top = newest(api, admin["headers"])
        assert top >= ids[-1]

        with open_stream(quick_server, admin["headers"], after=1) as stream:
            frames = stream.until(lambda f: f.event == "cursor")
        assert frames[0].event == "resync" and frames[0].data == {"last_id": top} and frames[0].id == top
        assert events_only(frames) == []

        page = api.get(f"{V1}/staff/events/since", params={"after": 1}, headers=admin["headers"]).json()
        assert page == {"events": [], "next_after": top, "more": False, "resync": True}

        # a cursor just before the oldest kept event is fine
        with open_stream(quick_server, admin["headers"], after=oldest - 1) as stream:
            frames = stream.until(lambda f: f.event == "cursor")
        assert frames[0].event != "resync" and [f.id for f in events_only(frames)][:2] == ids[8:]

        # a cursor from some other database (ahead of everything here) is told to resync too
        with open_stream(quick_server, admin["headers"], after=top + 1000) as stream:
            assert stream.next().event == "resync"


def test_heartbeats_and_cursor_moves_past_invisible_events(quick_server: LiveServer, qdb: Database) -> None:
    clerk = make_staff(qdb, role="clerk")
    with quick_server.client() as api:
        headers = login_headers(api, clerk)
    with open_stream(quick_server, headers, read_timeout=5) as stream:
        start = stream.live().id
        assert stream.next().event == "keep-alive"
        hidden = write_events(qdb, 3, topic="clinical", doctor_id=None)
        frames = stream.until(lambda f: f.event == "cursor" and f.id >= hidden[-1])
    assert events_only(frames) == [] and frames[-1].id > start


def test_stream_ends_when_the_session_ends(quick_server: LiveServer, qdb: Database) -> None:
    clerk = make_staff(qdb, role="clerk")
    with quick_server.client() as api:
        headers = login_headers(api, clerk)
        with open_stream(quick_server, headers, read_timeout=5) as stream:
            stream.live()
            assert api.post(f"{V1}/staff/auth/logout", headers=headers).status_code == 204
            frames = stream.until(lambda f: f.event == "session_expired", timeout=5)
            assert frames[-1].data["code"] == "session_expired"
            with pytest.raises(EOFError):
                stream.next()


# --- two worker processes on PostgreSQL ----------------------------------------------------------------------------


def _worker_pids(server: LiveServer) -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != server.process.pid:
                continue
            with contextlib.suppress(OSError):
                if b"resource_tracker" not in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.add(int(entry))
    return pids


def _serving_pid(server: LiveServer, response: httpx.Response, workers: set[int]) -> int | None:
    """Which worker process holds the server side of this connection (Linux /proc)."""
    server_port = int(server.base_url.rsplit(":", 1)[1])
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                f = line.split()
                if int(f[1].rsplit(":", 1)[1], 16) == server_port and int(f[2].rsplit(":", 1)[1], 16) == client_port:
                    inode = f[9]
    for pid in workers:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
    return None


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("CLINIC_TEST_DATABASE_URL") or not sys.platform.startswith("linux"),
                    reason="needs CLINIC_TEST_DATABASE_URL (and Linux, to tell the workers apart)")
def test_an_event_reaches_streams_on_every_worker(tmp_path: Path) -> None:
    # the safety poll is slowed down, so only NOTIFY can carry an event across processes in time
    server = start_server(tmp_path, workers=2, extra_env={"CLINIC_EVENTS_POLL_S": "60"})
    db = server_database(server)
    try:
        admin = make_staff(db, role="admin")
        with server.client() as api:
            admin["headers"] = login_headers(api, admin)
        workers = _worker_pids(server)
        assert len(workers) == 2, workers
        with ExitStack() as stack:
            readers: dict[int, list[StreamReader]] = {}

            def connect() -> tuple[StreamReader, int | None]:
                client = stack.enter_context(httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(10)))
                response = stack.enter_context(client.stream("GET", f"{V1}/staff/events",
                                                             headers=admin["headers"]))
                reader = StreamReader(response)
                reader.live()
                return reader, _serving_pid(server, response, workers)

            # connections opened together spread over the workers; open more until both hold some
            for _ in range(10):
                with ThreadPoolExecutor(8) as pool:
                    for reader, pid in pool.map(lambda _i: connect(), range(8)):
                        readers.setdefault(pid, []).append(reader)
                if set(readers) >= workers:
                    break
            assert set(readers) >= workers, {k: len(v) for k, v in readers.items()}

            def all_receive(match: Callable[[Sse], bool], t0: float) -> None:
                for group in readers.values():
                    for reader in group:
                        reader.until(match, timeout=3)
                assert time.monotonic() - t0 < 3

            with server.client() as api:
                for round_ in range(3):
                    t0 = time.monotonic()
                    name = f"管理员{round_}"
                    r = api.patch(f"{V1}/staff/admin/staff/{admin['id']}", json={"name": name},
                                  headers=admin["headers"])
                    assert r.status_code == 200
                    all_receive(lambda f, name=name: f.event == "staff.updated"
                                and f.data["payload"].get("name") == name, t0)
            # and from a process that is neither worker
            t0 = time.monotonic()
            ids = write_events(db, 1)
            all_receive(lambda f: f.id == ids[0], t0)
    finally:
        db.dispose()
        stop_server(server)
