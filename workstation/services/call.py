"""One video visit on the doctor's side: a WebRTC call with aiortc on the qasync loop (the GUI thread).

The doctor calls: ``POST /staff/appointments/{id}/call`` opens a segment, this side makes the offer and posts it;
the patient's answer and candidates arrive through the staff event stream (``call.signal``, via the change hub).
Every invitation is a new segment and a new peer connection. Plain WebRTC throughout (descriptions and candidates
in the browser's shapes), so a browser can be the patient without changes.

Line health: a data channel ``heartbeat`` carries a ping every 0.5 s that the patient echoes. With neither an echo
nor a picture for ``DROP_AFTER_S`` the line counts as dropped: the segment is reported ``interrupted``
(``line_dropped``), and the panel offers "invite again". The server also ends or interrupts segments on its own
(the patient's page closed, no answer, the visit finished); those arrive as events and win.

Media never queues: sources are paced by the clock and skip late frames (``media/sources.py``); received pictures
are read continuously and only the newest is converted for the screen (``media/remote.py``).
"""
from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from PySide6.QtCore import QObject, QTimer, Signal

from workstation.services.api import ApiError, NetworkError, new_idempotency_key
from workstation.services.media.remote import (
    Picture,
    RateMeter,
    RemotePicture,
    RemoteSound,
    picture_from_frame,
)
from workstation.services.media.sources import (
    AUTO,
    AudioSource,
    Outgoing,
    ScreenSource,
    ShareTarget,
    VideoSource,
    open_sources,
)
from workstation.services.ops import run_in

log = logging.getLogger(__name__)

HEARTBEAT_S = 0.5
DROP_AFTER_S = 3.0
QUALITY_EVERY_MS = 1000
SELF_VIEW_EVERY = 2  # every 2nd outgoing frame goes to the self view (15 fps is plenty for a thumbnail)

# client states (what the panel shows); the server's segment states are invited/connected/interrupted/ended
IDLE, CALLING, RINGING, CONNECTING, CONNECTED, INTERRUPTED, ENDED = (
    "idle", "calling", "ringing", "connecting", "connected", "interrupted", "ended")
LIVE_STATES = (CALLING, RINGING, CONNECTING, CONNECTED)


@dataclass(slots=True)
class Quality:
    """The line as the panel shows it. ``level``: good | fair | poor | unknown."""

    level: str = "unknown"
    rtt_ms: float | None = None
    fps_in: float = 0.0
    loss_pct: float | None = None
    kbps_in: float | None = None


def grade(q: Quality) -> str:
    if q.rtt_ms is None and q.fps_in == 0:
        return "unknown"
    loss = q.loss_pct or 0.0
    rtt = q.rtt_ms if q.rtt_ms is not None else 0.0
    if rtt <= 200 and loss <= 2 and q.fps_in >= 20:
        return "good"
    if rtt <= 500 and loss <= 8 and q.fps_in >= 10:
        return "fair"
    return "poor"


@dataclass(slots=True)
class _Line:
    """One segment's peer connection and what is known about it."""

    segment_id: int
    seq: int
    pc: RTCPeerConnection
    video_sender: Any = None
    channel: Any = None
    started: float = field(default_factory=time.monotonic)
    connected_at: float | None = None  # monotonic
    last_echo: float | None = None
    rtts: deque[float] = field(default_factory=lambda: deque(maxlen=10))
    ping_seq: int = 0
    answered: bool = False
    reported_connected: bool = False
    closed: bool = False
    last_stats: tuple[int, int, int] | None = None  # packets received, packets lost, bytes received
    last_stats_at: float | None = None


