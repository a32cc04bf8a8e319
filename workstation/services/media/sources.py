"""Where the doctor's outgoing picture and sound come from: camera, microphone, screen (share) or a test pattern.

Each source is an aiortc ``MediaStreamTrack`` read by its sender on the qasync loop (the GUI thread). Pacing is by
the wall clock and never builds a backlog: frame *n* is due at ``start + n / fps``; a reader that comes late gets
the frame due *now* (the ones in between are skipped, never queued). Devices (QtMultimedia) keep only their newest
frame. A source that is switched off (camera off, mute) keeps its track alive and sends black pictures or
silence, so the call and its negotiated tracks stay as they are.
"""
from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QGuiApplication, QImage

log = logging.getLogger(__name__)

VIDEO_W, VIDEO_H, VIDEO_FPS = 640, 480, 30
SCREEN_MAX_W, SCREEN_MAX_H, SCREEN_FPS = 1280, 720, 10
VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK)
AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020
AUDIO_SAMPLES = int(AUDIO_RATE * AUDIO_PTIME)
AUDIO_TIME_BASE = fractions.Fraction(1, AUDIO_RATE)
AUDIO_BUFFER_MAX_S = 0.2  # microphone samples kept at most: older ones are dropped, never sent late

TEST_PATTERN = "test_pattern"
CAMERA = "camera"
AUTO = "auto"
VIDEO_SOURCES = (AUTO, CAMERA, TEST_PATTERN)
MICROPHONE = "microphone"
TONE = "tone"
AUDIO_SOURCES = (AUTO, MICROPHONE, TONE)


