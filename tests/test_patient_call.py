"""The simulated patient's phone in a video visit (server/patient_call.py).

The media part runs through a real aiortc loopback (VP8 and Opus encode, UDP on loopback, decode); the call part
drives the real server (the ``live_server`` process) with a bare aiortc peer connection as the doctor, through
the staff HTTP routes and the doctor's event stream.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from typing import Any

import av
import httpx
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from server.patient_call import (
    BLACK,
    BLOCK,
    WHITE,
    FrameMeter,
    Marker,
    MarkerVideoTrack,
    PatientCall,
    ToneAudioTrack,
    consume,
    decode_marker,
    frame_build_cost_ms,
    iter_sse,
    marker_bits,
)

# --- the marker ------------------------------------------------------------------------------------------------


@pytest.mark.db_independent
def test_marker_reads_back_from_every_form_of_a_frame() -> None:
    track = MarkerVideoTrack()
    m = Marker(0xDEADBEEF, 1_780_000_000_123_456)
    frame = track.build_frame(m.counter, sent_us=m.sent_us)
    assert (frame.width, frame.height, frame.format.name) == (640, 480, "yuv420p")
    assert frame.pts == m.counter * 3000 and frame.time_base == Fraction(1, 90000)  # frame n at n / 30 s
    assert decode_marker(frame) == m
    assert decode_marker(frame.to_ndarray(format="rgb24")) == m
    assert decode_marker(frame.to_ndarray(format="yuv420p")) == m  # a whole yuv420p array: luma first
    assert decode_marker(frame.to_ndarray(format="gray")) == m
    # another size has its own layout
    small = MarkerVideoTrack(320, 240).build_frame(7, sent_us=123)
    assert decode_marker(small) == Marker(7, 123)
    # a frame without a marker
    assert decode_marker(av.VideoFrame(640, 480, "yuv420p")) is None
    assert decode_marker(np.full((480, 640), 128, dtype=np.uint8)) is None
    assert decode_marker(np.full((480, 640, 3), 255, dtype=np.uint8)) is None


@pytest.mark.db_independent
def test_marker_checksum_rejects_a_misread_bit() -> None:
    m = Marker(42, 1_780_000_000_000_000)
    y = MarkerVideoTrack().build_frame(m.counter, sent_us=m.sent_us).to_ndarray(format="gray")
    bits = marker_bits(m)
    for i in (0, 31, 32, 87, 88, 119):  # in the counter, the time and the checksum
        bad = y.copy()
        r, c = divmod(i, 640 // BLOCK)
        bad[r * BLOCK:(r + 1) * BLOCK, c * BLOCK:(c + 1) * BLOCK] = BLACK if bits[i] else WHITE
        assert decode_marker(bad) is None, i
    # noise that leaves every block on its side of the threshold reads back
    noisy = y.astype(np.int16) + np.random.default_rng(1).integers(-60, 61, size=y.shape)
    assert decode_marker(np.clip(noisy, 0, 255).astype(np.uint8)) == m


@pytest.mark.db_independent
def test_building_a_frame_is_cheap() -> None:
    cost = frame_build_cost_ms(200)
    assert cost < 2.0, f"{cost:.3f} ms a frame"


async def _loopback(seconds: float, keep: int = 5) -> tuple[FrameMeter, list[av.VideoFrame], list[Marker],
                                                            FrameMeter, MarkerVideoTrack]:
    """One peer connection sends the marker video and the tone to another for ``seconds``."""
    config = RTCConfiguration(iceServers=[])
    sender, receiver = RTCPeerConnection(configuration=config), RTCPeerConnection(configuration=config)
    track = MarkerVideoTrack()
    sender.addTrack(track)
    sender.addTrack(ToneAudioTrack())
    video, audio = FrameMeter("video"), FrameMeter("audio")
    frames: list[av.VideoFrame] = []
    markers: list[Marker] = []
    tasks: list[asyncio.Task] = []

    def on_video(frame: Any, marker: Marker | None) -> None:
        if len(frames) < keep:
            frames.append(frame)
        if marker is not None:
            markers.append(marker)

    @receiver.on("track")
    def on_track(t: Any) -> None:
        if t.kind == "video":
            tasks.append(asyncio.ensure_future(consume(t, video, on_video)))
        else:
            tasks.append(asyncio.ensure_future(consume(t, audio)))

    try:
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await asyncio.sleep(seconds)
    finally:
        await sender.close()
        await receiver.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    return video, frames, markers, audio, track


@pytest.mark.db_independent
def test_marker_survives_vp8_through_an_aiortc_loopback() -> None:
    t0 = time.time()
    video, frames, markers, audio, track = asyncio.run(_loopback(3.0))
    assert video.frames >= 20, video.summary()  # 90 on an idle machine
    assert video.unmarked == 0, video.summary()  # every decoded frame read back intact
    counters = [m.counter for m in markers]
    assert counters == sorted(set(counters)), counters  # strictly increasing
    # gaps are frames the sender skipped (its encoder late on a busy machine), counted as lost
    assert counters[-1] - counters[0] + 1 - len(counters) == video.lost, video.summary()
    assert all(t0 * 1e6 < m.sent_us < time.time() * 1e6 for m in markers)
    lat = list(video.latencies)
    assert 0 < statistics.median(lat) < 500, lat
    assert (video.width, video.height) == (640, 480)
    assert audio.frames >= 100, audio.summary()  # 50 a second
    assert counters[-1] <= track.frames_sent - 1 + track.frames_skipped  # every slot was sent or skipped
    # a corrupted block in a decoded frame: the checksum says no
    y = frames[-1].to_ndarray(format="gray")
    assert decode_marker(y) == markers[len(frames) - 1]  # every frame was marked: the kept ones came first
    bad = y.copy()
    bad[0:BLOCK, 5 * BLOCK:6 * BLOCK] = 255 - bad[0:BLOCK, 5 * BLOCK:6 * BLOCK]
    assert decode_marker(bad) is None


# --- pacing ---------------------------------------------------------------------------------------------------


def _on_the_clock(received: list[tuple[float, int]], t0: float, period: float) -> None:
    """Every slot n came out when it was due and before the next one was: never early (no burst), never more than
    a slot late (no backlog). ``received``: (monotonic time just after recv(), slot)."""
    for t, n in received:
        assert n * period <= t - t0 + 0.002, (n, t - t0)
        assert t - t0 - n * period < period + 0.03, (n, t - t0)


@pytest.mark.db_independent
def test_video_pacing_skips_to_now_after_a_stall() -> None:
    async def main() -> None:
        track = MarkerVideoTrack()
        received: list[tuple[float, int]] = []

        async def take() -> Marker:
            frame = await track.recv()
            received.append((time.monotonic(), frame.pts // 3000))
            marker = decode_marker(frame)
            assert marker is not None and marker.counter == frame.pts // 3000
            assert abs(marker.sent_us / 1e6 - time.time()) < 0.03  # built when handed out
            return marker

        t0 = time.monotonic()
        first = [await take() for _ in range(10)]
        assert first[0].counter == 0
        await asyncio.sleep(1.0)  # the consumer stalls (an encoder that fell behind)
        late = await take()
        assert late.counter >= first[-1].counter + 25, late  # jumped to the frame due now
        after = [await take() for _ in range(6)]
        counters = [m.counter for m in (*first, late, *after)]
        assert counters == sorted(set(counters)), counters
        _on_the_clock(received, t0, 1 / 30)
        # the slots not handed out are the skipped ones
        assert track.frames_skipped == counters[-1] + 1 - len(counters) and track.frames_sent == len(counters)
        track.stop()
        with pytest.raises(MediaStreamError):
            await track.recv()

    asyncio.run(main())


@pytest.mark.db_independent
def test_tone_track_timing_and_signal() -> None:
    track = ToneAudioTrack()
    # the signal: 440 Hz, its phase continuous across frames (taken from the sample index)
    frames = [track.build_frame(n) for n in range(25)]
    assert all(f.sample_rate == 48000 and f.samples == 960 and f.format.name == "s16" for f in frames)
    assert [f.pts for f in frames] == [960 * n for n in range(25)]
    pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    assert abs(np.argmax(spectrum) * 48000 / len(pcm) - 440) < 3
    ideal = np.sin(2 * np.pi * 440 * np.arange(len(pcm)) / 48000) * 0.25 * 32767
    assert np.max(np.abs(pcm - ideal)) <= 2
    far = track.build_frame(180_000)  # an hour in: still exact
    ideal = np.sin(2 * np.pi * 440 * (180_000 * 960 + np.arange(960)) / 48000) * 0.25 * 32767
    assert np.max(np.abs(far.to_ndarray().reshape(-1) - ideal)) <= 2

    async def main() -> None:
        received: list[tuple[float, int]] = []

        async def take() -> int:
            frame = await track.recv()
            received.append((time.monotonic(), frame.pts // 960))
            return frame.pts // 960

        t0 = time.monotonic()
        first = [await take() for _ in range(26)]
        await asyncio.sleep(0.5)  # a stall: the next frame is the one due now, not a backlog
        late = await take()
        assert late >= first[-1] + 15
        after = [await take() for _ in range(5)]
        slots = [*first, late, *after]
        assert slots == sorted(set(slots)) and slots[0] == 0
        _on_the_clock(received, t0, 0.020)
        assert track.frames_skipped == slots[-1] + 1 - len(slots)
        track.stop()

    asyncio.run(main())


@pytest.mark.db_independent
def test_loopback_benchmark_figures() -> None:
    from benchmarks.video_loopback import run_loopback

    figures = run_loopback(2.0, warmup_s=0.5)
    for direction in ("a_to_b", "b_to_a"):
        d = figures[direction]
        # the shape and the correctness of the figures; their speed is the benchmark's to report, not judged on a
        # shared machine
        assert d["frames"] > 0 and d["fps_median"] >= 10 and d["misread_frames"] == 0, figures
        assert 0 < d["latency_median_ms"] <= d["latency_p95_ms"] <= d["latency_max_ms"], figures
        assert d["resolution"] == "640x480" and d["audio_frames"] > 0, figures
        assert d["lost_frames"] >= 0 and d["drift_ms"] is not None, figures
    assert 0 < figures["cpu_percent"] < 100 * (figures["cpu_cores"] or 1)


# --- the call against the real server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin(live_server: Any, db_engine: Any) -> dict[str, str]:
    from tests.booking_helpers import admin_headers

    with live_server.client() as api:
        return admin_headers(api, db_engine)


@pytest.fixture()
def visit(live_server: Any, api: Any, admin: dict[str, str], db_engine: Any) -> dict[str, Any]:
    """An appointment in ``waiting`` with a doctor of the test's own, and both sides' credentials."""
    from tests.workstation_helpers import doctor_today, waiting

    clinic = doctor_today(api, admin, db_engine)
    acc, appt = waiting(api, db_engine, clinic)
    return {"base_url": live_server.base_url, "appointment_id": appt, "doctor": clinic["headers"],
            "patient_token": acc["headers"]["Authorization"].split(" ", 1)[1]}


class Doctor:
    """The doctor's side as a bare aiortc peer connection driven through the staff HTTP routes and the doctor's
    event stream (what the workstation does, without Qt)."""

    def __init__(self, base_url: str, headers: dict[str, str], appointment_id: int) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=15)
        self.headers = headers
        self.appt = appointment_id
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.pc: RTCPeerConnection | None = None
        self.video = FrameMeter("video")
        self.echoes: list[str] = []
        self._tasks: list[asyncio.Task] = []

    def url(self, tail: str = "") -> str:
        return f"/api/v1/staff/appointments/{self.appt}/call{tail}"

    async def open_stream(self) -> None:
        r = await self.http.get("/api/v1/staff/events/cursor", headers=self.headers)
        assert r.status_code == 200, r.text
        last_id = r.json()["last_id"]
        opened = asyncio.Event()

        async def read() -> None:
            async with self.http.stream("GET", "/api/v1/staff/events", timeout=httpx.Timeout(10, read=None),
                                        headers={**self.headers, "Last-Event-ID": str(last_id)}) as resp:
                assert resp.status_code == 200
                opened.set()
                async for _id, kind, data in iter_sse(resp):
                    body = json.loads(data)
                    self.events.append((kind, body.get("payload", body)))

        self._tasks.append(asyncio.ensure_future(read()))
        await asyncio.wait_for(opened.wait(), 10)

    async def event(self, kind: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for k, payload in self.events:
                if k == kind and all(payload.get(key) == value for key, value in match.items()):
                    return payload
            if time.monotonic() > deadline:
                raise AssertionError(f"no {kind} {match} among {[k for k, _ in self.events]}")
            await asyncio.sleep(0.02)

    async def post(self, tail: str, body: Any = None, status: int = 202) -> Any:
        r = await self.http.post(self.url(tail), headers=self.headers, json=body)
        assert r.status_code == status, r.text
        return r.json()

    async def invite(self, *, trickle: bool = False) -> int:
        """Call (a new segment), offer with media and a heartbeat channel, apply the patient's answer, report
        ``connected``; with ``trickle`` the candidates go as separate signals, as a browser sends them."""
        call = await self.post("", status=201)
        segment = call["segment"]["id"]
        if self.pc is not None:
            await self.pc.close()
        pc = self.pc = RTCPeerConnection(configuration=RTCConfiguration(iceServers=[]))
        pc.addTrack(MarkerVideoTrack())
        pc.addTrack(ToneAudioTrack())
        channel = pc.createDataChannel("heartbeat")
        channel.on("message", self.echoes.append)
        self.channel = channel

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "video":
                self._tasks.append(asyncio.ensure_future(consume(track, self.video)))
            else:
                self._tasks.append(asyncio.ensure_future(consume(track, FrameMeter("audio"))))

        await pc.setLocalDescription(await pc.createOffer())
        sdp, candidates = pc.localDescription.sdp, []
        if trickle:
            kept, index, mid = [], -1, None
            for line in sdp.splitlines():
                if line.startswith("m="):
                    index += 1
                elif line.startswith("a=mid:"):
                    mid = line[6:]
                if line.startswith("a=candidate:"):
                    candidates.append((line[2:], index, line))
                    continue
                if line == "a=end-of-candidates":
                    continue
                kept.append(line)
            sdp = "\r\n".join(kept) + "\r\n"
            # the mid of each m-line, for sdpMid
            mids = [ln[6:] for ln in kept if ln.startswith("a=mid:")]
            assert candidates and mids and mid is not None
        await self.post("/signals", {"segment_id": segment, "type": "offer",
                                     "description": {"type": "offer", "sdp": sdp}})
        for cand, index, _ in candidates:
            await self.post("/signals", {"segment_id": segment, "type": "candidate",
                                         "candidate": {"candidate": cand, "sdpMid": mids[index],
                                                       "sdpMLineIndex": index}})
        if trickle:
            await self.post("/signals", {"segment_id": segment, "type": "candidate", "candidate": None})
        answer = await self.event("call.signal", segment_id=segment, type="answer")
        assert answer["from"] == "patient"
        await pc.setRemoteDescription(RTCSessionDescription(**answer["description"]))
        deadline = time.monotonic() + 10
        while pc.connectionState != "connected" or channel.readyState != "open":
            assert time.monotonic() < deadline, (pc.connectionState, channel.readyState)
            await asyncio.sleep(0.02)
        await self.post("/state", {"segment_id": segment, "state": "connected"}, status=200)
        return segment

    async def heartbeat(self, n: int) -> list[str]:
        sent = []
        for i in range(n):
            sent.append(f"hb {i} {time.time():.3f}")
            self.channel.send(sent[-1])
            await asyncio.sleep(0.05)
        return sent

    async def segment(self) -> dict[str, Any]:
        r = await self.http.get(self.url(), headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()["segment"]

    async def close(self) -> None:
        if self.pc is not None:
            await self.pc.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.aclose()


def test_patient_answers_streams_consents_and_drops(visit: dict[str, Any]) -> None:
    notes: list[str] = []

    async def main() -> None:
        patient = PatientCall(visit["base_url"], visit["appointment_id"], visit["patient_token"],
                              consent_delay_s=0.2, notify=notes.append)
        runner = asyncio.ensure_future(patient.run())
        doctor = Doctor(visit["base_url"], visit["doctor"], visit["appointment_id"])
        try:
            await doctor.open_stream()
            await patient.wait_until(lambda s: s["stream_open"], timeout=10, what="the patient's stream")
            segment = await doctor.invite()
            assert (await doctor.segment())["state"] == "connected"
            sent = await doctor.heartbeat(10)

            # media both ways, decoded with their markers
            s = await patient.wait_until(lambda s: s["video"]["marked"] >= 45 and s["audio"]["frames"] >= 50,
                                         timeout=10, what="the doctor's media")
            assert s["segment_id"] == segment and s["answers"] == 1 and s["pc_state"] == "connected"
            assert s["video"]["unmarked"] == 0 and (s["video"]["width"], s["video"]["height"]) == (640, 480)
            assert 0 < s["video"]["latency_ms_median"] < 500 and s["video"]["fps"] > 20, s["video"]
            assert doctor.video.marked >= 30 and doctor.video.unmarked == 0
            assert 0 < statistics.median(doctor.video.latencies) < 500
            # every heartbeat came back, unchanged
            deadline = time.monotonic() + 5
            while len(doctor.echoes) < 10 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert doctor.echoes == sent and s["channels"] == ["heartbeat"]

            # consent: asked by the doctor, answered by the phone with the request's version
            r = await doctor.http.post(f"/api/v1/staff/appointments/{doctor.appt}/consent-requests",
                                       headers=doctor.headers)
            assert r.status_code == 201, r.text
            requested = r.json()
            await patient.wait_until(lambda s: s["consents"] and s["consents"][0]["result"] == "answered",
                                     timeout=10, what="the consent answer")
            answered = await doctor.event("consent.answered", request_id=requested["id"])
            assert answered["agree"] is True and answered["version"] == requested["version"]
            r = await doctor.http.get(f"/api/v1/staff/appointments/{doctor.appt}/consent", headers=doctor.headers)
            assert r.json()["state"] == "consented"

            # the line drops: stream and peer connection gone without a hangup -> interrupted, patient_left
            t = time.monotonic()
            await patient.drop()
            gone = await doctor.event("call.interrupted", timeout=5, segment_id=segment)
            assert gone["reason"] == "patient_left" and time.monotonic() - t < 3.5
            seg = await doctor.segment()
            assert seg["state"] == "interrupted" and seg["end_reason"] == "patient_left"
            s = patient.stats()
            assert not s["stream_open"] and s["pc_state"] == "closed" and s["segment_id"] is None
        finally:
            patient.stop()
            await runner
            await doctor.close()

    asyncio.run(main())
    assert notes[:2] == ["the doctor is calling (segment 1)", "answered the video call (segment 1)"], notes
    assert "agreed to the consent (v1)" in notes and "lost the line" in notes, notes


def test_patient_comes_back_and_takes_a_reinvite_with_trickled_candidates(visit: dict[str, Any]) -> None:
    async def main() -> None:
        patient = PatientCall(visit["base_url"], visit["appointment_id"], visit["patient_token"],
                              agree=False, consent_delay_s=0.0)
        runner = asyncio.ensure_future(patient.run())
        doctor = Doctor(visit["base_url"], visit["doctor"], visit["appointment_id"])
        try:
            await doctor.open_stream()
            await patient.wait_until(lambda s: s["stream_open"], timeout=10, what="the patient's stream")
            first = await doctor.invite()
            await patient.wait_until(lambda s: s["video"]["marked"] >= 10, timeout=10, what="first media")
            # a lost line, back a moment later: the stream resumes after the last event it saw
            seen = patient.stats()["last_event_id"]
            await patient.drop(offline_s=0.5)
            await doctor.event("call.interrupted", timeout=5, segment_id=first)
            await patient.wait_until(lambda s: s["stream_open"] and s["stream_opens"] == 2, timeout=10,
                                     what="the stream again")
            assert patient.stats()["last_event_id"] >= seen
            # the doctor calls again: a new segment, a fresh peer connection, candidates trickled as signals
            frames_before = patient.stats()["video"]["frames"]
            second = await doctor.invite(trickle=True)
            assert second != first
            s = await patient.wait_until(lambda s: s["video"]["frames"] >= frames_before + 30, timeout=10,
                                         what="media on the new segment")
            assert s["segment_id"] == second and s["answers"] == 2 and s["candidates_applied"] >= 1
            # the doctor's signalled candidates reached its ICE agent (not only learnt from the checks: prflx)
            assert "host" in s["remote_candidates"], s["remote_candidates"]
            segs = {x["id"]: x for x in s["segments"]}
            assert segs[first]["state"] == "ended" and segs[second]["state"] == "connected"
            call = (await doctor.http.get(doctor.url(), headers=doctor.headers)).json()
            assert [x["end_reason"] for x in call["segments"]] == ["patient_left", None]

            # a decline is an answer too
            r = await doctor.http.post(f"/api/v1/staff/appointments/{doctor.appt}/consent-requests",
                                       headers=doctor.headers)
            assert r.status_code == 201, r.text
            answered = await doctor.event("consent.answered", request_id=r.json()["id"])
            assert answered["agree"] is False

            # the patient hangs up: the segment ends patient_hung_up and the phone closes its side
            assert await patient.hangup() is True
            ended = await doctor.event("call.ended", segment_id=second)
            assert ended["reason"] == "patient_hung_up"
            assert patient.stats()["pc_state"] == "closed"

            # and the doctor's hangup of a third segment closes the phone's peer connection too
            third = await doctor.invite()
            await patient.wait_until(lambda s: s["segment_id"] == third and s["pc_state"] == "connected",
                                     timeout=10, what="the third segment")
            await doctor.post("/signals", {"segment_id": third, "type": "hangup"})
            await patient.wait_until(lambda s: s["segment_id"] is None and s["pc_state"] == "closed",
                                     timeout=5, what="the phone to close on the doctor's hangup")
            assert (await doctor.segment())["end_reason"] == "doctor_ended"
            assert patient.stats()["stream_open"]  # still on the waiting page
        finally:
            patient.stop()
            await runner
            await doctor.close()

    asyncio.run(main())


def test_a_doctor_can_call_a_simulated_patient(live_server: Any, api: Any, db_engine: Any, tmp_path: Any) -> None:
    """``clinic-server simulate`` keeps the phone's side of the call running while its patient waits: the doctor
    calls, media flows both ways, the doctor finishes the visit and the simulated journey completes."""
    from sqlalchemy import text

    from tests.conftest import ROOT
    from tests.helpers import staff_login

    with db_engine.connect() as c:
        doctor_id = c.execute(text("SELECT doctor_id FROM staff WHERE username = 'doctor2'")).scalar_one()

    def waiting_ids() -> set[int]:
        with db_engine.connect() as c:
            return set(c.execute(text("SELECT id FROM appointments WHERE doctor_id = :d AND status = 'waiting'"),
                                 {"d": doctor_id}).scalars())

    before = waiting_ids()
    headers = staff_login(api, "doctor2")
    log_path = tmp_path / "simulate.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "simulate", "--base-url", live_server.base_url,
                                 "--patients", "1", "--rounds", "1", "--pace", "0", "--cancel-rate", "0", "--seed", "4242",
                                 "--doctor", str(doctor_id)],
                                env=live_server.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        new: set[int] = set()
        while not new and time.monotonic() < deadline and proc.poll() is None:
            new = waiting_ids() - before
            time.sleep(0.3)
        assert len(new) == 1, log_path.read_text(errors="replace")
        appt = new.pop()

        async def main() -> None:
            doctor = Doctor(live_server.base_url, headers, appt)
            try:
                await doctor.open_stream()
                await doctor.invite()
                sent = await doctor.heartbeat(5)
                deadline = time.monotonic() + 10
                while (doctor.video.marked < 30 or len(doctor.echoes) < 5) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert doctor.video.marked >= 30 and doctor.video.unmarked == 0, doctor.video.summary()
                assert doctor.echoes == sent
                r = await doctor.http.post(f"/api/v1/staff/appointments/{appt}/finish", headers=headers,
                                           json={"diagnosis_code": "E11.9", "diagnosis_name": "2型糖尿病"})
                assert r.status_code == 200, r.text
                ended = await doctor.event("call.ended")
                assert ended["reason"] == "visit_finished"
            finally:
                await doctor.close()

        asyncio.run(main())
        proc.wait(timeout=60)
        output = log_path.read_text(errors="replace")
        assert proc.returncode == 0, output
        assert "answered the video call" in output and "the call ended (visit_finished)" in output, output
        assert "journey 1 done" in output and "Traceback" not in output, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_simulate_video_option() -> None:
    from server.cli import build_parser

    assert build_parser().parse_args(["simulate"]).video is True
    assert build_parser().parse_args(["simulate", "--no-video"]).video is False


def test_a_reloaded_page_answers_a_pending_consent(visit: dict[str, Any]) -> None:
    """A consent request left unanswered (the first page never answers) is found by a page opened later, which has
    no event cursor to replay from: it reads the pending request itself."""
    async def main() -> None:
        first = PatientCall(visit["base_url"], visit["appointment_id"], visit["patient_token"], agree=None)
        runner = asyncio.ensure_future(first.run())
        doctor = Doctor(visit["base_url"], visit["doctor"], visit["appointment_id"])
        try:
            await doctor.open_stream()
            await first.wait_until(lambda s: s["stream_open"], timeout=10, what="the first page")
            await doctor.invite()
            r = await doctor.http.post(f"/api/v1/staff/appointments/{doctor.appt}/consent-requests",
                                       headers=doctor.headers)
            assert r.status_code == 201, r.text
            await first.wait_until(lambda s: s["consents"] and s["consents"][0]["result"] == "ignored",
                                   timeout=5, what="the first page to see the request")
            second = PatientCall(visit["base_url"], visit["appointment_id"], visit["patient_token"],
                                 agree=True, consent_delay_s=0.0)
            runner2 = asyncio.ensure_future(second.run())
            s = await second.wait_until(lambda s: s["consents"] and s["consents"][0]["result"] == "answered",
                                        timeout=10, what="the second page's answer")
            assert s["consents"][0]["request_id"] == r.json()["id"] and s["answers"] == 0  # no offer pending
            answered = await doctor.event("consent.answered", request_id=r.json()["id"])
            assert answered["agree"] is True
            second.stop()
            await runner2
        finally:
            first.stop()
            await runner
            await doctor.close()

    asyncio.run(main())