class CallSession(QObject):
    """The call with one patient (one appointment), across as many segments (re-invites) as it takes."""

    sig_state = Signal(str, str)  # state, reason ("" when none)
    sig_remote_picture = Signal(object)  # Picture
    sig_local_picture = Signal(object)  # Picture (self view)
    sig_quality = Signal(object)  # Quality
    sig_consent = Signal(object)  # the server's Consent dict
    sig_notice = Signal(str)  # device notices and refusals, worded for the doctor
    sig_call = Signal(object)  # the server's Call dict (segments) after each change
    sig_sharing = Signal(bool)

    def __init__(self, *, api: Any, hub: Any, appointment_id: int, video_source: str = AUTO,
                 audio_source: str = AUTO, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.api = api
        self.hub = hub
        self.appointment_id = appointment_id
        self.state = IDLE
        self.reason = ""
        self.call_info: dict[str, Any] | None = None
        self.consent: dict[str, Any] | None = None
        self.line: _Line | None = None
        self.muted = False
        self.camera_off = False
        self.sharing: ScreenSource | None = None
        self._video_choice, self._audio_choice = video_source, audio_source
        self.video: VideoSource | None = None
        self.audio: AudioSource | None = None
        self.remote = RemotePicture(parent=self)
        self.remote.sig_picture.connect(self.sig_remote_picture)
        self.sound = RemoteSound(parent=self)
        self._self_view_n = 0
        self._out_meter = RateMeter()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._closed = False
        self._last_beat: float | None = None
        hub.sig_events.connect(self._on_events)
        self._heartbeat = QTimer(self)
        self._heartbeat.setInterval(int(HEARTBEAT_S * 1000))
        self._heartbeat.timeout.connect(self._beat)
        self._quality_timer = QTimer(self)
        self._quality_timer.setInterval(QUALITY_EVERY_MS)
        self._quality_timer.timeout.connect(lambda: self._spawn(self._measure()))

    # --- what the panel calls --------------------------------------------------------------------------------

    def start(self) -> None:
        """Call (or invite again): a new segment with a new peer connection."""
        if self._closed or self.state in (CALLING,):
            return
        self._spawn(self._invite())

    def hang_up(self) -> None:
        self._spawn(self._hang_up())

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if self.audio is not None:
            self.audio.enabled = not muted

    def set_camera_off(self, off: bool) -> None:
        self.camera_off = off
        if self.video is not None:
            self.video.enabled = not off

    def share(self, target: ShareTarget | None) -> None:
        """Send ``target`` (a screen or one window) instead of the camera; ``None`` goes back to the camera. The
        sender's track is replaced in place: no renegotiation, the call goes on."""
        line = self.line
        if self.sharing is not None:
            self.sharing.stop()
            self.sharing = None
        if target is not None:
            self.sharing = ScreenSource(target)
            self.sharing.on_frame = self._self_view
        if line is not None and line.video_sender is not None and self.video is not None:
            line.video_sender.replaceTrack(Outgoing(self.sharing or self.video))
        self.sig_sharing.emit(self.sharing is not None)

    def request_consent(self) -> None:
        self._spawn(self._request_consent())

    def close(self) -> None:
        """The panel goes away: hang up if live, free the devices. Safe to call twice."""
        if self._closed:
            return
        if self.state in LIVE_STATES:
            self._spawn(self._hang_up())
        self._closed = True
        try:
            self.hub.sig_events.disconnect(self._on_events)
        except (RuntimeError, TypeError):
            pass
        self._heartbeat.stop()
        self._quality_timer.stop()
        self._spawn(self._shutdown())

    def live(self) -> bool:
        return self.state in LIVE_STATES

    # --- plumbing ----------------------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("call task failed: %r", exc, exc_info=exc)

    def _set_state(self, state: str, reason: str = "") -> None:
        if (state, reason) == (self.state, self.reason):
            return
        self.state, self.reason = state, reason
        log.info("call %s: %s %s", self.appointment_id, state, reason)
        if state == CONNECTED:
            self._quality_timer.start()
        elif state in (INTERRUPTED, ENDED):
            self._quality_timer.stop()
            self.sig_quality.emit(Quality())
            if self.video is not None:
                self.video.pause()  # no call, no camera
        self.sig_state.emit(state, reason)

    def _ensure_sources(self) -> None:
        if self.video is not None:
            return
        self.video, self.audio, report = open_sources(self._video_choice, self._audio_choice)
        self.video.enabled = not self.camera_off
        self.audio.enabled = not self.muted
        self.video.on_frame = self._self_view
        if report.notice:
            self.sig_notice.emit(report.notice)

    def _self_view(self, frame: Any) -> None:
        self._out_meter.tick()
        self._self_view_n += 1
        if self._self_view_n % SELF_VIEW_EVERY == 0:
            self.sig_local_picture.emit(picture_from_frame(frame))

    async def _api(self, fn: Any, *args: Any, **kw: Any) -> Any:
        return await run_in("net", fn, *args, **kw)

    def _refused(self, exc: BaseException) -> None:
        if isinstance(exc, ApiError):
            self.sig_notice.emit(exc.message)
        elif isinstance(exc, NetworkError):
            self.sig_notice.emit(str(exc))
        else:
            raise exc

    # --- the call's steps ----------------------------------------------------------------------------------------

    async def _invite(self) -> None:
        await self._close_line()
        self._set_state(CALLING)
        self._ensure_sources()
        assert self.video is not None
        self.video.resume()
        try:
            call = await self._api(self.api.start_call, self.appointment_id, key=new_idempotency_key())
        except (ApiError, NetworkError) as exc:
            self._set_state(ENDED if self.line is None else self.state, "refused")
            self._refused(exc)
            return
        self._take_call(call)
        segment = call.get("segment") or {}
        servers = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
                   for s in call.get("ice_servers") or []]
        # an empty list, not None: with None aiortc falls back to a public STUN server abroad
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        line = _Line(segment_id=int(segment["id"]), seq=int(segment.get("seq") or 1), pc=pc)
        self.line = line
        assert self.video is not None and self.audio is not None
        line.video_sender = pc.addTrack(Outgoing(self.sharing or self.video))
        pc.addTrack(Outgoing(self.audio))
        line.channel = pc.createDataChannel("heartbeat", ordered=False, maxRetransmits=0)
        line.channel.on("message", lambda message: self._echo(line, message))
        pc.on("track", lambda track: self._remote_track(line, track))
        pc.on("connectionstatechange", lambda: self._pc_state(line))
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)  # aiortc gathers every candidate here: they are in the SDP
        if line.closed:
            return
        description = {"type": pc.localDescription.type, "sdp": pc.localDescription.sdp}
        try:
            await self._api(self.api.call_signal, self.appointment_id,
                            {"segment_id": line.segment_id, "type": "offer", "description": description},
                            key=new_idempotency_key())
        except (ApiError, NetworkError) as exc:
            self._refused(exc)
            await self._close_line()
            self._set_state(INTERRUPTED, "failed")
            return
        if self.line is line and self.state == CALLING:
            self._set_state(RINGING)
        self._last_beat = None
        self._heartbeat.start()

    def _take_call(self, call: dict[str, Any]) -> None:
        self.call_info = call
        self.sig_call.emit(call)

    async def _answer(self, line: _Line, description: dict[str, Any]) -> None:
        if line.answered or line.closed:
            return
        line.answered = True
        await line.pc.setRemoteDescription(RTCSessionDescription(sdp=description["sdp"], type=description["type"]))
        if self.line is line and self.state in (CALLING, RINGING):
            self._set_state(CONNECTING)

    async def _candidate(self, line: _Line, candidate: dict[str, Any] | None) -> None:
        if line.closed or candidate is None or not candidate.get("candidate"):
            return  # aiortc gathers everything up front; an end-of-candidates mark needs nothing
        text = str(candidate["candidate"])
        c = candidate_from_sdp(text.split(":", 1)[1] if text.startswith("candidate:") else text)
        c.sdpMid = candidate.get("sdpMid")
        c.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await line.pc.addIceCandidate(c)

    def _remote_track(self, line: _Line, track: Any) -> None:
        if line is not self.line:
            return
        if track.kind == "video":
            self.remote.attach(track)
        else:
            self.sound.attach(track)

    def _pc_state(self, line: _Line) -> None:
        if line is not self.line or line.closed:
            return
        state = line.pc.connectionState
        if state == "connected":
            line.connected_at = time.monotonic()
            line.last_echo = time.monotonic()
            self._set_state(CONNECTED)
            if not line.reported_connected:
                line.reported_connected = True
                self._spawn(self._report(line, "connected"))
        elif state == "failed" and self.state in LIVE_STATES:
            self._spawn(self._lost(line, "failed"))

    def _echo(self, line: _Line, message: Any) -> None:
        now = time.monotonic()
        line.last_echo = now
        if isinstance(message, str) and message.startswith("ping "):
            try:
                sent = float(message.split()[2])
            except (IndexError, ValueError):
                return
            line.rtts.append((now - sent) * 1000)

    def _beat(self) -> None:
        line = self.line
        if line is None or line.closed:
            return
        now = time.monotonic()
        late = self._last_beat is not None and now - self._last_beat > HEARTBEAT_S + 1.0
        self._last_beat = now
        if late:
            # this process itself stalled (a busy machine, a modal dialog's long paint): the echoes and
            # pictures are likely waiting in the socket; read them before judging the line
            return
        if line.channel is not None and line.channel.readyState == "open":
            line.ping_seq += 1
            line.channel.send(f"ping {line.ping_seq} {now:.6f}")
        if self.state == CONNECTED:
            heard = max(filter(None, (line.last_echo, self.remote.meter.last(), line.connected_at)))
            if now - heard > DROP_AFTER_S:
                self._spawn(self._lost(line, "line_dropped"))

    async def _lost(self, line: _Line, reason: str) -> None:
        if line is not self.line or self.state not in LIVE_STATES:
            return
        self._set_state(INTERRUPTED, reason)
        await self._close_line()
        await self._report(line, "interrupted", reason)

    async def _report(self, line: _Line, state: str, reason: str | None = None) -> None:
        try:
            call = await self._api(self.api.call_state, self.appointment_id, line.segment_id, state,
                                   reason=reason, key=new_idempotency_key())
        except ApiError as exc:
            if exc.code != "invalid_state":  # the server already moved on (the patient left first): fine
                self._refused(exc)
            return
        except NetworkError as exc:
            self._refused(exc)
            return
        self._take_call(call)

    async def _hang_up(self) -> None:
        line = self.line
        self._set_state(ENDED, "doctor_ended")
        await self._close_line()
        if line is None:
            return
        try:
            await self._api(self.api.call_signal, self.appointment_id,
                            {"segment_id": line.segment_id, "type": "hangup"}, key=new_idempotency_key())
        except ApiError as exc:
            if exc.code != "call_segment_closed":
                self._refused(exc)
        except NetworkError as exc:
            self._refused(exc)
        await self._refresh_call()

    async def _refresh_call(self) -> None:
        try:
            self._take_call(await self._api(self.api.call, self.appointment_id))
        except (ApiError, NetworkError):
            pass

    async def _close_line(self) -> None:
        line = self.line
        if line is None or line.closed:
            return
        line.closed = True
        self._heartbeat.stop()
        self.remote.detach()
        self.sound.detach()
        await line.pc.close()

    async def _shutdown(self) -> None:
        await self._close_line()
        for source in (self.sharing, self.video, self.audio):
            if source is not None:
                source.stop()

    async def _request_consent(self) -> None:
        try:
            consent = await self._api(self.api.request_consent, self.appointment_id, key=new_idempotency_key())
        except (ApiError, NetworkError) as exc:
            self._refused(exc)
            return
        self.consent = consent
        self.sig_consent.emit(consent)

    async def _refresh_consent(self) -> None:
        try:
            consent = await self._api(self.api.consent, self.appointment_id)
        except (ApiError, NetworkError):
            return
        self.consent = consent
        self.sig_consent.emit(consent)

    # --- the server's word (stream events via the hub) ---------------------------------------------------------

    def _on_events(self, batch: list[dict[str, Any]]) -> None:
        for event in batch:
            kind = str(event.get("kind", ""))
            if not kind.startswith(("call.", "consent.")):
                continue
            payload = event.get("payload") or {}
            if payload.get("appointment_id") != self.appointment_id:
                continue
            self._on_event(kind, payload)

    def _on_event(self, kind: str, payload: dict[str, Any]) -> None:
        line = self.line
        ours = line is not None and payload.get("segment_id") == line.segment_id
        if kind == "call.signal" and ours and payload.get("from") == "patient":
            assert line is not None
            kind_ = payload.get("type")
            if kind_ == "answer" and payload.get("description"):
                self._spawn(self._answer(line, payload["description"]))
            elif kind_ == "candidate":
                self._spawn(self._candidate(line, payload.get("candidate")))
            elif kind_ == "hangup":
                self._spawn(self._ended_by_server(line, "patient_hung_up"))
        elif kind == "call.interrupted" and ours:
            assert line is not None
            self._spawn(self._interrupted_by_server(line, str(payload.get("reason") or "patient_left")))
        elif kind == "call.ended" and ours:
            assert line is not None
            self._spawn(self._ended_by_server(line, str(payload.get("reason") or "")))
        elif kind in ("consent.answered", "consent.requested"):
            self._spawn(self._refresh_consent())

    async def _interrupted_by_server(self, line: _Line, reason: str) -> None:
        if line is self.line and self.state in LIVE_STATES:
            self._set_state(INTERRUPTED, reason)
            await self._close_line()
        await self._refresh_call()

    async def _ended_by_server(self, line: _Line, reason: str) -> None:
        if line is self.line and self.state != ENDED:
            # a segment the line dropped stays "interrupted" on the panel: re-invite is what the doctor needs
            if self.state != INTERRUPTED:
                self._set_state(ENDED, reason)
            await self._close_line()
        await self._refresh_call()

    # --- line quality ----------------------------------------------------------------------------------------

    async def _measure(self) -> None:
        line = self.line
        if line is None or line.closed or self.state != CONNECTED:
            return
        q = Quality(fps_in=self.remote.meter.rate())
        if line.rtts:
            q.rtt_ms = statistics.median(line.rtts)
        try:
            report = await line.pc.getStats()
        except Exception:  # noqa: BLE001 - statistics are a nicety; a closing connection may refuse them
            report = {}
        received = lost = octets = 0
        for stat in report.values():
            kind = getattr(stat, "type", "")
            if kind == "inbound-rtp" and getattr(stat, "kind", "") == "video":
                received += int(getattr(stat, "packetsReceived", 0) or 0)
                lost += max(0, int(getattr(stat, "packetsLost", 0) or 0))
            elif kind == "transport":  # aiortc counts bytes per transport, not per RTP stream
                octets += int(getattr(stat, "bytesReceived", 0) or 0)
        now = time.monotonic()
        if line.last_stats is not None and line.last_stats_at is not None:
            d_recv, d_lost = received - line.last_stats[0], lost - line.last_stats[1]
            if d_recv + d_lost > 0:
                q.loss_pct = 100.0 * d_lost / (d_recv + d_lost)
            q.kbps_in = (octets - line.last_stats[2]) * 8 / 1000 / max(now - line.last_stats_at, 1e-3)
        line.last_stats, line.last_stats_at = (received, lost, octets), now
        q.level = grade(q)
        self.sig_quality.emit(q)

    def connected_seconds(self) -> float:
        line = self.line
        if line is None or line.connected_at is None or self.state != CONNECTED:
            return 0.0
        return time.monotonic() - line.connected_at


__all__ = ["CONNECTED", "ENDED", "INTERRUPTED", "CallSession", "Picture", "Quality", "grade"]
