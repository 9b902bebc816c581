"""A helper process that generates Reasoning-Gym items with string hashing fixed (PYTHONHASHSEED=0),
in a scratch working directory, with its output discarded.

Some reasoning_gym generators iterate over sets of strings, so their items depend on the process's
hash seed (`reasoning_gym.HASH_DEPENDENT`): a process whose hashing is randomised (the default) asks
this worker for those items, which makes them the same in every process and every run. codeio's
generator runs code snippets from its data file (they print, warn, start threads and look for files
in the working directory), so its items are always made here (`reasoning_gym.ISOLATED`).

Protocol over the worker's stdin/stdout: 8-byte big-endian length, then a pickle. Request:
`(dataset, options, seed)`; reply: `("ok", entry)` or `("error", message)`. The worker's own file
descriptors 1 and 2 point at /dev/null, so nothing a generator prints can corrupt the replies or
reach the user's terminal. The worker exits when its stdin closes.
"""

from __future__ import annotations

import atexit
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
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


def main(generate: Callable[[str, dict[str, Any], int], dict]) -> None:
    """Serve requests with `generate` (the adapter's `generate_entry`, passed in so that this module
    does not import the adapter that imports it) until stdin closes."""
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # whatever generators print is discarded
    os.dup2(devnull, 2)
    import warnings

    warnings.simplefilter("ignore")
    requests = sys.stdin.buffer
    while True:
        frame = _read_frame(requests)
        if frame is None:
            return
        dataset, options, seed = pickle.loads(frame)
        try:
            reply = ("ok", generate(dataset, options, seed))
        except Exception as exc:  # reported to the parent, which raises it
            reply = ("error", f"{type(exc).__name__}: {exc}")
        _write_frame(replies, pickle.dumps(reply))


class WorkerClient:
    """The parent's side: starts the worker on first use (again after a fork or a crash)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._pid: int | None = None
        self._scratch: str | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _start(self) -> subprocess.Popen:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONHASHSEED="0")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._scratch = tempfile.mkdtemp(prefix="r1ci-rg-worker-")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from r1ci_env.tasks._rg_worker import main; "
                "from r1ci_env.tasks.reasoning_gym import generate_entry; main(generate_entry)",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=self._scratch,
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
                raise RuntimeError(
                    f"the Reasoning-Gym worker process died while generating rg.{dataset} "
                    f"seed {seed} (exit code {process.poll()})"
                )
            status, value = pickle.loads(frame)
        if status != "ok":
            raise RuntimeError(f"rg.{dataset} seed {seed}: {value}")
        return value

    def close(self) -> None:
        """Stop the worker and remove its scratch directory (if this process started it)."""
        process, self._process = self._process, None
        if self._pid != os.getpid():
            return
        if process is not None:
            try:
                process.stdin.close()
                process.wait(timeout=5)
            except Exception:
                process.kill()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
