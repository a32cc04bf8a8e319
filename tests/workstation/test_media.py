"""The video call's media pieces on their own: paced sources that never build a backlog, the stand-in track that
keeps timestamps rising across a source swap, and the receiver that draws only the newest picture while a busy
GUI thread lets frames pile up in aiortc's queue."""
from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection

from server.patient_call import MarkerVideoTrack, decode_marker
from workstation.services.media.remote import RemotePicture
from workstation.services.media.sources import (
    AUDIO_SAMPLES,
    VIDEO_H,
    VIDEO_W,
    Outgoing,
    PacedClock,
    ToneSource,
)
from workstation.services.media.sources import (
    TestPatternSource as PatternSource,
)

pytestmark = pytest.mark.db_independent

T = 20000


def run(loop: Any, coro: Any, qtbot: Any, timeout_ms: int = T) -> Any:
    """Run a coroutine on the test's qasync loop while Qt processes events."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=timeout_ms)
    return task.result()


def test_paced_clock_skips_instead_of_catching_up(qasync_loop: Any, qtbot: Any) -> None:
    async def go() -> tuple[list[int], float]:
        clock = PacedClock(30)
        got = [(await clock.next())[0] for _ in range(3)]
        time.sleep(0.5)  # noqa: ASYNC251 - the reader stalls (a busy encoder, a blocked loop)
        before = time.monotonic()
        got.append((await clock.next())[0])
        return got, time.monotonic() - before

    indices, waited = run(qasync_loop, go(), qtbot)
    assert indices[:3] == [0, 1, 2]
    # the frame after the stall is the one due now (about 15 frames on), handed out at once, no burst of old ones
    assert indices[3] >= 2 + 13 and waited < 0.01


def test_sources_make_frames_of_the_agreed_shape(qasync_loop: Any, qtbot: Any) -> None:
    async def go() -> tuple[Any, Any, Any, float]:
        video, audio = PatternSource(), ToneSource()
        first = await video.recv()
        start = time.perf_counter()
        for _ in range(15):
            await video.recv()
        half_second = time.perf_counter() - start
        second = await video.recv()
        sound = await audio.recv()
        return first, second, sound, half_second

    first, second, sound, took = run(qasync_loop, go(), qtbot)
    assert (first.width, first.height) == (VIDEO_W, VIDEO_H)
    a, b = first.to_ndarray(format="rgb24"), second.to_ndarray(format="rgb24")
    assert not np.array_equal(a, b)  # it moves
    assert 0.45 < took < 1.5  # paced: 15 frames at 30 fps take half a second, not none
    assert sound.samples == AUDIO_SAMPLES and sound.sample_rate == 48000
    assert np.abs(sound.to_ndarray()).max() > 1000  # a tone, not silence


def test_a_swapped_source_keeps_video_timestamps_rising(qasync_loop: Any, qtbot: Any) -> None:
    async def go() -> list[int]:
        camera = PatternSource()
        for _ in range(10):
            await camera.recv()  # the camera has been running a while: its own index is far ahead
        out = Outgoing(camera)
        pts = [(await out.recv()).pts for _ in range(3)]
        out.source = PatternSource(fps=10)  # a screen share starts from its own frame 0
        pts += [(await out.recv()).pts for _ in range(3)]
        out.source = camera
        pts += [(await out.recv()).pts for _ in range(3)]
        return pts

    pts = run(qasync_loop, go(), qtbot)
    assert all(b > a for a, b in itertools.pairwise(pts)), pts


async def _new_sender() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.addTrack(MarkerVideoTrack())
    return pc


async def _offer(pc: RTCPeerConnection) -> Any:
    await pc.setLocalDescription(await pc.createOffer())
    return pc.localDescription


def test_a_blocked_receiver_draws_the_newest_frame_not_the_backlog(qasync_loop: Any, qtbot: Any) -> None:
    """Frames arriving while the GUI thread is busy queue up inside aiortc; the receiver reads them all, converts
    only the newest, and the picture on screen is fresh again as soon as the thread is free."""
    shown: list[tuple[int, float, float]] = []  # counter, sent, shown (seconds)
    remote = RemotePicture()

    def on_picture(picture: Any) -> None:
        marker = decode_marker(picture.rgb)
        if marker is not None:
            shown.append((marker.counter, marker.sent_us / 1e6, time.time()))

    remote.sig_picture.connect(on_picture)

    # the sender lives on a loop of its own (another thread), as the patient's phone would: it keeps sending
    # while the receiving GUI thread is blocked
    sender_loop = asyncio.new_event_loop()
    sender_thread = threading.Thread(target=sender_loop.run_forever, daemon=True)
    sender_thread.start()
    a = asyncio.run_coroutine_threadsafe(_new_sender(), sender_loop).result(10)

    async def go() -> dict[str, Any]:
        b = RTCPeerConnection()
        b.on("track", lambda track: remote.attach(track) if track.kind == "video" else None)
        offer = await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_offer(a), sender_loop))
        await b.setRemoteDescription(offer)
        await b.setLocalDescription(await b.createAnswer())
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(a.setRemoteDescription(b.localDescription),
                                                                   sender_loop))
        while len(shown) < 30:
            await asyncio.sleep(0.05)
        skipped_before = remote.skipped
        time.sleep(1.0)  # noqa: ASYNC251 - the GUI thread is busy for a second (a big chart, a slow printer dialog)
        unblocked = time.time()
        await asyncio.sleep(1.5)
        await b.close()
        return {"skipped": remote.skipped - skipped_before, "unblocked": unblocked}

    try:
        result = run(qasync_loop, go(), qtbot, timeout_ms=40000)
    finally:
        remote.detach()
        asyncio.run_coroutine_threadsafe(a.close(), sender_loop).result(10)
        sender_loop.call_soon_threadsafe(sender_loop.stop)
        sender_thread.join(5)
    # the second's frames were read and (those already overtaken by a newer one) dropped, not drawn one by one;
    # how many depends on how fast the decoder catches up (a loaded machine decodes them more one at a time)
    assert result["skipped"] >= 3
    after = [(c, sent, seen) for c, sent, seen in shown if seen > result["unblocked"] + 0.3]
    assert after, "no picture after the stall"
    latencies = sorted(seen - sent for _c, sent, seen in after)
    assert latencies[len(latencies) // 2] < 0.15, latencies  # fresh again: the backlog was not replayed
    counters = [c for c, _s, _t in shown]
    assert counters == sorted(counters)
