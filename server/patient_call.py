"""The simulated patient's phone in a video visit (issue 4): the media it sends and the call it answers.

In production the patient side is the mini-program; here ``clinic-server simulate``, the tests and the benchmarks
stand in for it with what this module offers. No Qt, only asyncio and aiortc:

- :class:`MarkerVideoTrack` sends a moving picture (scrolling bars and a bouncing block: real motion, so VP8 has
  real work) whose top band carries, in 16x16 luma blocks aligned to VP8's macroblocks, a :class:`Marker`: the
  frame's 32-bit counter, its wall-clock send time in microseconds (56 bits: unambiguous for centuries) and a
  CRC-32 of both. :func:`decode_marker` reads it back from a decoded frame, so whoever receives the frames can tell
  which frame it got and how late it is (``time.time()`` at arrival minus ``sent_us``), and drops misreads.
- :class:`ToneAudioTrack` sends a 440 Hz tone, 48 kHz mono, 20 ms frames.
- Both are paced by the clock and never build a backlog: a consumer that comes late gets the frame due *now*
  (the counter or the sample index jumps), never a queue of old ones. Media must not queue up latency.
- :class:`PatientCall` drives one patient's side of one appointment against the HTTP contract
  (docs/api-contract.md, "Video visit"): the patient call stream (SSE), answering the doctor's offer with a new
  peer connection per segment, trickled candidates, echoing the doctor's data channels (the ``heartbeat``
  channel), consuming the doctor's media, answering consent requests, hanging up or dropping the line.
  :class:`PatientCallThread` runs one in a thread of its own (for synchronous callers like the simulator).
"""
from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import logging
import math
import secrets
import statistics
import threading
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import av
import httpx
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

log = logging.getLogger(__name__)

API = "/api/v1"

# ------------------------------------------------------------------------------------------------- the marker

BLOCK = 16  # one bit per 16x16 luma block: VP8 macroblocks, so a bit never shares a block with another
MARKER_BITS = 120  # counter 32 + sent_us 56 + CRC-32 32
BLACK, WHITE = 16, 235  # video-range luma of a 0 and a 1
_THRESHOLD = 126.0  # between them (RGB input: between 0 and 255)
_INNER = slice(4, 12)  # the part of a block that is read: compression rings at the edges
_US_MASK = (1 << 56) - 1
VIDEO_CLOCK_RATE = 90000


class Marker(NamedTuple):
    """What a marked frame carries: its counter (the frame's slot number) and when it was built (``time.time()``
    in microseconds)."""

    counter: int
    sent_us: int


def marker_geometry(width: int, height: int) -> tuple[int, int]:
    """Blocks per row and rows of the marker band for a ``width`` x ``height`` frame."""
    per_row = width // BLOCK
    rows = -(-MARKER_BITS // per_row) if per_row else 0
    if per_row < 8 or rows * BLOCK * 2 > height:
        raise ValueError(f"a {width}x{height} frame is too small for the marker")
    return per_row, rows


def marker_bits(marker: Marker) -> np.ndarray:
    """The 120 bits (uint8 0/1, most significant first) of ``marker`` with its checksum."""
    body = (marker.counter & 0xFFFFFFFF).to_bytes(4, "big") + (marker.sent_us & _US_MASK).to_bytes(7, "big")
    crc = zlib.crc32(body).to_bytes(4, "big")
    return np.unpackbits(np.frombuffer(body + crc, dtype=np.uint8))


def _bits_to_marker(bits: np.ndarray) -> Marker | None:
    raw = np.packbits(bits.astype(np.uint8)).tobytes()
    body, crc = raw[:11], raw[11:15]
    if zlib.crc32(body).to_bytes(4, "big") != crc:
        return None
    return Marker(int.from_bytes(body[:4], "big"), int.from_bytes(body[4:11], "big"))


def _luma_band(frame: Any) -> tuple[np.ndarray, float]:
    """The frame's luma (at least its marker band) as a 2-D array, and the threshold between a 0 and a 1."""
    if isinstance(frame, av.VideoFrame):
        if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12", "gray"):
            plane = frame.planes[0]
            y = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)[:, :frame.width]
            return y, _THRESHOLD
        frame = frame.to_ndarray(format="rgb24")
    arr = np.asarray(frame)
    if arr.ndim == 2:  # a luma plane (or a whole yuv420p frame: the luma rows come first)
        return arr, _THRESHOLD
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        return arr, 127.5
    raise ValueError(f"not a frame: array of shape {arr.shape}")


def decode_marker(frame: Any) -> Marker | None:
    """The :class:`Marker` of a frame built by :class:`MarkerVideoTrack` (after any compression), or None when the
    frame carries none or it does not read back intact (checksum mismatch).

    ``frame``: an ``av.VideoFrame``, a 2-D luma array (or a whole yuv420p array), or an RGB/RGBA array
    (height x width x 3|4). The frame must have the size it was sent at."""
    arr, threshold = _luma_band(frame)
    height, width = arr.shape[0], arr.shape[1]
    try:
        per_row, rows = marker_geometry(width, height)
    except ValueError:
        return None
    band = arr[:rows * BLOCK, :per_row * BLOCK]
    if band.ndim == 3:  # RGB(A): luma of the band only
        band = band[..., 0] * 0.299 + band[..., 1] * 0.587 + band[..., 2] * 0.114
    levels = band.reshape(rows, BLOCK, per_row, BLOCK)[:, _INNER, :, _INNER].mean(axis=(1, 3))
    return _bits_to_marker(levels.reshape(-1)[:MARKER_BITS] > threshold)


