"""The `local` backend: each run is a fresh `python3` subprocess with resource limits.

Weaker than `docker`: the program runs as the calling user, can read that user's files and can reach
the network. Use it only where Docker is unavailable and the code is trusted enough; it is never
chosen silently.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .base import DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TIMEOUT, ExecResult, Sandbox
from .executor import read_head_tail

EXECUTOR_PATH = str(Path(__file__).with_name("executor.py"))


class LocalSandbox(Sandbox):
    """A subprocess per run, killed with its whole process group at the timeout."""

    backend = "local"

    def __init__(
        self,
        *,
        python: str = sys.executable,
        memory_mb: int = 2048,
        max_file_bytes: int = 16 * 1024 * 1024,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    ) -> None:
        self.python = python
        self.memory_bytes = memory_mb * 1024 * 1024
        self.max_file_bytes = max_file_bytes
        self.max_output_bytes = max_output_bytes

    def run(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        workdir = tempfile.mkdtemp(prefix="r1ci-run-")
        try:
            return self._run_in(workdir, code, timeout)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _run_in(self, workdir: str, code: str, timeout: float) -> ExecResult:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": workdir,
            "TMPDIR": workdir,
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        cpu_seconds = int(timeout) + 2
        argv = [
            self.python,
            "-I",
            EXECUTOR_PATH,
            "--stdin",
            str(self.memory_bytes),
            str(cpu_seconds),
            str(self.max_file_bytes),
        ]
        with open(os.path.join(workdir, ".stdout"), "w+b") as out, open(os.path.join(workdir, ".stderr"), "w+b") as err:
            start = time.monotonic()
            proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=workdir, env=env, start_new_session=True
            )
            timed_out = False
            try:
                proc.communicate(code.encode("utf-8", "surrogatepass"), timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)
                proc.wait()
            duration = time.monotonic() - start
            stdout, cut_out = read_head_tail(out.fileno(), self.max_output_bytes)
            stderr, cut_err = read_head_tail(err.fileno(), self.max_output_bytes)
        return ExecResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=-signal.SIGKILL if timed_out else proc.returncode,
            timed_out=timed_out,
            duration=duration,
            truncated=cut_out or cut_err,
        )


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
