"""The generation-backend contract shared by the HF and vLLM backends: token ids in, token ids and the
sampler's log-probs out, with one batcher that groups the turns of concurrent episodes.

A backend has `tokenizer`, `stats`, `generate(requests)` (one synchronous batch), `submit(request)` (the
thread-safe blocking form: concurrent callers are batched), `begin_episode()` / `end_episode()` (how many
episodes are live, so the batcher knows whom to wait for) and `close()`. `agents.hf.HFAgent` plays an
episode over any backend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class GenerationRequest:
    """Continue `context` (token ids) by at most `max_new_tokens` sampled tokens. `cache_key` names the
    episode: a backend may keep the state of a turn that stopped at a closing fence for that episode's
    next turn (whose context extends this one), until `release(cache_key)`."""

    context: list[int]
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop_at_fence: bool = True
    cache_key: object = None


@dataclass
class GenerationResult:
    token_ids: list[int]
    logprobs: list[float]
    stop_reason: str  # "fence", "eos" or "length"


@dataclass
class _Pending:
    request: GenerationRequest
    done: threading.Event = field(default_factory=threading.Event)
    result: GenerationResult | None = None
    error: BaseException | None = None


class BatchingBackend:
    """The batcher: `submit` queues a request and blocks; one worker thread starts a batch as soon as every
    live episode has a request pending, or when no new request has arrived for `gather_timeout_s`
    (episodes busy in the sandbox are not waited for), and runs `generate` on it. Subclasses implement
    `generate` and may override `_worker_setup` (runs once in the worker thread)."""

    def __init__(self, tokenizer, *, max_batch_size: int = 64, gather_timeout_s: float = 0.02) -> None:
        self.tokenizer = tokenizer
        self.max_batch_size = max_batch_size
        self.gather_timeout_s = gather_timeout_s
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._active = 0
        self._last_arrival = 0.0
        self._worker: threading.Thread | None = None
        self._closed = False
        self.stats = {"batches": 0, "rows": 0, "generated_tokens": 0, "seconds": 0.0}

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Sample continuations for `requests` (one synchronous batch)."""
        raise NotImplementedError

    def _worker_setup(self) -> None:
        """Per-thread setup of the worker (e.g. torch's thread count)."""

    # -- the batcher --------------------------------------------------------------------------
    def begin_episode(self) -> None:
        with self._cond:
            self._active += 1

    def end_episode(self) -> None:
        with self._cond:
            self._active = max(self._active - 1, 0)
            self._cond.notify_all()

    def submit(self, request: GenerationRequest) -> GenerationResult:
        """Queue `request`, wait for the batch it joins, return its result."""
        item = _Pending(request)
        with self._cond:
            if self._closed:
                raise RuntimeError("the backend is closed")
            self._pending.append(item)
            self._last_arrival = time.monotonic()
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._loop, name=f"{type(self).__name__}-batcher", daemon=True)
                self._worker.start()
            self._cond.notify_all()
        item.done.wait()
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[return-value]

    def _loop(self) -> None:
        self._worker_setup()
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed and not self._pending:
                    return
                while len(self._pending) < min(self.max_batch_size, max(self._active, 1)):
                    left = self._last_arrival + self.gather_timeout_s - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._pending = self._pending[: self.max_batch_size], self._pending[self.max_batch_size :]
            try:
                results = self.generate([item.request for item in batch])
                for item, result in zip(batch, results):
                    item.result = result
            except BaseException as exc:  # hand the error to every waiting caller
                for item in batch:
                    item.error = exc
            for item in batch:
                item.done.set()

    def release(self, cache_key: object) -> None:
        """Forget what was kept for episode `cache_key` (no-op here; see `GenerationRequest`)."""

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