def latency_ms(marker: Marker, received_s: float | None = None) -> float:
    """How long after it was built a frame with ``marker`` was received (``received_s``: ``time.time()``)."""
    received_s = time.time() if received_s is None else received_s
    return received_s * 1000.0 - marker.sent_us / 1000.0


# ------------------------------------------------------------------------------------------------ the tracks


class _Pacer:
    """Slot numbers paced by the clock: slot n is due at start + n * period. ``next()`` waits for the next slot,
    or, when the consumer comes later than that, answers the slot due now (skipping the missed ones): no
    backlog, ever."""

    def __init__(self, period_s: float) -> None:
        self.period = period_s
        self.start: float | None = None
        self.slot = -1
        self.skipped = 0

    async def next(self) -> int:
        now = time.monotonic()
        if self.start is None:
            self.start = now
            self.slot = 0
            return 0
        n = self.slot + 1
        while True:
            due_now = int((now - self.start) / self.period)
            if due_now > n:  # the consumer came late (or the sleep overslept): the missed slots are gone
                self.skipped += due_now - n
                n = due_now
                break
            wait = self.start + n * self.period - now
            if wait <= 0:
                break
            await asyncio.sleep(wait)
            now = time.monotonic()
        self.slot = n
        return n


class _PacedTrack(MediaStreamTrack):
    """A track whose frame *n* is built on demand when its pacer says it is due (``self._pacer``,
    ``build_frame(n)`` of the subclass)."""

    _pacer: _Pacer
    frames_sent: int

    def build_frame(self, n: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        n = await self._pacer.next()
        if self.readyState != "live":
            raise MediaStreamError
        self.frames_sent += 1
        return self.build_frame(n)


class MarkerVideoTrack(_PacedTrack):
    """A camera stand-in: ``width`` x ``height`` yuv420p frames at ``fps``, moving, each carrying a
    :class:`Marker` (counter = the frame's slot number since the first frame; ``sent_us`` = ``time.time()`` when
    it was built). ``frames_sent`` and ``frames_skipped`` count what was built and what a late consumer missed."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30) -> None:
        super().__init__()
        if width % 2 or height % 2 or fps <= 0:
            raise ValueError("width and height must be even and fps positive")
        self.width, self.height, self.fps = width, height, fps
        self.per_row, self.rows = marker_geometry(width, height)
        self.band = self.rows * BLOCK
        self._pacer = _Pacer(1.0 / fps)
        self.frames_sent = 0
        self._prebuild()

    @property
    def frames_skipped(self) -> int:
        return self._pacer.skipped

    def _prebuild(self) -> None:
        w, h, band = self.width, self.height, self.band
        body = h - band
        x = np.arange(2 * w)
        yy = np.arange(body)[:, None]
        # scrolling content, periodic in x with period w: a slow wave, sharp bars, a vertical gradient
        wave = 40 * np.sin(2 * np.pi * x / (w / 2))
        bars = np.where((x % 80) < 40, 30, -30)
        # and a fixed grain moving with them, as a camera's picture has texture (periodic too)
        grain = np.random.default_rng(7).integers(-12, 13, size=(body, w))
        grain = np.concatenate([grain, grain], axis=1)
        self._y_wide = np.clip(120 + wave[None, :] + bars[None, :] + (yy - body / 2) * 0.15 + grain,
                               24, 225).astype(np.uint8)
        cx = np.arange(w)  # chroma: twice the luma's horizontal resolution, so half the scroll
        cy = np.arange(body // 2)[:, None]
        self._u_wide = np.clip(128 + 50 * np.sin(2 * np.pi * cx / (w / 2))[None, :] + 0 * cy, 16, 240).astype(np.uint8)
        self._v_wide = np.clip(128 + 50 * np.cos(2 * np.pi * cx / (w / 4))[None, :] + (cy - body / 4) * 0.2,
                               16, 240).astype(np.uint8)
        self._block = 64
        self._idle_band = np.full((band, w), BLACK, dtype=np.uint8)

    def _marker_band(self, marker: Marker) -> np.ndarray:
        bits = np.zeros(self.rows * self.per_row, dtype=np.uint8)
        bits[:MARKER_BITS] = marker_bits(marker)
        levels = np.where(bits, WHITE, BLACK).astype(np.uint8).reshape(self.rows, self.per_row)
        blocks = np.repeat(np.repeat(levels, BLOCK, axis=0), BLOCK, axis=1)
        if blocks.shape[1] == self.width:
            return blocks
        out = self._idle_band.copy()
        out[:, :blocks.shape[1]] = blocks
        return out

    def build_frame(self, n: int, sent_us: int | None = None) -> av.VideoFrame:
        """Frame ``n`` (its pts is n / fps in the 90 kHz clock), marked with counter ``n`` and ``sent_us``
        (default: now)."""
        w, h, band = self.width, self.height, self.band
        frame = av.VideoFrame(w, h, "yuv420p")
        planes = [np.frombuffer(p, dtype=np.uint8).reshape(p.height, p.line_size)[:, :p.width]
                  for p in frame.planes]
        y, u, v = planes
        off = (n * 4) % w  # 4 px a frame to the left
        y[band:] = self._y_wide[:, off:off + w]
        u[band // 2:] = self._u_wide[:, off // 2:off // 2 + w // 2]
        v[band // 2:] = self._v_wide[:, off // 2:off // 2 + w // 2]
        u[:band // 2] = 128
        v[:band // 2] = 128
        # a bouncing block
        b = self._block
        bx = _bounce(n * 7, w - b) & ~1
        by = band + (_bounce(n * 5, h - band - b) & ~1)
        y[by:by + b, bx:bx + b] = 210
        u[by // 2:(by + b) // 2, bx // 2:(bx + b) // 2] = 80
        v[by // 2:(by + b) // 2, bx // 2:(bx + b) // 2] = 200
        sent = int(time.time() * 1_000_000) if sent_us is None else sent_us
        y[:band] = self._marker_band(Marker(n & 0xFFFFFFFF, sent))
        frame.pts = round(n * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame



def _bounce(pos: int, span: int) -> int:
    """A triangle wave: ``pos`` folded into 0..span."""
    if span <= 0:
        return 0
    p = pos % (2 * span)
    return p if p <= span else 2 * span - p


class ToneAudioTrack(_PacedTrack):
    """A microphone stand-in: a sine tone (default 440 Hz) as s16 mono frames of ``ptime`` (20 ms) at
    ``sample_rate`` (48 kHz), paced by the clock like :class:`MarkerVideoTrack` (a late consumer gets the frame due
    now: ``pts``, the sample index, jumps and the phase stays continuous with it)."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, sample_rate: int = 48000, ptime: float = 0.020,
                 amplitude: float = 0.25) -> None:
        super().__init__()
        self.frequency, self.sample_rate = frequency, sample_rate
        self.samples = round(sample_rate * ptime)
        self.amplitude = amplitude
        self._pacer = _Pacer(self.samples / sample_rate)
        self._ramp = np.arange(self.samples, dtype=np.float64)
        self.frames_sent = 0

    @property
    def frames_skipped(self) -> int:
        return self._pacer.skipped

    def build_frame(self, n: int) -> av.AudioFrame:
        start = n * self.samples
        phase = ((start + self._ramp) * self.frequency / self.sample_rate) % 1.0
        pcm = (np.sin(2 * np.pi * phase) * (self.amplitude * 32767)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = start
        frame.time_base = fractions.Fraction(1, self.sample_rate)
        return frame



# ------------------------------------------------------------------------------------------ receiving media


class FrameMeter:
    """Counts what a receiving loop gets from one remote track: frames, the rate over the last ``window_s``
    seconds, the resolution, and for marked video frames the latency and lost/misread frames.

    ``keep_samples``: also keep every (arrival ``time.time()``, latency ms or None, counter or None) for later
    analysis."""

    def __init__(self, kind: str, *, window_s: float = 3.0, keep_samples: bool = False,
                 latency_keep: int = 900) -> None:
        self.kind = kind
        self.window_s = window_s
        self.frames = 0
        self.marked = 0  # frames whose marker read back intact
        self.unmarked = 0  # frames without a readable marker (not ours, or misread)
        self.lost = 0  # counter gaps between consecutive marked frames
        self.reordered = 0  # a counter not above the previous one
        self.width: int | None = None
        self.height: int | None = None
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.last_marker: Marker | None = None
        self._arrivals: deque[float] = deque()
        self.latencies: deque[float] = deque(maxlen=latency_keep)
        self.samples: list[tuple[float, float | None, int | None]] | None = [] if keep_samples else None

    def add(self, frame: Any, *, at: float | None = None) -> Marker | None:
        at = time.time() if at is None else at
        self.frames += 1
        self.first_at = at if self.first_at is None else self.first_at
        self.last_at = at
        self._arrivals.append(at)
        while self._arrivals and self._arrivals[0] < at - self.window_s:
            self._arrivals.popleft()
        marker = None
        lat = None
        if self.kind == "video":
            self.width, self.height = frame.width, frame.height
            marker = decode_marker(frame)
            if marker is None:
                self.unmarked += 1
            else:
                self.marked += 1
                lat = latency_ms(marker, at)
                self.latencies.append(lat)
                if self.last_marker is not None:
                    if marker.counter > self.last_marker.counter:
                        self.lost += marker.counter - self.last_marker.counter - 1
                    else:
                        self.reordered += 1
                self.last_marker = marker
        if self.samples is not None:
            self.samples.append((at, lat, marker.counter if marker is not None else None))
        return marker

    def fps(self, now: float | None = None) -> float:
        """Frames a second over the last ``window_s`` (0 when nothing came in that time)."""
        now = time.time() if now is None else now
        recent = [t for t in self._arrivals if t >= now - self.window_s]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], recent[-1] - recent[0])
        return (len(recent) - 1) / span if span > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"frames": self.frames, "fps": round(self.fps(), 1)}
        if self.kind == "video":
            lat = list(self.latencies)
            out.update(width=self.width, height=self.height, marked=self.marked, unmarked=self.unmarked,
                       lost=self.lost, reordered=self.reordered,
                       latency_ms_median=round(statistics.median(lat), 1) if lat else None,
                       latency_ms_last=round(lat[-1], 1) if lat else None,
                       last_counter=self.last_marker.counter if self.last_marker else None)
        return out


