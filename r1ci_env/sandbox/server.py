"""`r1ci sandbox serve`: an HTTP service in front of one sandbox pool, shared by every rollout worker
that points `sandbox="remote"` at it (FastAPI on uvicorn).

Endpoints (JSON; all but `/healthz` need `Authorization: Bearer <token>` when a token is set):

- `GET /healthz`: liveness, `{"status": "ok"}`.
- `GET /v1/capacity`: slots, running, queued, queue bound, open sessions, runs completed.
- `POST /v1/run` `{code, timeout}`: the full `ExecResult` (stdout, stderr, exit_code, timed_out,
  duration, truncated).
- `POST /run_code`: SandboxFusion's request and response shape (python only).
- `POST /v1/sessions`, `POST /v1/sessions/{id}/run`, `DELETE /v1/sessions/{id}`: stateful mode; a
  session holds one pool slot on this server until closed or idle for `session_ttl` seconds.

A program's own failure or timeout is a 200 with its result. Errors: 400/422 bad request, 401 missing
or wrong token, 404 unknown session, 409 session busy, 429 queue full (with `Retry-After`), 501 no
session mode, 503 the sandbox itself failed. Every authenticated answer carries `X-R1CI-Slots` and
`X-R1CI-Active`, which the `remote` client uses for least-loaded routing.
"""

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..settings import SANDBOX_TOKEN_VAR, sandbox_token
from .base import DEFAULT_TIMEOUT, ExecResult, Sandbox, SandboxError, SandboxSession

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger("r1ci.sandbox.server")

SLOTS_HEADER = "X-R1CI-Slots"
ACTIVE_HEADER = "X-R1CI-Active"
DEFAULT_PORT = 8080
DEFAULT_MAX_QUEUE = 256
DEFAULT_SESSION_TTL = 600.0
DEFAULT_MAX_TIMEOUT = 300.0
RETRY_AFTER_S = 1


class Rejected(Exception):
    """A request the service answers with an error status instead of a result."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IP literals; any other name counts as exposed."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve arbitrary code execution beyond loopback without a bearer token."""
    if not is_loopback(host) and not token:
        raise ValueError(
            f"refusing to bind {host!r} without a token: anyone who can reach it could run code; "
            f"set ${SANDBOX_TOKEN_VAR} (or --token), or bind 127.0.0.1"
        )


@dataclass
class _OpenSession:
    session: SandboxSession
    last_used: float = field(default_factory=time.monotonic)
    busy: bool = False


