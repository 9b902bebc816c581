"""The `remote` backend: runs code on one or more `r1ci sandbox serve` servers over HTTP (httpx).

Each run goes to the least-loaded live server (this process's requests in flight plus its open
sessions, per slot, ties broken by the load the server last reported). A failed connection, a broken
answer, a full queue (429) or a sandbox failure on the server (503) is an infrastructure error: the
run is retried on another server, and after `retries` it raises `SandboxError`, never program output.
A program's own failure or timeout is a normal result and is never retried. A session lives on one
server; if that server fails, the session's calls raise `SandboxError` (its state is gone).
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ..settings import SANDBOX_URLS_VAR, sandbox_token, sandbox_urls
from .base import DEFAULT_TIMEOUT, ExecResult, Sandbox, SandboxError, SandboxSession

RETRYABLE = (429, 503)
_SLACK_S = 30.0  # beyond a run's own timeout before the client gives up on an answer
_COOLDOWN_S = 5.0  # a server that failed a connection is tried last for this long
_BUSY_WAIT_S = 1.0  # pause before retrying when every server said 429


def resolve_urls(urls: Sequence[str] | str | None) -> tuple[str, ...]:
    """Server base URLs from a list, a comma-separated string, or `$R1CI_SANDBOX_URLS` when None."""
    given = sandbox_urls() if urls is None else ([u for u in urls.split(",")] if isinstance(urls, str) else list(urls))
    cleaned = tuple(u.strip().rstrip("/") for u in given if u and u.strip())
    if not cleaned:
        raise ValueError(
            f"the remote sandbox needs server URLs: pass urls=[...] (sandbox_urls=[...] to gym.make) "
            f"or set ${SANDBOX_URLS_VAR}"
        )
    for url in cleaned:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"sandbox server URL must start with http:// or https://, got {url!r}")
    return cleaned


@dataclass
class _Server:
    url: str
    slots: int = 1  # learnt from the server's headers
    reported_active: int = 0
    in_flight: int = 0  # this process's requests
    sessions: int = 0  # this process's open sessions
    down_until: float = 0.0

    def load(self) -> tuple[float, float, float]:
        return ((self.in_flight + self.sessions + 1) / self.slots, self.reported_active / self.slots, random.random())


class _Retry(Exception):
    """An infrastructure failure on one server; another may succeed. `busy`: it answered 429."""

    def __init__(self, message: str, busy: bool = False) -> None:
        super().__init__(message)
        self.busy = busy


class RemoteSandbox(Sandbox):
    """A client of one or more sandbox servers. Thread-safe; keep-alive connections are reused."""

    backend = "remote"

    def __init__(
        self,
        urls: Sequence[str] | str | None = None,
        *,
        token: str | None = None,
        retries: int = 2,
        connect_timeout: float = 5.0,
        max_connections: int = 512,
    ) -> None:
        self.urls = resolve_urls(urls)
        self.retries = retries
        self.infra_failures = 0  # attempts that failed for infrastructure reasons (then retried or raised)
        self._servers = [_Server(url) for url in self.urls]
        self._lock = threading.Lock()
        token = token or sandbox_token()
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=httpx.Timeout(DEFAULT_TIMEOUT + _SLACK_S, connect=connect_timeout),
            transport=httpx.HTTPTransport(  # no Nagle delay: a request is headers then body
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                # certificates are loaded only for https: loading them holds the GIL for ~100 ms
                verify=any(url.startswith("https://") for url in self.urls),
                limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            ),
        )
        self._transport_errors = (httpx.TransportError, ValueError)  # ValueError: a body that is not JSON

    # -- routing

    def _pick(self, exclude: set[str]) -> _Server:
        with self._lock:
            now = time.monotonic()
            candidates = [s for s in self._servers if s.url not in exclude] or list(self._servers)
            live = [s for s in candidates if s.down_until <= now] or candidates
            return min(live, key=_Server.load)

    def _request(self, server: _Server, method: str, path: str, body: dict | None, timeout: float) -> Any:
        """One HTTP call to `server`; the JSON answer, `_Retry` for an infrastructure failure, or
        `SandboxError` for a refusal that another try would not change (bad request, auth)."""
        with self._lock:
            server.in_flight += 1
        try:
            response = self._client.request(method, server.url + path, json=body, timeout=timeout + _SLACK_S)
            data = response.json()
        except self._transport_errors as exc:
            with self._lock:
                server.down_until = time.monotonic() + _COOLDOWN_S
            raise _Retry(f"{server.url}: {type(exc).__name__}: {exc}") from exc
        finally:
            with self._lock:
                server.in_flight -= 1
        self._note_load(server, response.headers)
        if response.is_success:
            return data
        detail = f"{server.url}{path} answered {response.status_code}: {_detail(data)}"
        if response.status_code in RETRYABLE:
            raise _Retry(detail, busy=response.status_code == 429)
        raise SandboxError(f"sandbox server refused the request: {detail}")

    def _note_load(self, server: _Server, headers: Any) -> None:
        with self._lock:
            try:
                server.slots = max(1, int(headers.get("x-r1ci-slots", server.slots)))
                server.reported_active = int(headers.get("x-r1ci-active", server.reported_active))
            except ValueError:
                pass

    def _with_retries(
        self, what: str, method: str, path: str, body: dict | None, timeout: float
    ) -> tuple[_Server, Any]:
        """Try servers in least-loaded order until one answers, at most `1 + retries` times."""
        failures: list[str] = []
        tried: set[str] = set()
        busy: set[str] = set()
        for _attempt in range(1 + self.retries):
            if busy and len(busy) == len(self._servers):
                time.sleep(_BUSY_WAIT_S)  # every server said 429: back off before asking again
                busy.clear()
            server = self._pick(tried)
            tried.add(server.url)
            try:
                return server, self._request(server, method, path, body, timeout)
            except _Retry as exc:
                failures.append(str(exc))
                with self._lock:
                    self.infra_failures += 1
                if exc.busy:
                    busy.add(server.url)
        raise SandboxError(
            f"{what} failed {len(failures)} time(s) (infrastructure, not the program): " + "; ".join(failures)
        )

    # -- public

    def run(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        _, data = self._with_retries(
            "remote sandbox run", "POST", "/v1/run", {"code": code, "timeout": timeout}, timeout
        )
        return _exec_result(data)

    def session(self) -> RemoteSession:
        """A stateful interpreter on one server (opening it may try several)."""
        server, data = self._with_retries("opening a remote sandbox session", "POST", "/v1/sessions", None, 60.0)
        with self._lock:
            server.sessions += 1
        return RemoteSession(self, server, str(data["session_id"]))

    def capacity(self) -> dict[str, dict]:
        """Each server's `/v1/capacity` report, or `{"error": ...}` for one that did not answer."""
        reports = {}
        for server in self._servers:
            try:
                reports[server.url] = self._request(server, "GET", "/v1/capacity", None, 10.0)
            except (_Retry, SandboxError) as exc:
                reports[server.url] = {"error": str(exc)}
        return reports

    def close(self) -> None:
        self._client.close()


