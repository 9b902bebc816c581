"""`CodeInterpreterEnv`: one task question per episode; the model reasons in text, runs Python in a
sandbox, and is rewarded for a correct final answer.

`reset(seed)` returns the prompt (the task question inside the prompt template). Each `step(text)`
takes the model's next piece of text, and the env applies these rules:

1. The text is sanitised (bytes decoded as UTF-8 with replacement, lone surrogates replaced) and cut
   right after its first closed Python block, as if generation had stopped at the closing fence; the
   number of dropped characters is `info["dropped_chars"]`. The kept text joins the transcript.
2. A closed block while fewer than `max_code_calls` blocks have run: the block runs in the sandbox
   and the observation is `"\\nCode Execution Results:\\n" + output + "\\n"`; reward 0, the episode
   goes on. A `SandboxError` (the sandbox failed, not the program) propagates and leaves the episode
   exactly as it was, so the same step can be retried.
3. A closed block once the cap is reached: it is not run; the episode ends with `truncated=True`.
4. No closed block (plain text, an unclosed block, empty text): the episode ends with
   `terminated=True`.
5. When the episode ends, the answer is the last `<<<...>>>` in all the model's text of the episode,
   outside code blocks (never from program output); reward = `task.score(answer, instance)`, or 0.0
   without an answer. A checker that raises gives 0.0 and `info["score_error"]`. The final
   observation is "".
6. `step` before `reset`, or after the episode ended, raises `RuntimeError`.

`env.turns` lists the episode's turns so far as `Turn(model, observation)` (the kept text, and the
observation it produced, None on the final turn); `env.transcript` is the prompt followed by them.

See docs/protocol.md for every edge case.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple, SupportsFloat

import gymnasium as gym

from . import protocol, settings
from .sandbox import BACKENDS, DEFAULT_TIMEOUT, ExecResult, Sandbox, shared_sandbox
from .sandbox.aio import run_blocking
from .sandbox.base import SandboxSession
from .spaces import TextSpace
from .suites import split_of
from .tasks import Instance, Task, task_spec


class Turn(NamedTuple):
    """One model turn: the text the env kept, and the observation it returned (None on the last turn)."""

    model: str
    observation: str | None


class CodeInterpreterEnv(gym.Env[str, str]):
    """A text environment for one task, with code execution in a sandbox.

    `task` is a registered task name (generator knobs go in `**knobs`) or a `Task` object. `sandbox`
    is a backend name, meaning the process-wide shared sandbox of that backend, obtained on the first
    code run, or a `Sandbox` object, used as is and never closed by the env; None means `$R1CI_SANDBOX`,
    else docker. `sandbox_urls` lists the servers of `sandbox="remote"` (default `$R1CI_SANDBOX_URLS`).
    `await env.astep(text)` (or `astep(env, text)` for a wrapped env) is `step` off the event loop.
    `prompt` is a style name
    from `protocol.PROMPT_STYLES` or a template string containing `{question}`. `stateful=True`
    runs an episode's code calls in one interpreter (docker only), so names persist across calls.
    """

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        task: str | Task,
        *,
        sandbox: str | Sandbox | None = None,
        sandbox_urls: Sequence[str] | str | None = None,
        max_code_calls: int = protocol.DEFAULT_MAX_CODE_CALLS,
        timeout: float = DEFAULT_TIMEOUT,
        prompt: str = protocol.DEFAULT_PROMPT_STYLE,
        max_observation_chars: int = protocol.DEFAULT_MAX_OBSERVATION_CHARS,
        render_mode: str | None = None,
        stateful: bool = False,
        **knobs: Any,
    ) -> None:
        sandbox = settings.sandbox_backend() if sandbox is None else sandbox
        _check_settings(sandbox, max_code_calls, timeout, max_observation_chars, render_mode)
        self._sandbox_options = _sandbox_options(sandbox, sandbox_urls)
        if stateful and sandbox == "local":
            raise ValueError("stateful=True needs the docker sandbox (the local backend has no session mode)")
        self.task, self._labels = _resolve_task(task, knobs)
        self.prompt_template = protocol.prompt_template(prompt)
        self.max_code_calls = int(max_code_calls)
        self.timeout = float(timeout)
        self.max_observation_chars = max_observation_chars
        self.render_mode = render_mode
        self.observation_space = TextSpace()
        self.action_space = TextSpace()
        self._sandbox_choice = sandbox
        self.stateful = stateful
        self._session: SandboxSession | None = None
        self.instance: Instance | None = None
        self._parts: list[str] = []
        self._turns: list[Turn] = []
        self._code_calls = 0
        self._finished = False

    @property
    def transcript(self) -> str:
        """The episode so far: prompt, model text and observations, in order."""
        return "".join(self._parts)

    @property
    def turns(self) -> list[Turn]:
        """The episode's turns so far, in order: (model text as kept, observation or None)."""
        return list(self._turns)

    @property
    def code_calls(self) -> int:
        """How many code blocks have run in this episode."""
        return self._code_calls

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode on the instance for `seed` (drawn from `np_random` when None)."""
        super().reset(seed=seed)
        self._end_session()
        instance_seed = seed if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        self.instance = self.task.generate(instance_seed)
        prompt = protocol.render_prompt(
            self.instance.question, self.prompt_template, self.max_code_calls, self.stateful
        )
        self._parts = [prompt]
        self._turns = []
        self._code_calls = 0
        self._finished = False
        return prompt, self._info()

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Apply the model's next text; see the module docstring for the rules."""
        self._check_steppable()
        code, kept, dropped = protocol.extract_code(protocol.sanitize(action))
        if code is not None and self._code_calls < self.max_code_calls:
            return self._run_code(code, kept, dropped)
        return self._finish(kept, dropped, truncated=code is not None)

    async def astep(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """`step` run off the event loop on a bounded thread pool (see `sandbox.aio`)."""
        return await astep(self, action)

    def render(self) -> str | None:
        """The transcript so far when `render_mode="ansi"`, else None."""
        return self.transcript if self.render_mode == "ansi" else None

    def _check_steppable(self) -> None:
        if self.instance is None:
            raise RuntimeError("step() called before reset(); call reset() to start an episode")
        if self._finished:
            raise RuntimeError("this episode has ended; call reset() to start a new one")

    def _executor(self) -> Sandbox | SandboxSession:
        """Where code runs: the sandbox, or this episode's session when `stateful`."""
        if isinstance(self._sandbox_choice, Sandbox):
            sandbox = self._sandbox_choice
        else:
            sandbox = shared_sandbox(self._sandbox_choice, **self._sandbox_options)
        if not self.stateful:
            return sandbox
        if self._session is None:
            self._session = sandbox.session()
        return self._session

    def _end_session(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            session.close()

    def close(self) -> None:
        """End the episode's session, if any. The shared sandbox itself is closed at exit."""
        self._end_session()
        super().close()

    def _run_code(self, code: str, kept: str, dropped: int) -> tuple[str, float, bool, bool, dict[str, Any]]:
        # Run first: a SandboxError must leave the episode untouched so the step can be retried.
        result = self._executor().run(code, self.timeout)
        observation = protocol.format_observation(result, self.max_observation_chars, timeout=self.timeout)
        self._turns.append(Turn(kept, observation))
        self._parts += [kept, observation]
        self._code_calls += 1
        return observation, 0.0, False, False, self._step_info(dropped, result, None, None)

    def _finish(self, kept: str, dropped: int, *, truncated: bool) -> tuple[str, float, bool, bool, dict[str, Any]]:
        self._turns.append(Turn(kept, None))
        self._parts.append(kept)
        self._finished = True
        self._end_session()
        answer = _last_answer([turn.model for turn in self._turns])
        reward, error = self._score(answer)
        info = self._step_info(dropped, None, answer, reward >= 1.0)
        if error is not None:
            info["score_error"] = error
        return "", reward, not truncated, truncated, info

    def _score(self, answer: str | None) -> tuple[float, str | None]:
        """Reward for `answer`, and the checker's error text if it raised (then the reward is 0)."""
        if answer is None:
            return 0.0, None
        try:
            return float(self.task.score(answer, self.instance)), None
        except Exception as exc:  # a checker bug or a malformed answer must not crash an episode
            return 0.0, f"{type(exc).__name__}: {exc}"

    def _info(self) -> dict[str, Any]:
        return {
            **self._labels,
            "instance_id": self.instance.instance_id,
            "difficulty": copy.deepcopy(self.task.difficulty()),  # a fresh object per info, as gymnasium asks
            "code_calls": self._code_calls,
        }

    def _step_info(
        self, dropped: int, result: ExecResult | None, answer: str | None, correct: bool | None
    ) -> dict[str, Any]:
        info = {**self._info(), "answer": answer, "correct": correct, "dropped_chars": dropped}
        if result is not None:
            info["exec_result"] = result.to_dict()
        return info


async def astep(env: gym.Env, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
    """`await astep(env, text)`: `env.step(text)` off the event loop, for any env, wrapped or not
    (gymnasium wrappers do not forward `astep`), so one asyncio loop can drive thousands of episodes."""
    return await run_blocking(env.step, action)


def _sandbox_options(sandbox: str | Sandbox, urls: Sequence[str] | str | None) -> dict[str, Any]:
    """The options of the shared sandbox: the server URLs of `remote`, checked now, not at the first run."""
    if sandbox != "remote":
        if urls is not None:
            raise ValueError(f"sandbox_urls is only for sandbox='remote', got sandbox={sandbox!r}")
        return {}
    from .sandbox.remote import resolve_urls

    resolved = resolve_urls(urls)  # None: $R1CI_SANDBOX_URLS, which must then be set
    return {} if urls is None else {"urls": resolved}


def _resolve_task(task: str | Task, knobs: dict[str, Any]) -> tuple[Task, dict[str, str]]:
    """The task object and the labels every info carries (task, category, source, split)."""
    if isinstance(task, Task):
        if knobs:
            raise TypeError(
                f"generator settings {', '.join(map(repr, sorted(knobs)))} can only be given with a task "
                "name; set them on the Task object instead"
            )
        name, category, source = task.name, task.category, task.source
    elif isinstance(task, str):
        spec = task_spec(task)
        name, category, source = task, spec.category, spec.source
        task = spec.make(**knobs)
    else:
        raise TypeError(f"task must be a task name or a Task, got {type(task).__name__}")
    labels = {"task": name, "category": category, "source": source, "split": split_of(name)}
    return task, labels


def _check_settings(
    sandbox: str | Sandbox, max_code_calls: int, timeout: float, max_observation_chars: int, render_mode: str | None
) -> None:
    """Reject bad settings at construction rather than in the middle of an episode."""
    if not isinstance(sandbox, Sandbox) and sandbox not in BACKENDS:
        raise ValueError(f"sandbox must be a Sandbox or one of {', '.join(BACKENDS)}; got {sandbox!r}")
    if not isinstance(max_code_calls, numbers.Integral) or max_code_calls < 0:
        raise ValueError(f"max_code_calls must be an int >= 0, got {max_code_calls!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    if max_observation_chars < protocol.MIN_OBSERVATION_CHARS:
        raise ValueError(
            f"max_observation_chars must be at least {protocol.MIN_OBSERVATION_CHARS}, got {max_observation_chars}"
        )
    if render_mode is not None and render_mode not in CodeInterpreterEnv.metadata["render_modes"]:
        raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")


def _last_answer(model_texts: list[str]) -> str | None:
    """The last answer marker over the episode's turns; each turn is searched on its own so that a
    fence or marker can never be formed across the boundary of two turns."""
    answers = [answer for answer in map(protocol.extract_answer, model_texts) if answer is not None]
    return answers[-1] if answers else None