class SandboxService:
    """Admission control, sessions and result shaping around one sandbox; the HTTP layer is thin.

    At most `slots` runs reach the sandbox at once and `max_queue` more wait their turn; beyond that a
    run is rejected at once (429) rather than left to time out. Sessions run on their own threads, so
    a session's next cell never waits behind stateless runs that wait for the session's slot."""

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        slots: int,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_sessions: int | None = None,
        session_ttl: float = DEFAULT_SESSION_TTL,
        max_timeout: float = DEFAULT_MAX_TIMEOUT,
    ) -> None:
        if slots < 1 or max_queue < 0:
            raise ValueError(f"slots must be >= 1 and max_queue >= 0, got {slots} and {max_queue}")
        self.sandbox = sandbox
        self.slots = slots
        self.max_queue = max_queue
        self.max_sessions = slots if max_sessions is None else max_sessions
        self.session_ttl = session_ttl
        self.max_timeout = max_timeout
        self.active = 0  # admitted stateless runs, running or queued; touched only on the event loop
        self.completed = 0
        self.sessions: dict[str, _OpenSession] = {}
        self._runs = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="r1ci-serve-run")
        self._session_threads = ThreadPoolExecutor(
            max_workers=self.max_sessions + 4, thread_name_prefix="r1ci-serve-session"
        )

    # -- stateless runs

    def check_timeout(self, timeout: float) -> float:
        """The timeout if it is in (0, max_timeout], else `Rejected(400)`."""
        if not 0 < timeout <= self.max_timeout:
            raise Rejected(400, "bad_request", f"timeout must be in (0, {self.max_timeout:g}] seconds, got {timeout}")
        return timeout

    async def run(self, code: str, timeout: float) -> ExecResult:
        """Run one program; a sandbox failure becomes `Rejected(503)`, a full queue `Rejected(429)`."""
        self.check_timeout(timeout)
        if self.active >= self.slots + self.max_queue:
            raise Rejected(
                429,
                "overloaded",
                f"sandbox server busy: {self.slots} runs running and "
                f"{self.max_queue} queued; retry later or add servers",
            )
        self.active += 1
        try:
            result = await self._call(self._runs, self.sandbox.run, code, timeout)
        finally:
            self.active -= 1
        self.completed += 1
        return result

    @staticmethod
    async def _call(pool: ThreadPoolExecutor, fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except NotImplementedError as exc:
            raise Rejected(501, "not_supported", str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - a program's failure is a result, so any raise is ours
            log.warning("sandbox failure: %s: %s", type(exc).__name__, exc)
            raise Rejected(503, "SandboxError", f"{type(exc).__name__}: {exc}") from exc

    # -- sessions

    async def open_session(self) -> str:
        if len(self.sessions) >= self.max_sessions:
            raise Rejected(
                429,
                "overloaded",
                f"sandbox server has {self.max_sessions} sessions open; close one, retry later or add servers",
            )
        session = await self._call(self._session_threads, self.sandbox.session)
        session_id = uuid.uuid4().hex
        self.sessions[session_id] = _OpenSession(session)
        return session_id

    async def run_in_session(self, session_id: str, code: str, timeout: float) -> ExecResult:
        self.check_timeout(timeout)
        entry = self._session(session_id)
        if entry.busy:
            raise Rejected(409, "busy", f"session {session_id} is already running a call")
        entry.busy = True
        try:
            result = await self._call(self._session_threads, entry.session.run, code, timeout)
        except Rejected:
            await self.close_session(session_id)  # its interpreter is gone; free the slot
            raise
        finally:
            entry.busy = False
            entry.last_used = time.monotonic()
        self.completed += 1
        return result

    async def close_session(self, session_id: str) -> None:
        entry = self.sessions.pop(session_id, None)
        if entry is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(self._session_threads, entry.session.close)

    def _session(self, session_id: str) -> _OpenSession:
        entry = self.sessions.get(session_id)
        if entry is None:
            raise Rejected(
                404,
                "not_found",
                f"no open session {session_id} on this server (closed, expired or the server restarted)",
            )
        return entry

    async def reap_idle_sessions(self) -> None:
        """Close sessions idle for longer than `session_ttl` (their client died or forgot them)."""
        while True:
            await asyncio.sleep(max(1.0, self.session_ttl / 4))
            cutoff = time.monotonic() - self.session_ttl
            for session_id, entry in list(self.sessions.items()):
                if not entry.busy and entry.last_used < cutoff:
                    log.info("closing session %s: idle for more than %.0f s", session_id, self.session_ttl)
                    await self.close_session(session_id)

    async def shutdown(self) -> None:
        for session_id in list(self.sessions):
            await self.close_session(session_id)
        self._runs.shutdown(wait=False, cancel_futures=True)
        self._session_threads.shutdown(wait=False, cancel_futures=True)

    # -- reports

    def capacity(self) -> dict[str, Any]:
        return {
            "backend": self.sandbox.backend,
            "slots": self.slots,
            "running": min(self.active, self.slots),
            "queued": max(0, self.active - self.slots),
            "max_queue": self.max_queue,
            "sessions": len(self.sessions),
            "max_sessions": self.max_sessions,
            "completed": self.completed,
        }

    def load_headers(self) -> dict[str, str]:
        return {SLOTS_HEADER: str(self.slots), ACTIVE_HEADER: str(self.active + len(self.sessions))}


def sandboxfusion_response(result: ExecResult) -> dict[str, Any]:
    """An `ExecResult` in SandboxFusion's `RunCodeResponse` shape."""
    return {
        "status": "Success" if result.ok else "Failed",
        "message": "",
        "compile_result": None,
        "run_result": {
            "status": "TimeLimitExceeded" if result.timed_out else "Finished",
            "execution_time": result.duration,
            "return_code": result.exit_code,
            "stdout": result.stdout,
            "stderr": result.stderr,
        },
        "executor_pod_name": None,
        "files": {},
    }


def create_app(service: "SandboxService", *, token: str | None = None, close_sandbox: bool = False) -> "FastAPI":
    """The FastAPI app serving `service`; `close_sandbox=True` closes its sandbox at shutdown.
    (This module does not use postponed annotations: FastAPI reads these local classes' hints.)"""
    from fastapi import APIRouter, Depends, FastAPI, Request
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field

    class RunRequest(BaseModel):
        code: str
        timeout: float = DEFAULT_TIMEOUT

    class RunCodeRequest(BaseModel):
        """SandboxFusion's request; fields r1ci cannot honour are refused when set, the rest ignored
        (`compile_timeout`; `memory_limit_MB`: the pool's own per-run limit applies)."""

        model_config = ConfigDict(extra="allow")
        code: str
        language: str
        run_timeout: float = DEFAULT_TIMEOUT
        stdin: str | None = None
        files: dict[str, str | None] = Field(default_factory=dict)
        fetch_files: list[str] = Field(default_factory=list)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.create_task(service.reap_idle_sessions())
        try:
            yield
        finally:
            reaper.cancel()
            await service.shutdown()
            if close_sandbox:
                service.sandbox.close()

    async def authorize(request: Request) -> None:  # async: a plain def would cost a thread hop
        if token is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise Rejected(401, "unauthorized", "missing or wrong bearer token")

    app = FastAPI(title="r1ci sandbox server", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    api = APIRouter(dependencies=[Depends(authorize)])

    @app.exception_handler(Rejected)
    async def rejected(request: Request, exc: Rejected) -> JSONResponse:
        body: dict[str, Any] = {"error": exc.kind, "detail": exc.detail}
        if request.url.path == "/run_code" and exc.status in (429, 503):  # SandboxFusion clients read these
            body.update(status="SandboxError", message=exc.detail)
        headers = service.load_headers() if exc.status != 401 else {}
        if exc.status == 429:
            headers["Retry-After"] = str(RETRY_AFTER_S)
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(body, status_code=exc.status, headers=headers)

    def answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
        return JSONResponse(body, status_code=status, headers=service.load_headers())

    @app.get("/healthz")  # outside the token check: liveness probes carry no token
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/v1/capacity")
    async def capacity() -> JSONResponse:
        return answer(service.capacity())

    @api.post("/v1/run")
    async def run(body: RunRequest) -> JSONResponse:
        return answer((await service.run(body.code, body.timeout)).to_dict())

    @api.post("/run_code")
    async def run_code(body: RunCodeRequest) -> JSONResponse:
        if body.language not in ("python", "python3"):
            raise Rejected(400, "not_supported", f"language {body.language!r} is not supported: r1ci runs python only")
        if body.stdin or body.files or body.fetch_files:
            raise Rejected(
                400,
                "not_supported",
                "stdin, files and fetch_files are not supported: r1ci runs "
                "self-contained programs with stdin from /dev/null",
            )
        try:
            result = await service.run(body.code, body.run_timeout)
        except Rejected as exc:
            if exc.status != 503:
                raise
            return answer(
                {
                    "status": "SandboxError",
                    "message": exc.detail,
                    "compile_result": None,
                    "run_result": None,
                    "executor_pod_name": None,
                    "files": {},
                }
            )
        return answer(sandboxfusion_response(result))

    @api.post("/v1/sessions")
    async def open_session() -> JSONResponse:
        return answer({"session_id": await service.open_session()}, status=201)

    @api.post("/v1/sessions/{session_id}/run")
    async def session_run(session_id: str, body: RunRequest) -> JSONResponse:
        return answer((await service.run_in_session(session_id, body.code, body.timeout)).to_dict())

    @api.delete("/v1/sessions/{session_id}")
    async def close_session(session_id: str) -> JSONResponse:
        service._session(session_id)  # 404 for an unknown id
        await service.close_session(session_id)
        return answer({"closed": session_id})

    app.include_router(api)
    return app


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


def serve(
    host: str,
    port: int,
    *,
    token: str | None,
    backend: str = "docker",
    slots: int,
    pool_options: dict[str, Any] | None = None,
    **service_options: Any,
) -> None:
    """Start the sandbox, bind `host:port` (0: any free port) and serve until SIGINT/SIGTERM. Prints
    one line `r1ci sandbox serve: listening on http://HOST:PORT ...` once it accepts connections."""
    import uvicorn

    from . import make_sandbox

    check_exposure(host, token)
    sock = _bind(host, port)
    sandbox = make_sandbox(backend, **(pool_options or {}))
    try:
        service = SandboxService(sandbox, slots=slots, **service_options)
        app = create_app(service, token=token, close_sandbox=True)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=75))
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        print(
            f"r1ci sandbox serve: listening on http://{shown}:{sock.getsockname()[1]} ({backend}, {slots} slots, "
            f"queue {service.max_queue}, auth {'on' if token else 'off'})",
            flush=True,
        )
        server.run(sockets=[sock])
    finally:
        sock.close()
        sandbox.close()


def spawn(*options: str) -> tuple[subprocess.Popen, str]:
    """Start `python -m r1ci_env.sandbox.server --port 0 OPTIONS` as a child process; returns it and
    its URL once it listens, or raises `SandboxError` with the server's own message if it exits first."""
    root = str(Path(__file__).resolve().parents[2])  # this copy of r1ci_env, also when not installed
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "r1ci_env.sandbox.server", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    seen = ""
    for line in proc.stdout:  # warnings, then the line printed once listening; or the error it exits with
        if "listening on http://" in line:
            return proc, line.split("listening on ")[1].split()[0]
        seen = line.strip() or seen
    proc.wait(timeout=60)
    raise SandboxError(f"the sandbox server did not start: {seen or f'exit status {proc.returncode}'}")


def stop(proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Stop a spawned server gracefully (SIGTERM: sessions and containers closed), else kill it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `r1ci sandbox serve`."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; any non-loopback address needs a token)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)")
    parser.add_argument(
        "--token",
        default=None,
        help=f"bearer token clients must send (default ${SANDBOX_TOKEN_VAR}; prefer the variable: "
        "a flag is visible in the process list)",
    )
    parser.add_argument(
        "--backend",
        choices=("docker", "local"),
        default="docker",
        help="sandbox behind the server (default docker; local is much weaker)",
    )
    parser.add_argument(
        "--image", default=None, help="docker image (default $R1CI_SANDBOX_IMAGE or r1ci-sandbox:latest)"
    )
    parser.add_argument("--containers", type=int, default=2, help="docker pool containers (default 2)")
    parser.add_argument("--slots", type=int, default=4, help="concurrent runs per container (default 4)")
    parser.add_argument("--strict", action="store_true", help="one slot per container")
    parser.add_argument(
        "--max-queue",
        type=int,
        default=DEFAULT_MAX_QUEUE,
        help=f"runs allowed to wait for a slot before the server answers 429 (default {DEFAULT_MAX_QUEUE})",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=None,
        help="open stateful sessions allowed, each holding a slot (default: the slot count)",
    )
    parser.add_argument(
        "--session-ttl",
        type=float,
        default=DEFAULT_SESSION_TTL,
        help=f"close sessions idle this many seconds (default {DEFAULT_SESSION_TTL:g})",
    )
    parser.add_argument(
        "--max-timeout",
        type=float,
        default=DEFAULT_MAX_TIMEOUT,
        help=f"largest per-run timeout a client may ask for, seconds (default {DEFAULT_MAX_TIMEOUT:g})",
    )


def serve_command(args: argparse.Namespace) -> int:
    """`r1ci sandbox serve`: run the server in the foreground; a one-line error on bad settings."""
    token = args.token or sandbox_token()
    if args.backend == "docker":
        pool_options: dict[str, Any] = {"containers": args.containers, "slots": args.slots, "strict": args.strict}
        if args.image:
            pool_options["image"] = args.image
        slots = args.containers * (1 if args.strict else args.slots)
    else:
        pool_options, slots = {}, args.containers * args.slots
    try:
        serve(
            args.host,
            args.port,
            token=token,
            backend=args.backend,
            slots=slots,
            pool_options=pool_options,
            max_queue=args.max_queue,
            max_sessions=args.max_sessions,
            session_ttl=args.session_ttl,
            max_timeout=args.max_timeout,
        )
    except (ValueError, OSError, SandboxError) as exc:
        print(f"r1ci sandbox serve: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m r1ci_env.sandbox.server` (the same as `r1ci sandbox serve`)."""
    parser = argparse.ArgumentParser(
        prog="r1ci sandbox serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    logging.basicConfig(level=os.environ.get("R1CI_LOG_LEVEL", "WARNING"))
    return serve_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