class RemoteSession(SandboxSession):
    """A session on one sandbox server. Not thread-safe: one call at a time, like one episode."""

    def __init__(self, owner: RemoteSandbox, server: _Server, session_id: str) -> None:
        self._owner = owner
        self._server: _Server | None = server
        self.session_id = session_id

    @property
    def url(self) -> str | None:
        """The server holding this session (None once closed or lost)."""
        return self._server.url if self._server else None

    def run(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        server = self._server
        if server is None:
            raise SandboxError("the sandbox session is closed")
        try:
            data = self._owner._request(
                server, "POST", f"/v1/sessions/{self.session_id}/run", {"code": code, "timeout": timeout}, timeout
            )
        except (_Retry, SandboxError) as exc:
            self._forget()
            raise SandboxError(f"sandbox session lost (infrastructure, not the program): {exc}") from exc
        return _exec_result(data)

    def close(self) -> None:
        server = self._server
        if server is None:
            return
        try:
            self._owner._request(server, "DELETE", f"/v1/sessions/{self.session_id}", None, 30.0)
        except (_Retry, SandboxError):
            pass  # the server or the session is already gone
        self._forget()

    def _forget(self) -> None:
        if self._server is not None:
            with self._owner._lock:
                self._server.sessions -= 1
            self._server = None


def _exec_result(data: Any) -> ExecResult:
    """The server's JSON as an `ExecResult`; a malformed answer is an infrastructure error."""
    try:
        return ExecResult(
            stdout=str(data["stdout"]),
            stderr=str(data["stderr"]),
            exit_code=int(data["exit_code"]),
            timed_out=bool(data["timed_out"]),
            duration=float(data["duration"]),
            truncated=bool(data["truncated"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SandboxError(f"malformed answer from the sandbox server: {exc!r}") from exc


def _detail(data: Any) -> str:
    return str(data.get("detail", data)) if isinstance(data, dict) else str(data)[:200]
