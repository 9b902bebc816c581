"""A helper process that generates Reasoning-Gym items with string hashing fixed (PYTHONHASHSEED=0).

Some reasoning_gym generators iterate over sets of strings, so their items depend on the process's
hash seed (`reasoning_gym.HASH_DEPENDENT`). A process whose hashing is randomised (the default)
asks this worker for those items, which makes them the same in every process and every run.

Protocol over the worker's stdin/stdout: 8-byte big-endian length, then a pickle. Request:
`(dataset, options, seed)`; reply: `("ok", entry)` or `("error", message)`. Anything a generator
prints goes to stderr, so it cannot corrupt the replies. The worker exits when its stdin closes.
"""
from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

_HEADER = 8


def _read_frame(stream: Any) -> bytes | None:
    header = stream.read(_HEADER)
    if len(header) < _HEADER:
        return None
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


def _write_frame(stream: Any, payload: bytes) -> None:
    stream.write(len(payload).to_bytes(_HEADER, "big") + payload)
    stream.flush()


def main() -> None:
    """Serve requests until stdin closes."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints from generators go to stderr
    from . import reasoning_gym as rgt

    requests = sys.stdin.buffer
    while True:
        frame = _read_frame(requests)
        if frame is None:
            return
        dataset, options, seed = pickle.loads(frame)
        try:
            reply = ("ok", rgt.generate_entry(dataset, options, seed))
        except Exception as exc:  # reported to the parent, which raises it
            reply = ("error", f"{type(exc).__name__}: {exc}")
        _write_frame(replies, pickle.dumps(reply))


class WorkerClient:
    """The parent's side: starts the worker on first use (again after a fork or a crash)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _start(self) -> subprocess.Popen:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONHASHSEED="0")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from r1ci_env.tasks._rg_worker import main; main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self._pid = os.getpid()
        return self._process

    def generate(self, dataset: str, options: dict[str, Any], seed: int) -> dict:
        """The raw RG entry for `seed`, made in the worker."""
        with self._lock:
            process = self._process
            if process is None or self._pid != os.getpid() or process.poll() is not None:
                process = self._start()
            try:
                _write_frame(process.stdin, pickle.dumps((dataset, options, seed)))
                frame = _read_frame(process.stdout)
            except (BrokenPipeError, OSError):
                frame = None
            if frame is None:
                self._process = None
                raise RuntimeError(f"the Reasoning-Gym worker process died while generating rg.{dataset} "
                                   f"seed {seed} (exit code {process.poll()})")
            status, value = pickle.loads(frame)
        if status != "ok":
            raise RuntimeError(f"rg.{dataset} seed {seed}: {value}")
        return value

    def close(self) -> None:
        """Stop the worker (if this process started it)."""
        process, self._process = self._process, None
        if process is not None and self._pid == os.getpid():
            try:
                process.stdin.close()
                process.wait(timeout=5)
            except Exception:
                process.kill()
