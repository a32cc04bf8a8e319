"""Background work without freezing the window: ``Op`` (after Anki's CollectionOp/QueryOp) and ``run_in``.

The GUI thread runs the qasync event loop, so anything that blocks (``requests``, SQLite) runs on a worker:
a thread pool for the network (``pool="net"``) and a single thread for the local database (``pool="db"``), so
store access is serialised without locks. Results come back to the GUI thread through a queued Qt signal, not
through asyncio, so callbacks also arrive in tests where only a Qt event loop spins (``qtbot.waitSignal``).

Usage::

    Op(lambda: api.queue(), parent=self).success(self._show).failure(self._error).run()
    rows = await run_in("net", api.queue)
"""
from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, Literal, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")
Pool = Literal["net", "db"]

NET_WORKERS = 8

_pools: dict[str, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


class BlockingCallOnGuiThread(RuntimeError):
    """A network or database call was made from inside the GUI event loop: it would freeze the window."""


def executor(pool: Pool = "net") -> ThreadPoolExecutor:
    """The shared executor of a pool (created on first use, so importing this module starts no threads)."""
    with _pools_lock:
        ex = _pools.get(pool)
        if ex is None:
            if pool == "net":
                ex = ThreadPoolExecutor(max_workers=NET_WORKERS, thread_name_prefix="ws-net")
            elif pool == "db":
                ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ws-db")
            else:
                raise ValueError(f"unknown pool {pool!r}")
            _pools[pool] = ex
        return ex


def shutdown_pools(*, wait: bool = True) -> None:
    """At exit: let queued store writes (drafts, outbox) finish before the process ends."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for ex in pools:
        ex.shutdown(wait=wait, cancel_futures=False)


def on_gui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() == app.thread()


def ensure_off_gui_loop(what: str) -> None:
    """Refuse a blocking call made while the GUI thread's event loop is running (a slot, a callback, a
    coroutine under qasync). Plain test code outside any event loop may still call directly."""
    if on_gui_thread() and QThread.currentThread().loopLevel() > 0:
        raise BlockingCallOnGuiThread(f"{what} would block the GUI thread; run it through Op(...) or run_in()")


class _Dispatcher(QObject):
    """Lives in the GUI thread; a queued signal carries callables from worker threads to it."""

    sig_call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.sig_call.connect(self._call, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _call(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a callback's bug must not take the event loop down
            log.exception("error in a callback delivered to the GUI thread")


_dispatcher: _Dispatcher | None = None
_dispatcher_lock = threading.Lock()


def _get_dispatcher() -> _Dispatcher | None:
    global _dispatcher
    app = QCoreApplication.instance()
    if app is None:
        return None
    with _dispatcher_lock:
        if _dispatcher is None or not shiboken6.isValid(_dispatcher):
            d = _Dispatcher()
            if d.thread() != app.thread():
                d.moveToThread(app.thread())
            _dispatcher = d
        return _dispatcher


def call_on_gui(fn: Callable[[], None]) -> None:
    """Run ``fn`` on the GUI thread (soon, from the event loop). Without a Qt application (a headless script)
    it runs at once on the calling thread."""
    d = _get_dispatcher()
    if d is None:
        fn()
    else:
        d.sig_call.emit(fn)


_pending: dict[int, Op[Any]] = {}
_pending_lock = threading.Lock()
_tokens = itertools.count(1)


def _strip_tracebacks(exc: BaseException) -> None:
    """Keep the traceback as text and drop the frames: frames hold the locals of ``fn`` (a window, a model),
    and an exception that outlives its Op on a worker thread must not be what keeps them alive."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if e.__traceback__ is not None:
            e.add_note("".join(traceback.format_tb(e.__traceback__)).rstrip())
            e.__traceback__ = None
        e = e.__cause__ or e.__context__


class _Job:
    """What the worker runs. It lets go of ``fn`` (and what its closure holds) before announcing the result,
    and announces it with a token rather than the Op: the last reference to a QObject must never be dropped on a
    worker thread, where Python would delete it (a QTimer deleted off its thread crashes Qt later)."""

    __slots__ = ("fn", "future", "token")

    def __init__(self, fn: Callable[[], Any], future: Future[Any], token: int) -> None:
        self.fn: Callable[[], Any] | None = fn
        self.future: Future[Any] | None = future
        self.token = token

    def __call__(self) -> None:
        fn, fut = self.fn, self.future
        self.fn = self.future = None
        assert fn is not None and fut is not None
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - delivered to the failure callback
            del fn
            _strip_tracebacks(exc)
            fut.set_exception(exc)
            del exc
        else:
            del fn
            fut.set_result(result)
            del result
        call_on_gui(functools.partial(_deliver, self.token, fut))


def _deliver(token: int, fut: Future[Any]) -> None:
    with _pending_lock:
        op = _pending.pop(token, None)
    if op is not None:
        op._deliver(fut)


class Op(Generic[T]):
    """One background operation: ``fn`` on a worker, then ``success(result)`` or ``failure(exc)`` on the GUI
    thread. Skipped callbacks when ``parent`` is gone mean a closed window never gets touched.

    The Op is kept alive by a registry until its answer is delivered (callers usually drop it at once), and no
    reference cycle runs through it, so Python's cyclic garbage collector (which may run on any thread) never
    has to free a widget or model it holds."""

    def __init__(self, fn: Callable[[], T], *, parent: QObject | None = None, pool: Pool = "net") -> None:
        self._fn: Callable[[], T] | None = fn
        self._parent = parent
        self._pool: Pool = pool
        self._on_success: Callable[[T], Any] | None = None
        self._on_failure: Callable[[BaseException], Any] | None = None
        self.future: Future[T] | None = None
        # No connection to parent.destroyed: Qt deleting the C++ object (deleteLater, a closed window) is what
        # shiboken6.isValid() sees, and such a connection to a plain object's method adds slot bookkeeping
        # that the garbage collector then has to unwind.

    @property
    def parent_gone(self) -> bool:
        return self._parent is not None and not shiboken6.isValid(self._parent)

    def success(self, cb: Callable[[T], Any]) -> Op[T]:
        self._on_success = cb
        return self

    def failure(self, cb: Callable[[BaseException], Any]) -> Op[T]:
        self._on_failure = cb
        return self

    def run(self) -> Op[T]:
        """Start it; returns the Op itself (``op.future`` is a concurrent future of the result, for tests and
        for code that must wait, off the GUI thread)."""
        if self._fn is None:
            raise RuntimeError("an Op runs once")
        fut: Future[T] = Future()
        self.future = fut
        token = next(_tokens)
        with _pending_lock:
            _pending[token] = self
        job = _Job(self._fn, fut, token)
        self._fn = None
        executor(self._pool).submit(job)
        return self

    def _deliver(self, fut: Future[T]) -> None:
        try:
            if self.parent_gone:
                return
            exc = fut.exception()
            if exc is None:
                if self._on_success is not None:
                    self._on_success(fut.result())
            elif self._on_failure is not None:
                self._on_failure(exc)
            else:
                log.error("background operation failed: %r\n%s", exc, "\n".join(getattr(exc, "__notes__", [])))
        finally:
            # what the callbacks hold goes now, on the GUI thread
            self._on_success = self._on_failure = None
            self._parent = None


async def run_in(pool: Pool, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``await`` a blocking function on a worker pool from a coroutine (qasync: the loop is the GUI thread)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor(pool), functools.partial(fn, *args, **kwargs))
