"""The patient's picture and sound as they arrive: read as fast as aiortc delivers them, only the newest picture
is turned into an image for the screen.

aiortc hands received frames over through an unbounded queue; a reader that falls behind lets latency grow
without limit. :class:`RemotePicture` therefore reads continuously and converts a frame only when no newer one is
already waiting behind it (the older ones are dropped, counted in ``skipped``).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiortc.mediastreams import MediaStreamError
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Picture:
    """One frame ready to draw. ``rgb`` is the array behind ``image`` (measurements decode markers from it)."""

    image: QImage
    rgb: np.ndarray
    received_at: float  # time.time() when it came out of the decoder


def picture_from_frame(frame: Any) -> Picture:
    rgb = frame.to_ndarray(format="rgb24")
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return Picture(image, rgb, time.time())  # ``image`` borrows ``rgb``: the Picture keeps both alive


class RateMeter:
    """Events per second over the last ``window`` seconds."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._times.append(now)
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window:
            self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._trim(now)
        return len(self._times) / self.window

    def last(self) -> float | None:
        return self._times[-1] if self._times else None


def _pending(track: Any) -> int:
    """Frames already waiting in aiortc's receive queue behind the one just read."""
    queue = getattr(track, "_queue", None)
    return queue.qsize() if queue is not None else 0


class _TrackReader(QObject):
    """Reads a remote track on the loop for as long as it is attached, every frame to :meth:`take`."""

    def __init__(self, *, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.meter = RateMeter()
        self.received = 0
        self._task: asyncio.Task[None] | None = None

    def attach(self, track: Any) -> None:
        self.detach()
        self._task = asyncio.ensure_future(self._read(track))

    def detach(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _read(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except (MediaStreamError, asyncio.CancelledError):
                return
            self.received += 1
            self.meter.tick()
            self.take(track, frame)

    def take(self, track: Any, frame: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class RemotePicture(_TrackReader):
    """Reads a remote video track on the loop; emits ``sig_picture(Picture)`` for the newest frames."""

    sig_picture = Signal(object)

    def __init__(self, *, parent: QObject | None = None) -> None:
        super().__init__(parent=parent)
        self.skipped = 0
        self.size: tuple[int, int] | None = None

    def take(self, track: Any, frame: Any) -> None:
        if _pending(track):
            self.skipped += 1  # a newer frame is already here: draw that one
            return
        try:
            picture = picture_from_frame(frame)
        except Exception:  # a frame that cannot be converted is dropped, the call goes on
            log.exception("could not convert a received frame")
            return
        self.size = (picture.rgb.shape[1], picture.rgb.shape[0])
        self.sig_picture.emit(picture)


class RemoteSound(_TrackReader):
    """Reads a remote audio track on the loop and plays it when the computer has a speaker; without one it is
    still read (and dropped), so aiortc's queue never grows."""

    def __init__(self, *, parent: QObject | None = None) -> None:
        super().__init__(parent=parent)
        self._sink: Any = None
        self._io: Any = None
        self._opened = False

    def detach(self) -> None:
        super().detach()
        self._opened = False
        if self._sink is not None:
            self._sink.stop()
            self._sink = self._io = None

    def _open(self, rate: int, channels: int) -> None:
        try:
            from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices
        except ImportError:
            return
        if not QMediaDevices.audioOutputs():
            return
        fmt = QAudioFormat()
        fmt.setSampleRate(rate)
        fmt.setChannelCount(channels)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self._sink = QAudioSink(QMediaDevices.defaultAudioOutput(), fmt)
        self._sink.setBufferSize(rate * channels * 2 // 5)  # 200 ms: a late sink drops, never lags further
        self._io = self._sink.start()

    def take(self, track: Any, frame: Any) -> None:
        if not self._opened:
            self._opened = True
            self._open(frame.sample_rate, len(frame.layout.channels))
        if self._io is not None and self._sink is not None:
            data = bytes(frame.planes[0])[: frame.samples * 2 * len(frame.layout.channels)]
            if self._sink.bytesFree() >= len(data):
                self._io.write(data)
