"""aiortc's raw loopback: the baseline the ``video_call`` benchmark reports beside the real two-process call.

Two ``RTCPeerConnection`` s in this one process, connected directly (offer and answer handed over in memory, host
candidates on loopback, no server, no STUN), each sending :class:`server.patient_call.MarkerVideoTrack` (640x480 at
30 fps, VP8 at aiortc's own rate control, 500 kbps rising to 1.5 Mbps) and, unless ``audio=False``, a
:class:`~server.patient_call.ToneAudioTrack` (Opus), and each reading what it receives as fast as it comes. After a
warm-up (both directions decoding, then ``warmup_s`` more so the bitrate estimate has settled) the run lasts
``seconds``; per direction (``a_to_b``: the offerer's frames decoded by the answerer; ``b_to_a``):

- ``fps_median``: the median of the per-second counts of decoded frames (``fps_min`` the worst second);
- ``latency_median_ms`` / ``latency_p95_ms`` / ``latency_max_ms``: ``time.time()`` when the decoded frame comes out
  of ``track.recv()`` minus the send time in its marker (the frame's build, right before aiortc encodes it), so
  encode + packetise + loopback UDP + jitter buffer + decode + this loop's scheduling;
- ``drift_ms``: the median latency of the last window minus that of the first (a minute each for runs of three
  minutes or more, else the first and last 10 % of the run): a queue that grows shows here;
- ``lost_frames`` (marker counter gaps: frames the sender skipped because the encoder was late, or that never
  decoded), ``misread_frames`` (decoded frames whose marker failed its checksum), ``sender_skipped``.

And for the process: ``cpu_percent`` (process CPU time / wall time, 100 = one core busy; both directions' encoders
and decoders together), ``cpu_cores``. :func:`run_loopback` answers the figures as a dict; ``python -m
benchmarks.video_loopback [SECONDS]`` prints them as JSON.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection

from benchmarks.harness import percentile
from server.patient_call import FrameMeter, MarkerVideoTrack, ToneAudioTrack, consume

CONNECT_TIMEOUT_S = 20.0


def direction_figures(samples: list[tuple[float, float | None, int | None]], *, start: float, end: float,
                      sender_skipped: int = 0) -> dict[str, Any]:
    """Figures of one direction from its (arrival time, latency ms or None, counter or None) samples (as
    :class:`~server.patient_call.FrameMeter` keeps them) inside [start, end)."""
    inside = [(t, lat) for t, lat, _ in samples if start <= t < end]
    counters = [c for t, _, c in samples if start <= t < end and c is not None]
    lost = sum(max(0, b - a - 1) for a, b in itertools.pairwise(counters))
    seconds = max(1, int(end - start))
    per_second = [0] * seconds
    for t, _ in inside:
        i = int(t - start)
        if i < seconds:
            per_second[i] += 1
    lats = sorted(lat for _, lat in inside if lat is not None)
    timed = [(t, lat) for t, lat in inside if lat is not None]
    span = end - start
    window = 60.0 if span >= 180 else span * 0.1
    first = [lat for t, lat in timed if t < start + window]
    last = [lat for t, lat in timed if t >= end - window]
    return {
        "frames": len(inside),
        "fps_median": statistics.median(per_second),
        "fps_min": min(per_second),
        "latency_median_ms": round(percentile(lats, 50), 1) if lats else None,
        "latency_p95_ms": round(percentile(lats, 95), 1) if lats else None,
        "latency_max_ms": round(lats[-1], 1) if lats else None,
        "drift_ms": round(statistics.median(last) - statistics.median(first), 1) if first and last else None,
        "drift_window_s": round(window, 1),
        "lost_frames": lost,
        "misread_frames": sum(1 for _, lat in inside if lat is None),
        "sender_skipped": sender_skipped,
    }


async def _loopback(seconds: float, *, width: int, height: int, fps: float, audio: bool,
                    warmup_s: float) -> dict[str, Any]:
    config = RTCConfiguration(iceServers=[])  # not None: aiortc's default would ask a public STUN server
    pcs = {"a": RTCPeerConnection(configuration=config), "b": RTCPeerConnection(configuration=config)}
    sent = {side: MarkerVideoTrack(width, height, fps=fps) for side in pcs}
    # the meters: what side X receives (so a_to_b is what "b" receives)
    video = {side: FrameMeter("video", keep_samples=True) for side in pcs}
    sound = {side: FrameMeter("audio") for side in pcs}
    tasks: list[asyncio.Task] = []
    for side, pc in pcs.items():
        pc.addTrack(sent[side])
        if audio:
            pc.addTrack(ToneAudioTrack())

        def on_track(track: Any, side: str = side) -> None:
            meter = video[side] if track.kind == "video" else sound[side]
            tasks.append(asyncio.ensure_future(consume(track, meter)))

        pc.on("track", on_track)
    t_setup = time.monotonic()
    try:
        await pcs["a"].setLocalDescription(await pcs["a"].createOffer())
        await pcs["b"].setRemoteDescription(pcs["a"].localDescription)
        await pcs["b"].setLocalDescription(await pcs["b"].createAnswer())
        await pcs["a"].setRemoteDescription(pcs["b"].localDescription)
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not all(m.marked for m in video.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"loopback: no decoded frames within {CONNECT_TIMEOUT_S:.0f} s "
                                   f"({pcs['a'].connectionState}/{pcs['b'].connectionState})")
            await asyncio.sleep(0.02)
        first_frame_s = time.monotonic() - t_setup
        await asyncio.sleep(warmup_s)
        skipped0 = {side: sent[side].frames_skipped for side in pcs}
        heard0 = {side: sound[side].frames for side in pcs}
        cpu0, wall0 = time.process_time(), time.time()
        await asyncio.sleep(seconds)
        cpu1, wall1 = time.process_time(), time.time()
        skipped = {side: sent[side].frames_skipped - skipped0[side] for side in pcs}
        heard = {side: sound[side].frames - heard0[side] for side in pcs}
    finally:
        for pc in pcs.values():
            await pc.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    out: dict[str, Any] = {
        "seconds": seconds, "width": width, "height": height, "fps": fps, "audio": audio,
        "first_frame_s": round(first_frame_s, 2), "warmup_s": warmup_s,
        "a_to_b": direction_figures(video["b"].samples or [], start=wall0, end=wall1,
                                    sender_skipped=skipped["a"]),
        "b_to_a": direction_figures(video["a"].samples or [], start=wall0, end=wall1,
                                    sender_skipped=skipped["b"]),
        "cpu_percent": round((cpu1 - cpu0) / (wall1 - wall0) * 100, 1),
        "cpu_cores": os.cpu_count(),
    }
    for key, side in (("a_to_b", "b"), ("b_to_a", "a")):
        m = video[side]
        out[key]["resolution"] = f"{m.width}x{m.height}"
        if audio:
            out[key]["audio_frames"] = heard[side]  # 50 a second
    return out


def run_loopback(seconds: float, *, width: int = 640, height: int = 480, fps: float = 30, audio: bool = True,
                 warmup_s: float = 2.0) -> dict[str, Any]:
    """The loopback's figures (see the module docstring) for a run of ``seconds`` after the warm-up."""
    return asyncio.run(_loopback(seconds, width=width, height=height, fps=fps, audio=audio, warmup_s=warmup_s))


if __name__ == "__main__":
    print(json.dumps(run_loopback(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0)))