class PacedClock:
    """Frame *n* due at ``start + n / rate``; :meth:`next` sleeps until the next one is due, or — when the reader
    is late — jumps to the frame due now. Returns ``(index, due_time)``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.start: float | None = None
        self.index = -1

    async def next(self) -> tuple[int, float]:
        now = time.monotonic()
        if self.start is None:
            self.start = now
            self.index = 0
            return 0, now
        index = self.index + 1
        due = self.start + index / self.rate
        if due > now:
            await asyncio.sleep(due - now)
        else:
            index = max(index, int((now - self.start) * self.rate))  # late: skip to the frame due now
        self.index = index
        return index, self.start + index / self.rate


def frame_from_rgb(rgb: np.ndarray, *, pts: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    frame.pts = pts
    frame.time_base = VIDEO_TIME_BASE
    return frame


def rgb_from_qimage(image: QImage) -> np.ndarray:
    """A copy of the picture as an ``h × w × 3`` uint8 array (even sizes, as yuv420p needs)."""
    w, h = image.width() & ~1, image.height() & ~1
    if image.format() != QImage.Format.Format_RGB888:
        image = image.convertToFormat(QImage.Format.Format_RGB888)
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * image.height())
    return buf.reshape(image.height(), image.bytesPerLine())[:h, : w * 3].reshape(h, w, 3).copy()


def fit(width: int, height: int, max_w: int, max_h: int) -> tuple[int, int]:
    """The largest even size of that aspect inside ``max_w × max_h``."""
    scale = min(max_w / max(width, 1), max_h / max(height, 1), 1.0)
    return max(2, int(width * scale) & ~1), max(2, int(height * scale) & ~1)


class VideoSource(MediaStreamTrack):
    """A paced outgoing picture. Subclasses draw frame *n* in :meth:`render`; ``enabled = False`` sends black.

    ``on_frame`` (if set) sees every frame sent, for the self view; it must be cheap (the self view keeps only the
    newest)."""

    kind = "video"
    label = "video"

    def __init__(self, *, fps: float = VIDEO_FPS) -> None:
        super().__init__()
        self.clock = PacedClock(fps)
        self.enabled = True
        self.on_frame: Callable[[av.VideoFrame], None] | None = None
        self.frames_sent = 0
        self._black = np.zeros((VIDEO_H, VIDEO_W, 3), np.uint8)

    def render(self, index: int) -> av.VideoFrame | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def pause(self) -> None:
        """Between calls: a device is released (the camera's light goes off)."""

    def resume(self) -> None:
        """A call again."""

    def black(self) -> av.VideoFrame:
        return frame_from_rgb(self._black, pts=0)  # a new frame each time: the encoder reads it on a worker

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index, _due = await self.clock.next()
        frame = self.render(index) if self.enabled else None
        if frame is None:
            frame = self.black()
        frame.pts = round(index * VIDEO_CLOCK / self.clock.rate)
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        if self.on_frame is not None:
            self.on_frame(frame)
        return frame


class TestPatternSource(VideoSource):
    """Colour bars with a sweeping bar and a bouncing square: motion for the encoder, obvious to the eye. Used
    when there is no camera, when chosen in settings, and by the tests."""

    label = "test_pattern"

    def __init__(self, *, width: int = VIDEO_W, height: int = VIDEO_H, fps: float = VIDEO_FPS) -> None:
        super().__init__(fps=fps)
        self.width, self.height = width, height
        colours = np.array([(235, 235, 235), (235, 235, 16), (16, 235, 235), (16, 235, 16), (235, 16, 235),
                            (235, 16, 16), (16, 16, 235), (16, 16, 16)], np.uint8)
        bars = np.repeat(colours, math.ceil(width / len(colours)), axis=0)[:width]
        self._base = np.broadcast_to(bars, (height, width, 3)).copy()
        self._base[height * 3 // 4:] = np.linspace(16, 235, width, dtype=np.uint8)[None, :, None]  # a grey ramp

    def render(self, index: int) -> av.VideoFrame:
        rgb = self._base.copy()
        w, h = self.width, self.height
        x = (index * 6) % w
        rgb[: h * 3 // 4, x: x + 12] = 255
        size = h // 6
        period_x, period_y = 2 * (w - size), 2 * (h * 3 // 4 - size)
        bx = abs((index * 5) % period_x - (w - size))
        by = abs((index * 4) % period_y - (h * 3 // 4 - size))
        rgb[by: by + size, bx: bx + size] = (32, 96, 200)
        return frame_from_rgb(rgb, pts=0)


class CameraSource(VideoSource):
    """The default camera through QtMultimedia. Keeps only the newest camera frame; converts it when the sender
    asks (so frames the encoder never takes cost nothing)."""

    label = "camera"

    def __init__(self, device: Any = None, *, fps: float = VIDEO_FPS) -> None:
        super().__init__(fps=fps)
        from PySide6.QtMultimedia import QCamera, QMediaCaptureSession, QMediaDevices, QVideoSink

        device = device if device is not None else QMediaDevices.defaultVideoInput()
        self.description = device.description()
        self._latest: Any = None
        self._camera = QCamera(device)
        best = _best_format(device.videoFormats())
        if best is not None:
            self._camera.setCameraFormat(best)
        self._sink = QVideoSink()
        self._session = QMediaCaptureSession()
        self._session.setCamera(self._camera)
        self._session.setVideoSink(self._sink)
        self._sink.videoFrameChanged.connect(self._frame)
        self._camera.errorOccurred.connect(lambda _e, text: log.warning("camera: %s", text))
        self._camera.start()

    def pause(self) -> None:
        self._camera.stop()
        self._latest = None

    def resume(self) -> None:
        self._camera.start()

    def _frame(self, frame: Any) -> None:
        self._latest = frame  # a reference-counted handle: cheap to keep, converted only when sent

    def render(self, index: int) -> av.VideoFrame | None:
        frame = self._latest
        if frame is None or not frame.isValid():
            return None
        image = frame.toImage()
        if image.isNull():
            return None
        w, h = fit(image.width(), image.height(), VIDEO_W, VIDEO_H)
        if (w, h) != (image.width(), image.height()):
            image = image.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        return frame_from_rgb(rgb_from_qimage(image), pts=0)

    def stop(self) -> None:
        super().stop()
        try:
            self._camera.stop()
        except RuntimeError:  # already deleted with the application
            pass


def _best_format(formats: list[Any]) -> Any:
    """The camera format nearest to 640×480 at 30 fps."""
    def cost(f: Any) -> float:
        size = f.resolution()
        return abs(size.width() - VIDEO_W) + abs(size.height() - VIDEO_H) + 10 * abs(f.maxFrameRate() - VIDEO_FPS)
    return min(formats, key=cost) if formats else None


@dataclass(frozen=True, slots=True)
class ShareTarget:
    """What a screen share shows: a whole screen (``window`` None) or one of the workstation's windows."""

    title: str
    screen_index: int = 0  # in QGuiApplication.screens() (looked up at each grab: screens come and go)
    window: Any = None  # QWindow

    def screen(self) -> Any:
        screens = QGuiApplication.screens()
        if self.window is not None:
            return self.window.screen()
        return screens[self.screen_index] if self.screen_index < len(screens) else QGuiApplication.primaryScreen()


def share_targets() -> list[ShareTarget]:
    """The screens, then the workstation's visible top-level windows (title and all)."""
    targets = [ShareTarget(s.name() or f"screen {i + 1}", screen_index=i)
               for i, s in enumerate(QGuiApplication.screens())]
    for w in QGuiApplication.topLevelWindows():
        if w.isVisible() and w.title() and w.type() in (Qt.WindowType.Window, Qt.WindowType.Dialog):
            targets.append(ShareTarget(w.title(), window=w))
    return targets


class ScreenSource(VideoSource):
    """A screen or one window, grabbed at a few frames a second (text stays sharp at up to 1280×720)."""

    label = "screen"

    def __init__(self, target: ShareTarget, *, fps: float = SCREEN_FPS) -> None:
        super().__init__(fps=fps)
        self.target = target
        self.grabs = 0

    def render(self, index: int) -> av.VideoFrame | None:
        t = self.target
        screen = t.screen()
        if screen is None:
            return None
        if t.window is not None:
            pixmap = screen.grabWindow(int(t.window.winId()))
        else:
            pixmap = screen.grabWindow(0)
        if pixmap.isNull():
            return None
        image = pixmap.toImage()
        w, h = fit(image.width(), image.height(), SCREEN_MAX_W, SCREEN_MAX_H)
        if (w, h) != (image.width(), image.height()):
            image = image.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        self.grabs += 1
        return frame_from_rgb(rgb_from_qimage(image), pts=0)


class Outgoing(MediaStreamTrack):
    """What one peer connection's sender reads: a thin stand-in for a source.

    aiortc stops the track of a sender when its connection closes; the sources outlive a segment (a re-invite
    opens a new connection with the same camera), so each connection gets its own ``Outgoing``. Video timestamps
    are re-based on this track's own clock, so swapping the source (camera → screen → camera) never makes them
    jump backwards."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self._t0: float | None = None

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self.source.recv()
        if self.kind == "video":
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            frame.pts = int((now - self._t0) * VIDEO_CLOCK)
        return frame


# --- sound ---------------------------------------------------------------------------------------------------


class AudioSource(MediaStreamTrack):
    """20 ms mono frames at 48 kHz, paced like the pictures; ``enabled = False`` (mute) sends silence."""

    kind = "audio"
    label = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.clock = PacedClock(1 / AUDIO_PTIME)
        self.enabled = True
        self._silence = np.zeros((1, AUDIO_SAMPLES), np.int16)

    def samples(self, index: int) -> np.ndarray | None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index, _due = await self.clock.next()
        data = self.samples(index) if self.enabled else None
        frame = av.AudioFrame.from_ndarray(data if data is not None else self._silence, format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = index * AUDIO_SAMPLES
        frame.time_base = AUDIO_TIME_BASE
        return frame


class ToneSource(AudioSource):
    """A quiet 440 Hz tone (the test-pattern's sound)."""

    label = "tone"

    def __init__(self, *, hz: float = 440.0, level: float = 0.1) -> None:
        super().__init__()
        self.hz, self.level = hz, level

    def samples(self, index: int) -> np.ndarray:
        t = (index * AUDIO_SAMPLES + np.arange(AUDIO_SAMPLES)) / AUDIO_RATE
        return (np.sin(2 * np.pi * self.hz * t) * self.level * 32767).astype(np.int16)[None, :]


class MicrophoneSource(AudioSource):
    """The default microphone through QtMultimedia (pushed to us in blocks; at most 200 ms kept)."""

    label = "microphone"

    def __init__(self, device: Any = None) -> None:
        super().__init__()
        from PySide6.QtMultimedia import QAudioFormat, QAudioSource, QMediaDevices

        device = device if device is not None else QMediaDevices.defaultAudioInput()
        self.description = device.description()
        fmt = QAudioFormat()
        fmt.setSampleRate(AUDIO_RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self._buffer = bytearray()
        self._audio = QAudioSource(device, fmt)
        self._io = self._audio.start()
        self._io.readyRead.connect(self._read)

    def _read(self) -> None:
        self._buffer += bytes(self._io.readAll().data())
        excess = len(self._buffer) - int(AUDIO_BUFFER_MAX_S * AUDIO_RATE) * 2
        if excess > 0:
            del self._buffer[:excess]  # drop the oldest: never send sound late

    def samples(self, index: int) -> np.ndarray | None:
        need = AUDIO_SAMPLES * 2
        if len(self._buffer) < need:
            return None
        chunk = bytes(self._buffer[:need])
        del self._buffer[:need]
        return np.frombuffer(chunk, np.int16)[None, :]

    def stop(self) -> None:
        super().stop()
        try:
            self._audio.stop()
        except RuntimeError:
            pass


# --- choosing ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class DeviceReport:
    """What the call uses, and why, in words the panel shows (``notice`` is None when all is as chosen)."""

    video: str
    audio: str
    notice: str | None


def has_camera() -> bool:
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:
        return False
    return bool(QMediaDevices.videoInputs())


def has_microphone() -> bool:
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:
        return False
    return bool(QMediaDevices.audioInputs())


def open_sources(video: str = AUTO, audio: str = AUTO) -> tuple[VideoSource, AudioSource, DeviceReport]:
    """The call's sources per the settings: ``auto`` takes the device when there is one and otherwise the test
    pattern (or the tone) with a notice saying so; ``camera``/``microphone`` without one behave like ``auto``."""
    notices = []
    vsrc: VideoSource
    if video in (AUTO, CAMERA) and has_camera():
        vsrc = CameraSource()
    else:
        if video != TEST_PATTERN:
            notices.append(QCoreApplication.translate("Media", "No camera found: the patient sees a test pattern."))
        vsrc = TestPatternSource()
    asrc: AudioSource
    if audio in (AUTO, MICROPHONE) and has_microphone():
        asrc = MicrophoneSource()
    else:
        if audio != TONE:
            notices.append(QCoreApplication.translate("Media", "No microphone found: the patient hears a test tone."))
        asrc = ToneSource()
    return vsrc, asrc, DeviceReport(vsrc.label, asrc.label, " ".join(notices) or None)


__all__ = ["AUDIO_SOURCES", "VIDEO_SOURCES", "AudioSource", "CameraSource", "DeviceReport", "MicrophoneSource",
           "Outgoing", "PacedClock", "ScreenSource", "ShareTarget", "TestPatternSource", "ToneSource", "VideoSource",
           "open_sources", "share_targets"]
