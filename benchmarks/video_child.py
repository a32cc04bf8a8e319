"""The two ends of the ``video_call`` benchmark, each in its own process.

``python -m benchmarks.video_child doctor|patient --args '{...}'``; every line on stdout is one JSON object.

- ``doctor``: the workstation as the doctor runs it — ``create_application`` (theme, language, the GUI-thread
  garbage collector) on a qasync loop, offscreen (``QT_QPA_PLATFORM=offscreen``); ``UserSession`` signed in as the
  demo doctor with its event stream (the patient's answer comes through it); a ``CallSession`` sending the test
  pattern and the tone, shown in a ``VideoPanel`` (960x720 by default), so every patient picture is converted and
  really painted. Prints ``{"ready": ...}`` once signed in, starts the call, and ``{"connected": ...}`` when the
  call is ``connected`` and the first patient picture has been painted.
- ``patient``: :class:`server.patient_call.PatientCall` (``agree=None``) on a plain asyncio loop: the phone's side,
  sending marker frames (640x480 at 30 fps) and a tone. Prints ``{"ready": ...}`` once its call stream is open.

Both then take lines on stdin: ``go`` starts the measured window (wall time, process CPU time, per-thread CPU
noted), ``stop`` ends it and prints ``{"result": {...}}`` with everything recorded since the start (the parent
cuts the window), then the process ends. EOF on stdin, or ``max_s`` seconds, also end it.

Recorded: each received (decoded) frame's ``time.time()`` (the doctor: through the ``RemotePicture``'s rate
meter; the patient: its ``FrameMeter``); the doctor, for each picture painted on the panel, ``[paint time,
marker counter, glass-to-glass ms, decoded ms]``: paint time is ``time.time()`` when ``VideoView.on_presented``
is called after the paint, glass-to-glass = paint time − the marker's send time (both processes read the same
wall clock), decoded = the picture's ``received_at`` (out of the decoder) − the send time; once a second the
received video's RTP counters (packets, lost, bytes) and the panel's line-quality figures.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.ws_child import _stdin_lines, emit


def _group(name: str) -> str:
    """A pool's threads under one name: ``_QThreadWorker/1234`` and ``asyncio_3`` count as ``_QThreadWorker`` and
    ``asyncio``."""
    return re.sub(r"(/\d+|[_-]\d+)$", "", name)


def thread_cpu() -> dict[str, tuple[float, float, int]]:
    """CPU seconds (user + system), seconds spent runnable but waiting for a CPU (``schedstat``) and the number of
    threads, for each group of this process's threads: Python threads by name, others (Qt's) by kernel name, a
    pool's threads together (:func:`_group`)."""
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, tuple[float, float, int]] = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
            with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as f:
                waited = int(f.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        name = _group(names.get(int(tid)) or comm)
        c, w, n = out.get(name, (0.0, 0.0, 0))
        out[name] = (c + cpu, w + waited, n + 1)
    return out


class Window:
    """The measured window: wall time, process CPU time and per-thread CPU at ``go`` and at ``stop``."""

    def __init__(self) -> None:
        self.start_wall: float | None = None
        self.end_wall: float | None = None
        self._cpu0 = self._cpu1 = 0.0
        self._threads0: dict[str, tuple[float, float, int]] = {}
        self._threads1: dict[str, tuple[float, float, int]] = {}
        self._none0 = self._none1 = 0

    def go(self) -> None:
        self._threads0 = thread_cpu()
        self._none0 = sys.getrefcount(None)
        self._cpu0, self.start_wall = time.process_time(), time.time()

    def stop(self) -> None:
        self._cpu1, self.end_wall = time.process_time(), time.time()
        self._none1 = sys.getrefcount(None)
        self._threads1 = thread_cpu()

    def figures(self) -> dict[str, Any]:
        if self.start_wall is None or self.end_wall is None:
            return {"window": None}
        wall = self.end_wall - self.start_wall
        threads = []
        for name, (cpu, waited, n) in self._threads1.items():
            cpu0, waited0, _ = self._threads0.get(name, (0.0, 0.0, 0))
            threads.append((name, n, (cpu - cpu0) / wall * 100, (waited - waited0) / wall * 100))
        threads.sort(key=lambda row: -row[2])
        return {"window": [self.start_wall, self.end_wall],
                "cpu_s": round(self._cpu1 - self._cpu0, 3),
                "cpu_pct": round((self._cpu1 - self._cpu0) / wall * 100, 1),
                # references to None gained (+) or lost (-) a second: see workstation/services/qtfix.py
                "none_refs_per_s": round((self._none1 - self._none0) / wall, 1),
                # per group of threads: % of one core used, and % of the time runnable but waiting for a CPU
                "threads": {name: {"threads": n, "cpu_pct": round(cpu, 1), "cpu_wait_pct": round(wait, 1)}
                            for name, n, cpu, wait in threads if cpu >= 0.3 or wait >= 0.3}}


# ------------------------------------------------------------------------------------------------- the doctor

def doctor(args: dict) -> None:
    import asyncio
    import tempfile
    from pathlib import Path

    import qasync
    from PySide6.QtCore import QObject, QTimer, Signal

    from server.patient_call import decode_marker
    from workstation.services.call import CONNECTED, CallSession
    from workstation.services.changes import ChangeHub
    from workstation.services.media.remote import RateMeter
    from workstation.services.ops import shutdown_pools
    from workstation.services.session import UserSession
    from workstation.ui.app import create_application
    from workstation.ui.doctor.video_panel import VideoPanel

    t_start = time.time()
    app = create_application([sys.argv[0]], language="zh_CN")  # theme, language, the GUI-thread collector
    from workstation.services import qtfix

    guarded = bool(qtfix.applied.get("none"))  # the workstation's own guard (services/qtfix.py)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    hub = ChangeHub()
    session = UserSession(base_url=args["url"], hub=hub, data_dir=Path(tempfile.mkdtemp(prefix="video-bench-")))
    session.sign_in(args["username"], args["password"])  # before the loop runs: blocking is allowed here
    cursor = session.api.events_cursor()
    session.start_stream(after=cursor)  # the patient's answer arrives as a stream event

    call = CallSession(api=session.api, hub=hub, appointment_id=int(args["appointment_id"]),
                       video_source="test_pattern", audio_source="tone")

    class RecordingMeter(RateMeter):
        """The remote picture's rate meter, also keeping each decoded frame's wall time."""

        def __init__(self) -> None:
            super().__init__()
            self.wall: list[float] = []

        def tick(self, now: float | None = None) -> None:
            self.wall.append(time.time())
            super().tick(now)

    arrivals = RecordingMeter()
    call.remote.meter = arrivals
    panel = VideoPanel(session=call, patient_name=str(args.get("patient_name", "患者")))
    panel.resize(int(args.get("panel_w", 960)), int(args.get("panel_h", 720)))
    panel.show()

    presented: list[list[float]] = []  # [paint time, counter, glass-to-glass ms, decoded ms]
    misread = {"n": 0}
    states: list[list[Any]] = []
    window = Window()
    done = asyncio.Event()
    mark = {"connected": False}

    def on_presented(picture: Any, at: float) -> None:
        m = decode_marker(picture.rgb)
        if m is None:
            misread["n"] += 1
            return
        sent = m.sent_us / 1e6
        presented.append([round(at, 4), m.counter, round((at - sent) * 1000, 2),
                          round((picture.received_at - sent) * 1000, 2)])
        if not mark["connected"] and call.state == CONNECTED:
            mark["connected"] = True
            emit({"connected": time.time(), "setup_s": round(time.time() - t_call[0], 2)})

    panel.view.on_presented = on_presented
    call.sig_state.connect(lambda state, reason: states.append([round(time.time(), 3), state, reason]))

    # the line, once a second: the received video's RTP counters and the transport's bytes ([time, video packets
    # received, video packets lost, bytes received on the transport: all media and RTCP], aiortc's getStats: its
    # inbound-rtp stats have no byte count) and the panel's quality figures ([time, rtt ms, loss %, fps in])
    rtp: list[list[float]] = []
    quality: list[list[Any]] = []

    async def sample_rtp() -> None:
        line = call.line
        if line is None or line.closed:
            return
        try:
            report = await line.pc.getStats()
        except Exception:  # noqa: BLE001 - a closing connection may refuse; the sample is skipped
            return
        packets = lost = octets = 0
        for stat in report.values():
            kind = getattr(stat, "type", "")
            if kind == "inbound-rtp" and getattr(stat, "kind", "") == "video":
                packets += int(getattr(stat, "packetsReceived", 0) or 0)
                lost += int(getattr(stat, "packetsLost", 0) or 0)
            elif kind == "transport":
                octets += int(getattr(stat, "bytesReceived", 0) or 0)
        rtp.append([round(time.time(), 3), packets, lost, octets])

    sampler = QTimer()
    sampler.setInterval(1000)
    sampler.timeout.connect(lambda: asyncio.ensure_future(sample_rtp()))
    sampler.start()
    call.sig_quality.connect(lambda q: quality.append([round(time.time(), 3), q.rtt_ms and round(q.rtt_ms, 1),
                                                       q.loss_pct and round(q.loss_pct, 2), q.fps_in]))
    call.sig_notice.connect(lambda text: states.append([round(time.time(), 3), "notice", text]))

    def result() -> dict[str, Any]:
        video = call.video
        return {
            **window.figures(),
            "arrivals": [round(t, 4) for t in arrivals.wall],
            "presented": presented,
            "misread": misread["n"],
            "received": call.remote.received,
            "skipped_before_paint": call.remote.skipped,
            "painted": panel.view.presented,
            "sent_frames": getattr(video, "frames_sent", None),
            "states": states,
            "rtp": rtp,
            "quality": quality,
            "remote_size": call.remote.size,
            "view_size": [panel.view.width(), panel.view.height()],
            "none_guard": guarded,
        }

    def on_line(line: object) -> None:
        if line == "go":
            window.go()
        elif line == "stop":
            window.stop()
            emit({"result": result()})
            done.set()
        elif line is None:
            done.set()

    class Bridge(QObject):
        line = Signal(object)

    bridge = Bridge()
    bridge.line.connect(on_line)
    _stdin_lines(bridge.line.emit)
    QTimer.singleShot(int(float(args.get("max_s", 900)) * 1000), done.set)
    emit({"ready": time.time(), "signed_in_s": round(time.time() - t_start, 2)})
    t_call = [time.time()]
    QTimer.singleShot(0, call.start)
    with loop:
        loop.run_until_complete(done.wait())
        # hang up (as closing the panel does) and give the hangup a moment to reach the server
        call.close()
        end = time.monotonic() + 3
        while call._tasks and time.monotonic() < end:
            loop.run_until_complete(asyncio.sleep(0.05))
    session.close()
    shutdown_pools(wait=False)
    sys.stdout.flush()
    os._exit(0)  # the figures are out; Qt's and aiortc's teardown is not measured


# ------------------------------------------------------------------------------------------------ the patient

def patient(args: dict) -> None:
    import asyncio

    from server.patient_call import FrameMeter, PatientCall

    async def main() -> None:
        loop = asyncio.get_running_loop()
        call = PatientCall(args["url"], int(args["appointment_id"]), args["token"], agree=None,
                           name="bench patient")
        call.video = FrameMeter("video", keep_samples=True)  # every arrival's wall time
        task = asyncio.create_task(call.run())
        lines: asyncio.Queue[object] = asyncio.Queue()
        _stdin_lines(lambda line: loop.call_soon_threadsafe(lines.put_nowait, line))
        deadline = time.monotonic() + 60
        while not call.stream_open:
            if task.done() or time.monotonic() > deadline:
                emit({"error": f"the call stream did not open: {call.stats()['errors']}"})
                return
            await asyncio.sleep(0.02)
        emit({"ready": time.time()})
        window = Window()
        end = time.monotonic() + float(args.get("max_s", 900))
        while time.monotonic() < end:
            try:
                line = await asyncio.wait_for(lines.get(), timeout=max(0.1, end - time.monotonic()))
            except TimeoutError:
                break
            if line == "go":
                window.go()
            elif line == "stop":
                window.stop()
                stats = call.stats()
                emit({"result": {
                    **window.figures(),
                    "arrivals": [round(t, 4) for t, _lat, _c in (call.video.samples or [])],
                    "received": call.video.frames,
                    "size": [call.video.width, call.video.height],
                    "sent_frames": stats["sent"]["video_frames"],
                    "sent_skipped": stats["sent"]["video_skipped"],
                    "audio_frames": stats["audio"]["frames"],
                    "echoes": stats["echoes"],
                    "segments": stats["segments"],
                    "errors": stats["errors"],
                }})
                break
            elif line is None:
                break
        call.stop()
        with contextlib.suppress(Exception):  # the figures are out already
            await asyncio.wait_for(task, 5)

    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)


def main() -> None:
    import faulthandler

    faulthandler.enable()  # a crash in Qt, PyAV or aiortc leaves its stacks on stderr (the parent reports them)
    mode = sys.argv[1]
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    {"doctor": doctor, "patient": patient}[mode](args)


if __name__ == "__main__":
    main()