async def consume(track: MediaStreamTrack, meter: FrameMeter,
                  on_frame: Callable[[Any, Marker | None], None] | None = None) -> None:
    """Read ``track`` until it ends, as fast as frames come (aiortc's receive queue never grows), into ``meter``."""
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        marker = meter.add(frame)
        if on_frame is not None:
            on_frame(frame, marker)


# ------------------------------------------------------------------------------------------------- the call


async def iter_sse(response: httpx.Response) -> AsyncIterator[tuple[str | None, str, str]]:
    """The events of a ``text/event-stream`` response as (id or None, event name, data); comments (keep-alives)
    and events without data are skipped."""
    event_id: str | None = None
    kind = "message"
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield event_id, kind, "\n".join(data)
            event_id, kind, data = None, "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            event_id = value
        elif name == "event":
            kind = value
        elif name == "data":
            data.append(value)


class CallApiError(Exception):
    """A refused or failed request of the call: HTTP status (0: network), the service's code and message."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class _StreamFatal(Exception):
    """The stream cannot be opened for good (the appointment is not ours, the session ended)."""


@dataclass
class _SegmentSeen:
    id: int
    seq: int | None = None
    state: str | None = None
    end_reason: str | None = None
    answered: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "seq": self.seq, "state": self.state, "end_reason": self.end_reason,
                "answered": self.answered}


@dataclass
class _Peer:
    """The peer connection of one segment and what runs for it."""

    segment_id: int
    pc: RTCPeerConnection
    tasks: set[asyncio.Task] = field(default_factory=set)
    remote_set: bool = False
    pending: list[Any] = field(default_factory=list)  # candidates that came before the offer was applied
    closed: bool = False


TokenSource = str | Callable[[], str | None]


class PatientCall:
    """One patient's side of the video call of one appointment, as the phone does it (see the module docstring).

    ``await run()`` until ``stop()``; ``hangup()``, ``drop()``, ``reconnect()`` and ``stats()`` meanwhile (all on the
    loop that runs it; from another thread use :class:`PatientCallThread`).

    - ``token``: the account's bearer token, or a callable answering the current one (asked at each (re)connect);
    - ``agree``: the answer to consent requests, given ``consent_delay_s`` after the request (None: never answer);
    - ``send_video``/``send_audio``: send :class:`MarkerVideoTrack` (``video_size``, ``fps``)/:class:`ToneAudioTrack`;
    - ``notify``: called with a short English line for each thing a person would notice (answered, consent, ended);
    - ``client``: an ``httpx.AsyncClient`` to use (default: one of its own on ``base_url``).
    """

    def __init__(self, base_url: str, appointment_id: int, token: TokenSource, *, agree: bool | None = True,
                 consent_delay_s: float = 1.0, send_video: bool = True, send_audio: bool = True,
                 video_size: tuple[int, int] = (640, 480), fps: float = 30, reconnect_delay_s: float = 1.0,
                 notify: Callable[[str], None] | None = None, client: httpx.AsyncClient | None = None,
                 name: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.appointment_id = int(appointment_id)
        self._token = token
        self.agree = agree
        self.consent_delay_s = consent_delay_s
        self.send_video, self.send_audio = send_video, send_audio
        self.video_size, self.fps = video_size, fps
        self.reconnect_delay_s = reconnect_delay_s
        self._notify = notify
        self._client = client
        self._own_client = client is None
        self.name = name or f"patient-call {appointment_id}"
        self._log = log

        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._online: asyncio.Event | None = None  # cleared while dropped (offline)
        self._stream_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._peer: _Peer | None = None
        self._peer_lock: asyncio.Lock | None = None
        self.last_event_id: int | None = None
        self.ice_servers: list[dict[str, Any]] = []
        self._ice_fetched_at = -math.inf

        # what stats() reports
        self.stream_open = False
        self.stream_opens = 0
        self.events_received = 0
        self.segments: dict[int, _SegmentSeen] = {}
        self.answers_sent = 0
        self.candidates_applied = 0
        self.echoes = 0
        self.channels: list[str] = []
        self.consents: list[dict[str, Any]] = []
        self.pc_state: str | None = None
        self.errors: deque[str] = deque(maxlen=20)
        self.video = FrameMeter("video")
        self.audio = FrameMeter("audio")
        self.sent_video: MarkerVideoTrack | None = None
        self.sent_audio: ToneAudioTrack | None = None
        self._consent_seen: set[int] = set()

    # --- public ----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the call stream open (reconnecting with Last-Event-ID) and answer the doctor, until ``stop()``.
        Returns early when the stream can never be opened (404: not this account's appointment; 401 for good)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = self._stopping or asyncio.Event()
        self._online = self._online or asyncio.Event()
        self._online.set()
        self._peer_lock = asyncio.Lock()
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=15.0)
        delay = self.reconnect_delay_s
        try:
            while not self._stopping.is_set():
                if not self._online.is_set():
                    await self._wait_any(self._online.wait())
                    continue
                self._stream_task = asyncio.create_task(self._stream_once(), name=f"{self.name} stream")
                got_events = self.events_received
                try:
                    await self._stream_task
                except asyncio.CancelledError:
                    current = asyncio.current_task()
                    if current is not None and current.cancelling():
                        raise  # run() itself is cancelled
                    # else stop() or drop() ended the stream
                except _StreamFatal as exc:
                    self._say(f"the call stream was refused ({exc}): no video call", level=logging.WARNING)
                    self.errors.append(str(exc))
                    return
                except (httpx.HTTPError, CallApiError, ValueError) as exc:
                    self._log.info("%s: call stream lost: %s: %s", self.name, type(exc).__name__, exc)
                    self.errors.append(f"stream: {type(exc).__name__}: {exc}")
                finally:
                    self._stream_task = None
                    self.stream_open = False
                if self._stopping.is_set():
                    break
                if not self._online.is_set():
                    continue
                delay = self.reconnect_delay_s if self.events_received > got_events else min(delay * 2, 15.0)
                await self._wait_any(asyncio.sleep(delay))
        finally:
            await self._close_peer("stopped")
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._own_client and self._client is not None:
                await self._client.aclose()
                self._client = None

    def stop(self) -> None:
        """Ask ``run()`` to end (the peer connection is closed, no hangup is sent). On the loop's thread."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        self._stopping.set()
        if self._online is not None:
            self._online.set()
        if self._stream_task is not None:
            self._stream_task.cancel()

    async def hangup(self) -> bool:
        """The patient hangs up: ``hangup`` signal for the open segment, then the peer connection is closed.
        False when there was no open segment to hang up."""
        segment_id = self._peer.segment_id if self._peer else None
        if segment_id is None:
            call = await self._get_call()
            seg = (call or {}).get("segment") or {}
            if seg.get("state") in ("invited", "connected", "interrupted"):
                segment_id = int(seg["id"])
        if segment_id is None:
            return False
        try:
            await self._post_signal(segment_id, "hangup")
            ok = True
        except CallApiError as exc:
            self._log.info("%s: hangup refused: %s", self.name, exc)
            ok = False
        await self._close_peer("hung up")
        self._say("hung up")
        return ok

    async def drop(self, *, offline_s: float | None = None, silent: bool = True) -> None:
        """A lost line: the call stream and the peer connection end abruptly, no hangup. With ``silent`` the peer
        connection's sockets are closed first, so the doctor gets no goodbye (no DTLS close, no RTCP BYE) and must
        notice the silence, as with a phone gone out of coverage. Offline for ``offline_s`` seconds, or until
        ``reconnect()`` (None)."""
        assert self._online is not None, "drop() before run()"
        self._online.clear()
        if offline_s is not None:
            self._spawn(self._come_back_after(offline_s), "come back")
        if self._stream_task is not None:
            self._stream_task.cancel()
        await self._close_peer("dropped", silent=silent)
        self._say("lost the line")

    def reconnect(self) -> None:
        """Back online after ``drop()``: the call stream is opened again (resuming after the last event seen)."""
        if self._online is not None:
            self._online.set()

    def stats(self) -> dict[str, Any]:
        """What the phone has seen so far (a snapshot, JSON-able)."""
        return {
            "appointment_id": self.appointment_id,
            "stream_open": self.stream_open,
            "stream_opens": self.stream_opens,
            "online": bool(self._online is None or self._online.is_set()),
            "events": self.events_received,
            "last_event_id": self.last_event_id,
            "segment_id": self._peer.segment_id if self._peer else None,
            "pc_state": self.pc_state,
            "segments": [s.as_dict() for s in sorted(self.segments.values(), key=lambda s: s.id)],
            "answers": self.answers_sent,
            "candidates_applied": self.candidates_applied,
            "remote_candidates": self._remote_candidate_types(),
            "channels": list(self.channels),
            "echoes": self.echoes,
            "video": self.video.summary(),
            "audio": self.audio.summary(),
            "sent": {"video_frames": self.sent_video.frames_sent if self.sent_video else 0,
                     "video_skipped": self.sent_video.frames_skipped if self.sent_video else 0,
                     "audio_frames": self.sent_audio.frames_sent if self.sent_audio else 0},
            "consents": [dict(c) for c in self.consents],
            "errors": list(self.errors),
        }

    def _remote_candidate_types(self) -> list[str]:
        """The types of the remote ICE candidates the current peer connection knows (``prflx``: learnt from the
        doctor's connectivity checks, not signalled)."""
        peer = self._peer
        if peer is None:
            return []
        with contextlib.suppress(Exception):
            for t in peer.pc.getTransceivers():
                return sorted(c.type for c in t.receiver.transport.transport.getRemoteCandidates())
        return []

    async def wait_until(self, predicate: Callable[[dict[str, Any]], Any], *, timeout: float,
                         what: str = "condition") -> dict[str, Any]:
        """Poll ``stats()`` until ``predicate`` holds (returns the stats), TimeoutError after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.stats()
            if predicate(s):
                return s
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: timed out waiting for {what}: {json.dumps(s)[:2000]}")
            await asyncio.sleep(0.05)

    # --- plumbing ----------------------------------------------------------------------------------------------

    def _say(self, text: str, *, level: int = logging.INFO) -> None:
        """A line for a person: to ``notify`` when there is one (and to the log at INFO), else to the log."""
        self._log.log(logging.INFO if self._notify is not None else level, "%s: %s", self.name, text)
        if self._notify is not None:
            try:
                self._notify(text)
            except Exception:  # noqa: BLE001 - a caller's logging must never break the call
                self._log.exception("%s: notify failed", self.name)

    def _spawn(self, coro: Awaitable[Any], what: str) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                exc = t.exception()
                self._log.warning("%s: %s failed: %s: %s", self.name, what, type(exc).__name__, exc)
                self.errors.append(f"{what}: {type(exc).__name__}: {exc}")

        task.add_done_callback(done)
        return task

    async def _wait_any(self, aw: Awaitable[Any]) -> None:
        """Wait for ``aw`` or for stop(), whichever comes first."""
        assert self._stopping is not None
        main = asyncio.ensure_future(aw)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (main, stop):
                if not t.done():
                    t.cancel()
            await asyncio.gather(main, stop, return_exceptions=True)

    async def _come_back_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.reconnect()

    def _headers(self) -> dict[str, str]:
        token = self._token() if callable(self._token) else self._token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def _request(self, method: str, path: str, *, json_body: Any = None) -> Any:
        """One API request; a POST carries an Idempotency-Key and is sent once more after a network error."""
        assert self._client is not None
        headers = self._headers()
        if method == "POST":
            headers["Idempotency-Key"] = secrets.token_hex(16)
        for attempt in (1, 2):
            try:
                r = await self._client.request(method, self.base_url + API + path, headers=headers,
                                               json=json_body)
                break
            except httpx.HTTPError as exc:
                if attempt == 2 or method != "POST":
                    raise CallApiError(0, "network_error", f"{type(exc).__name__}: {exc}") from exc
                await asyncio.sleep(0.3)
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {}
            body = body if isinstance(body, dict) else {}
            raise CallApiError(r.status_code, str(body.get("code", "http_error")),
                               str(body.get("message", r.text[:200])))
        return r.json() if r.content else None

    async def _get_call(self) -> dict[str, Any] | None:
        try:
            call = await self._request("GET", f"/appointments/{self.appointment_id}/call")
        except CallApiError as exc:
            if exc.status == 404:
                return None
            raise
        self.ice_servers = list(call.get("ice_servers") or [])
        self._ice_fetched_at = time.monotonic()
        for seg in call.get("segments") or []:
            self._note_segment(seg)
        if call.get("segment"):
            self._note_segment(call["segment"])
        return call

    async def _post_signal(self, segment_id: int, kind: str, **body: Any) -> Any:
        return await self._request("POST", f"/appointments/{self.appointment_id}/call/signals",
                                   json_body={"segment_id": segment_id, "type": kind, **body})

    def _note_segment(self, seg: dict[str, Any]) -> _SegmentSeen:
        sid = int(seg.get("id", seg.get("segment_id")))
        s = self.segments.setdefault(sid, _SegmentSeen(sid))
        if seg.get("seq") is not None:
            s.seq = int(seg["seq"])
        if seg.get("state"):
            s.state = seg["state"]
        if seg.get("end_reason") or seg.get("reason"):
            s.end_reason = seg.get("end_reason") or seg.get("reason")
        return s

    # --- the stream ------------------------------------------------------------------------------------------

    async def _stream_once(self) -> None:
        assert self._client is not None
        headers = {**self._headers(), "Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = str(self.last_event_id)
        url = f"{self.base_url}{API}/appointments/{self.appointment_id}/call/events"
        # keep-alive comments come every 5 s: 20 s of silence is a dead line
        timeout = httpx.Timeout(10.0, read=20.0)
        async with self._client.stream("GET", url, headers=headers, timeout=timeout) as r:
            if r.status_code != 200:
                text = (await r.aread()).decode(errors="replace")[:300]
                try:
                    code = json.loads(text).get("code", "http_error")
                except (ValueError, AttributeError):
                    code = "http_error"
                if r.status_code in (401, 403, 404):
                    raise _StreamFatal(f"{r.status_code} {code}")
                raise CallApiError(r.status_code, code, text)
            first = True
            async for event_id, kind, data in iter_sse(r):
                if first:
                    # the server's first frame (a ``cursor`` after its catch-up) says it is subscribed: from
                    # here on nothing is missed, so what came before is read from the call itself (a reloaded
                    # page finds a pending offer there)
                    first = False
                    self.stream_open = True
                    self.stream_opens += 1
                    self._log.info("%s: call stream open (after event %s)", self.name, self.last_event_id)
                    await self._reconcile()
                await self._dispatch(event_id, kind, data)

    async def _dispatch(self, event_id: str | None, kind: str, data: str) -> None:
        try:
            body = json.loads(data)
        except ValueError:
            self._log.warning("%s: unreadable event %s: %r", self.name, kind, data[:200])
            return
        self.events_received += 1
        payload = body.get("payload", body) if isinstance(body, dict) else {}
        payload = payload if isinstance(payload, dict) else {}
        try:
            await self._handle(kind, payload, body)
        except (_StreamFatal, asyncio.CancelledError, httpx.HTTPError):
            raise
        except Exception as exc:  # noqa: BLE001 - one bad event (an unusable offer) must not end the phone
            self._log.warning("%s: handling %s failed: %s: %s", self.name, kind, type(exc).__name__, exc)
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
        finally:
            if event_id is not None and event_id.isdigit():
                self.last_event_id = int(event_id)
            elif kind == "cursor" and isinstance(body, dict) and body.get("last_id") is not None:
                self.last_event_id = int(body["last_id"])

    async def _handle(self, kind: str, payload: dict[str, Any], body: Any) -> None:
        if kind in ("call.invited", "call.connected", "call.interrupted", "call.ended"):
            seg = self._note_segment({**payload, "state": kind.split(".", 1)[1]})
            self._log.info("%s: %s segment %s (seq %s)%s", self.name, kind, seg.id, seg.seq,
                           f" {payload.get('reason')}" if payload.get("reason") else "")
            if kind == "call.invited":
                self._say(f"the doctor is calling (segment {seg.seq})")
                # the offer may be in the call already (it usually comes as a signal next)
                if self._peer is None or self._peer.segment_id != seg.id:
                    await self._reconcile()
            elif kind == "call.connected":
                self._say("video connected")
            elif kind == "call.interrupted":
                self._say(f"the call is interrupted ({payload.get('reason')})")
            elif kind == "call.ended":
                self._say(f"the call ended ({payload.get('reason')})")
                if self._peer is not None and self._peer.segment_id == seg.id:
                    await self._close_peer(f"segment ended: {payload.get('reason')}")
        elif kind == "call.signal":
            if payload.get("from", "doctor") != "doctor":
                return
            segment_id = int(payload["segment_id"])
            typ = payload.get("type")
            if typ == "offer":
                await self._answer(segment_id, payload.get("description") or {})
            elif typ == "candidate":
                await self._add_candidate(segment_id, payload.get("candidate"))
            elif typ == "hangup" and self._peer is not None and self._peer.segment_id == segment_id:
                await self._close_peer("the doctor hung up")
        elif kind == "consent.requested":
            request_id = int(payload["request_id"])
            if request_id not in self._consent_seen:
                self._consent_seen.add(request_id)
                self._spawn(self._answer_consent(request_id, payload.get("version")), "consent answer")
        elif kind == "consent.answered":
            self._log.info("%s: consent %s answered (agree=%s)", self.name, payload.get("request_id"),
                           payload.get("agree"))
        elif kind == "resync":
            await self._reconcile()
        elif kind == "session_expired":
            raise _StreamFatal("session expired")

    async def _reconcile(self) -> None:
        """Bring the phone in line with the call as the server has it: answer a pending offer not yet answered,
        drop a peer connection whose segment has ended, answer a consent request still pending."""
        call = await self._get_call()
        if not call:
            return
        seg = call.get("segment")
        if self._peer is not None:
            mine = self.segments.get(self._peer.segment_id)
            if mine is not None and mine.state == "ended":
                await self._close_peer("segment ended")
        if seg and seg.get("state") == "invited" and seg.get("offer"):
            await self._answer(int(seg["id"]), seg["offer"])
        try:
            consent = await self._request("GET", f"/appointments/{self.appointment_id}/consent")
        except CallApiError as exc:
            if exc.status != 404:
                raise
            return
        request_id = int(consent["id"])
        if consent.get("state") == "requested" and request_id not in self._consent_seen:
            self._consent_seen.add(request_id)
            self._spawn(self._answer_consent(request_id, consent.get("version")), "consent answer")

    # --- the peer connection -----------------------------------------------------------------------------------

    async def _answer(self, segment_id: int, offer: dict[str, Any]) -> None:
        assert self._peer_lock is not None
        async with self._peer_lock:
            seen = self.segments.setdefault(segment_id, _SegmentSeen(segment_id))
            if seen.answered or seen.state == "ended" or offer.get("type") != "offer" or not offer.get("sdp"):
                return
            seen.answered = True
            if self._peer is not None:
                await self._close_peer_locked("a new invitation")
            if time.monotonic() - self._ice_fetched_at > 30:  # TURN credentials may be short-lived
                await self._get_call()
            config = RTCConfiguration(iceServers=[
                RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                for s in self.ice_servers if s.get("urls")])  # [] and not None: aiortc's default is a public STUN
            pc = RTCPeerConnection(configuration=config)
            peer = _Peer(segment_id, pc)
            self._peer = peer
            self.pc_state = pc.connectionState
            self._wire(peer)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
            peer.remote_set = True
            kinds = {t.kind for t in pc.getTransceivers()}
            if self.send_video and "video" in kinds:
                self.sent_video = MarkerVideoTrack(*self.video_size, fps=self.fps)
                pc.addTrack(self.sent_video)
            if self.send_audio and "audio" in kinds:
                self.sent_audio = ToneAudioTrack()
                pc.addTrack(self.sent_audio)
            for cand in peer.pending:
                await self._apply_candidate(peer, cand)
            peer.pending.clear()
            await pc.setLocalDescription(await pc.createAnswer())
            desc = pc.localDescription
            try:
                await self._post_signal(segment_id, "answer", description={"type": desc.type, "sdp": desc.sdp})
            except CallApiError as exc:
                self._log.info("%s: answer refused: %s", self.name, exc)
                self.errors.append(f"answer: {exc}")
                if exc.code == "call_segment_closed":
                    await self._close_peer_locked("the segment closed before the answer")
                return
            self.answers_sent += 1
            self._say(f"answered the video call (segment {seen.seq or segment_id})")

    def _wire(self, peer: _Peer) -> None:
        pc = peer.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            meter = self.video if track.kind == "video" else self.audio
            self._log.info("%s: receiving the doctor's %s", self.name, track.kind)
            task = self._spawn(consume(track, meter), f"{track.kind} receive")
            peer.tasks.add(task)

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            self.channels.append(channel.label)
            self._log.info("%s: data channel %r opened by the doctor", self.name, channel.label)

            @channel.on("message")
            def on_message(message: str | bytes) -> None:
                if channel.readyState == "open" and not peer.closed:
                    channel.send(message)  # the heartbeat's echo: at once, the same text
                    self.echoes += 1

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if peer is not self._peer:
                return
            self.pc_state = pc.connectionState
            self._log.info("%s: peer connection %s (segment %s)", self.name, pc.connectionState, peer.segment_id)
            if pc.connectionState == "failed":
                self._spawn(self._close_peer("ICE/DTLS failed"), "close")

    async def _add_candidate(self, segment_id: int, cand: Any) -> None:
        assert self._peer_lock is not None
        async with self._peer_lock:
            peer = self._peer
            if peer is None or peer.segment_id != segment_id:
                seen = self.segments.get(segment_id)
                if seen is None or not seen.answered:
                    # the offer has not been seen yet: the candidate waits for its peer connection
                    peer = None
                self._log.debug("%s: candidate for segment %s held or ignored", self.name, segment_id)
                if peer is None:
                    return
            if not peer.remote_set:
                peer.pending.append(cand)
                return
            await self._apply_candidate(peer, cand)

    async def _apply_candidate(self, peer: _Peer, cand: Any) -> None:
        if cand is None or not isinstance(cand, dict) or not cand.get("candidate"):
            await peer.pc.addIceCandidate(None)  # end of candidates
            return
        sdp = cand["candidate"]
        sdp = sdp.split(":", 1)[1] if sdp.startswith("candidate:") else sdp
        try:
            candidate = candidate_from_sdp(sdp)
        except (AssertionError, ValueError, IndexError) as exc:
            self._log.info("%s: unreadable candidate %r: %s", self.name, cand, exc)
            return
        candidate.sdpMid = cand.get("sdpMid")
        candidate.sdpMLineIndex = cand.get("sdpMLineIndex")
        if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
            candidate.sdpMLineIndex = 0
        await peer.pc.addIceCandidate(candidate)
        self.candidates_applied += 1

    async def _close_peer(self, why: str, *, silent: bool = False) -> None:
        if self._peer_lock is None:
            return
        async with self._peer_lock:
            await self._close_peer_locked(why, silent=silent)

    async def _close_peer_locked(self, why: str, *, silent: bool = False) -> None:
        peer, self._peer = self._peer, None
        if peer is None or peer.closed:
            return
        peer.closed = True
        self._log.info("%s: closing the peer connection of segment %s (%s)", self.name, peer.segment_id, why)
        if silent:
            await _silence(peer.pc)
        try:
            await asyncio.wait_for(peer.pc.close(), 5.0)
        except Exception as exc:  # noqa: BLE001 - a half-closed connection is still closed for us
            self._log.debug("%s: closing: %s: %s", self.name, type(exc).__name__, exc)
        self.pc_state = "closed"
        for task in list(peer.tasks):
            task.cancel()
        if peer.tasks:
            await asyncio.gather(*peer.tasks, return_exceptions=True)

    # --- consent -----------------------------------------------------------------------------------------------

    async def _answer_consent(self, request_id: int, version: Any) -> None:
        record: dict[str, Any] = {"request_id": request_id, "version": version, "agree": self.agree,
                                  "result": "pending"}
        self.consents.append(record)
        if self.agree is None:
            record["result"] = "ignored"
            return
        await asyncio.sleep(self.consent_delay_s)
        try:
            consent = await self._request("GET", f"/appointments/{self.appointment_id}/consent")
            if int(consent["id"]) != request_id or consent.get("state") != "requested":
                record["result"] = f"not pending ({consent.get('state')})"
                return
            record["version"] = consent.get("version", version)
            await self._request("POST", f"/appointments/{self.appointment_id}/consent",
                                json_body={"request_id": request_id, "version": record["version"],
                                           "agree": self.agree})
        except CallApiError as exc:
            record["result"] = exc.code
            self._log.info("%s: consent %s: %s", self.name, request_id, exc)
            return
        record["result"] = "answered"
        self._say(f"{'agreed to' if self.agree else 'declined'} the consent (v{record['version']})")


async def _silence(pc: RTCPeerConnection) -> None:
    """Close the ICE sockets of ``pc`` without a word to the other side (no DTLS close_notify or RTCP BYE can
    get out afterwards)."""
    transports = []
    for t in pc.getTransceivers():
        dtls = t.receiver.transport
        if dtls is not None and dtls.transport not in transports:
            transports.append(dtls.transport)
    if pc.sctp is not None and pc.sctp.transport.transport not in transports:
        transports.append(pc.sctp.transport.transport)
    for ice in transports:
        with contextlib.suppress(Exception):
            await ice.stop()


# ----------------------------------------------------------------------------------------- in its own thread


class PatientCallThread:
    """A :class:`PatientCall` on an asyncio loop of its own in a daemon thread, for synchronous callers (the
    simulator). Same arguments as :class:`PatientCall`. ``start()``, ``stop()``, and thread-safe ``stats()``,
    ``hangup()``, ``drop()``, ``reconnect()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.call = PatientCall(*args, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=self.call.name, daemon=True)

    def start(self) -> PatientCallThread:
        self._thread.start()
        self._ready.wait(10)
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.call_soon(self._ready.set)
            loop.run_until_complete(self.call.run())
        except Exception:
            log.exception("%s: the call loop failed", self.call.name)
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def _submit(self, coro_fn: Callable[[], Awaitable[Any]], timeout: float) -> Any:
        loop = self._loop
        if loop is None or loop.is_closed() or not self._thread.is_alive():
            raise RuntimeError("the patient call is not running")

        async def wrapped() -> Any:
            return await coro_fn()

        return asyncio.run_coroutine_threadsafe(wrapped(), loop).result(timeout)

    def stats(self, timeout: float = 5.0) -> dict[str, Any]:
        try:
            return self._submit(lambda: _as_coro(self.call.stats), timeout)
        except RuntimeError:
            return self.call.stats()

    def hangup(self, timeout: float = 10.0) -> bool:
        return bool(self._submit(self.call.hangup, timeout))

    def drop(self, *, offline_s: float | None = None, silent: bool = True, timeout: float = 10.0) -> None:
        self._submit(lambda: self.call.drop(offline_s=offline_s, silent=silent), timeout)

    def reconnect(self) -> None:
        self._submit(lambda: _as_coro(self.call.reconnect), 5.0)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the call and wait for its thread (True when it ended within ``timeout``)."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.call.stop)
        self._thread.join(timeout)
        return not self._thread.is_alive()


async def _as_coro(fn: Callable[[], Any]) -> Any:
    return fn()


def frame_build_cost_ms(frames: int = 300, width: int = 640, height: int = 480) -> float:
    """The mean cost of building one marked frame (ms), for the report and the tests."""
    track = MarkerVideoTrack(width, height)
    track.build_frame(0)
    t0 = time.perf_counter()
    for n in range(1, frames + 1):
        track.build_frame(n)
    return (time.perf_counter() - t0) * 1000 / frames


__all__ = [
    "BLOCK",
    "MARKER_BITS",
    "CallApiError",
    "FrameMeter",
    "Marker",
    "MarkerVideoTrack",
    "PatientCall",
    "PatientCallThread",
    "ToneAudioTrack",
    "consume",
    "decode_marker",
    "frame_build_cost_ms",
    "iter_sse",
    "latency_ms",
    "marker_bits",
    "marker_geometry",
]
