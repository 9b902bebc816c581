"""Awaitable wrappers for blocking sandbox and env calls: they run on a bounded set of worker threads,
so an asyncio rollout loop driving thousands of episodes is never blocked by a step or a code run.

The workers are started by a helper thread, never by the event loop: starting a thread waits until
it runs, and 64 such waits in one loop iteration of a busy machine stall the loop for ~100 ms. Calls
beyond the worker count wait in a queue; the loop itself only enqueues and receives results."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_WORKERS = 64

_lock = threading.Lock()
_pools: dict[int, _Workers] = {}  # keyed by pid: a forked child builds its own
_workers = DEFAULT_WORKERS


class _Workers:
    """A fixed set of daemon threads running blocking calls for any event loop."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._start, daemon=True, name="r1ci-async-starter").start()

    def _start(self) -> None:
        for index in range(self.count):
            threading.Thread(target=self._work, daemon=True, name=f"r1ci-async-{index}").start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            loop, future, fn, args = item
            try:
                outcome, value = _set_result, fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                outcome, value = _set_exception, exc
            try:
                loop.call_soon_threadsafe(outcome, future, value)
            except RuntimeError:
                pass  # the loop was closed while the call ran; nobody is waiting

    def submit(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], args: tuple) -> asyncio.Future:
        future = loop.create_future()
        self._queue.put((loop, future, fn, args))
        return future

    def stop(self) -> None:
        for _ in range(self.count):
            self._queue.put(None)


def _set_result(future: asyncio.Future, value: Any) -> None:
    if not future.cancelled():
        future.set_result(value)


def _set_exception(future: asyncio.Future, exc: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(exc)


def set_max_workers(workers: int) -> None:
    """How many blocking calls run at once (default 64); later calls wait their turn. Applies to
    the workers created next (call it before the first awaitable call)."""
    global _workers
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    with _lock:
        _workers = workers
        pool = _pools.pop(os.getpid(), None)
    if pool is not None:
        pool.stop()


def _pool() -> _Workers:
    with _lock:
        pid = os.getpid()
        if pid not in _pools:
            _pools[pid] = _Workers(_workers)
        return _pools[pid]


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on the worker threads, awaited without blocking the event loop. Cancelling the
    await does not stop a call that has already started."""
    return await _pool().submit(asyncio.get_running_loop(), fn, args)
