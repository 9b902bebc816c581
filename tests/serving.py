"""A real `transformers serve` of a local model directory on 127.0.0.1, as a subprocess, for tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def skip_without_serving() -> None:
    """Skip unless the serving extra (transformers[serving]) is installed."""
    for module in ("fastapi", "uvicorn", "openai"):
        pytest.importorskip(module, reason="needs transformers[serving] (pip install 'r1ci[serve]')")


@contextlib.contextmanager
def transformers_serve(model_dir: str | Path, log_path: Path, startup_s: float = 180) -> Iterator[str]:
    """Serve `model_dir` on CPU with one thread; yields the OpenAI base URL and stops the server after.
    Fails the test with the server's log if it exits or does not come up within `startup_s`."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log_path, "w+") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "transformers.cli.transformers",
                "serve",
                str(model_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--device",
                "cpu",
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + startup_s
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"transformers serve exited with {process.returncode}:\n{log.read()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"transformers serve did not come up within {startup_s:.0f} s")
                time.sleep(0.5)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
