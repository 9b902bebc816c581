"""r1ci as an OpenEnv environment server (openenv-core 0.3.x): one r1ci env per WebSocket session.

The protocol is r1ci's own, unchanged: `reset(task=..., seed=..., **knobs)` returns the prompt, each
`step(R1CIAction(text=...))` takes the model's next text and returns the observation text
("\\nCode Execution Results:\\n..." or "" when the episode ends), the reward and the env's info. A trainer
that appends each observation inside the same assistant message trains on the exact R1-CI format.

Server: `r1ci serve openenv --host 127.0.0.1 --port 8000 --max-sessions 64` (or `make_app` in Python).
Client: `R1CIEnvClient("ws://host:8000")` (async; `.sync()` for a blocking one) or `client_factory(urls)`
to spread sessions round-robin over several servers.

A sandbox failure is not program output: the step fails with an error message over the WebSocket (the
client raises), the episode is left as it was, and the same step may be sent again.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server.http_server import create_app
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field

from ..env import CodeInterpreterEnv
from .episode import DEFAULT_MAX_SESSIONS, EnvSettings


class R1CIAction(Action):
    """The model's next text (one required field, so generic OpenEnv clients can send a raw reply)."""

    text: str = Field(description="the model's next text: reasoning, a ```python block, or the final answer")


class R1CIObservation(Observation):
    """The prompt (after reset) or the observation text (after a step), with r1ci's info dict."""

    text: str = Field(default="", description="the prompt after reset; the execution results after a step")
    info: dict[str, Any] = Field(default_factory=dict, description="r1ci's info dict (task, answer, correct, ...)")


class R1CIState(State):
    """Where the session's episode stands."""

    task: str | None = None
    seed: int | None = None
    code_calls: int = 0
    finished: bool = False


class R1CIEnvironment(Environment[R1CIAction, R1CIObservation, R1CIState]):
    """One session's r1ci env. `reset(task=..., seed=..., **knobs)` may switch task between episodes."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, settings: EnvSettings = EnvSettings(), default_task: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.default_task = default_task
        self._env: CodeInterpreterEnv | None = None
        self._state = R1CIState()

    def reset(
        self, seed: int | None = None, episode_id: str | None = None, task: str | None = None, **knobs: Any
    ) -> R1CIObservation:
        """Start an episode of `task` (or the server's default task) on the instance for `seed`."""
        task = task or self.default_task
        if task is None:
            raise ValueError("reset needs task=<name> (this server has no default task)")
        env = self.settings.make(task, knobs)  # before closing the old env: a bad request loses nothing
        self._close_env()
        self._env = env
        prompt, info = env.reset(seed=seed)
        self._state = R1CIState(episode_id=episode_id, task=task, seed=seed)
        return R1CIObservation(text=prompt, info=_json_safe(info), done=False, reward=None)

    def step(self, action: R1CIAction, timeout_s: float | None = None, **kwargs: Any) -> R1CIObservation:
        """Apply the model's next text (r1ci's step rules); the reward is 0 until the episode ends."""
        if self._env is None:
            raise RuntimeError("step() before reset(); send reset with a task first")
        observation, reward, terminated, truncated, info = self._env.step(action.text)
        done = bool(terminated or truncated)
        self._state.step_count += 1
        self._state.code_calls = self._env.code_calls
        self._state.finished = done
        return R1CIObservation(text=observation, info=_json_safe(info), done=done, reward=float(reward))

    @property
    def state(self) -> R1CIState:
        return self._state

    def _close_env(self) -> None:
        if self._env is not None:
            env, self._env = self._env, None
            env.close()

    def close(self) -> None:
        """End the session's episode (and its stateful sandbox session, if any)."""
        self._close_env()


class R1CIEnvClient(EnvClient[R1CIAction, R1CIObservation, R1CIState]):
    """Client of `r1ci serve openenv`: `await client.reset(task="Game24", seed=3)`, then
    `await client.step(R1CIAction(text=...))`; each result carries `.observation.text` and `.observation.info`."""

    def _step_payload(self, action: R1CIAction) -> dict[str, Any]:
        return {"text": action.text}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[R1CIObservation]:
        fields = payload.get("observation", {})
        observation = R1CIObservation(
            text=fields.get("text", ""),
            info=fields.get("info", {}),
            done=payload.get("done", False),
            reward=payload.get("reward"),
        )
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: dict[str, Any]) -> R1CIState:
        return R1CIState(**payload)


def client_factory(urls: Iterable[str], **client_kwargs: Any) -> Callable[[], R1CIEnvClient]:
    """A thread-safe factory of clients that spreads new sessions round-robin over several servers."""
    urls = list(urls)
    if not urls:
        raise ValueError("client_factory needs at least one server URL")
    cycle, lock = itertools.cycle(urls), threading.Lock()

    def make() -> R1CIEnvClient:
        with lock:
            url = next(cycle)
        return R1CIEnvClient(url, **client_kwargs)

    return make


def make_app(
    settings: EnvSettings = EnvSettings(), max_sessions: int = DEFAULT_MAX_SESSIONS, default_task: str | None = None
):
    """The FastAPI app: `/ws` (one env per session), `/health`, `/schema`, plus OpenEnv's stateless HTTP
    routes (each request gets a fresh env there, so multi-step episodes need `/ws`)."""
    if max_sessions < 1:
        raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
    factory = functools.partial(R1CIEnvironment, settings=settings, default_task=default_task)
    return create_app(factory, R1CIAction, R1CIObservation, env_name="r1ci", max_concurrent_envs=max_sessions)


def command(args: argparse.Namespace) -> int:
    """`r1ci serve openenv`: run the server until interrupted."""
    import uvicorn

    settings = EnvSettings.from_args(args)
    app = make_app(settings, args.max_sessions, args.task)
    print(
        f"[r1ci] OpenEnv server on ws://{args.host}:{args.port}/ws ({args.max_sessions} sessions, "
        f"settings {json.dumps(asdict(settings))})",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _json_safe(info: dict[str, Any]) -> dict[str, Any]:
    """The info dict as JSON round-trips it (what a remote client receives)."""
    return json.loads(json.dumps(info, default=str))
