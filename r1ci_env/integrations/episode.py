"""What every integration shares: the env settings a server or trainer fixes, building an r1ci env for one
(task, seed, knobs) request with engine-supplied names kept away from those settings, and one episode played
token in, token out against any engine's async generate call (verl's server manager, TRL's generator)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from .. import protocol
from ..env import CodeInterpreterEnv
from ..sandbox import DEFAULT_TIMEOUT
from ..tokens import (
    EpisodeRecord,
    TrajectoryBuilder,
    closes_code_block,
    encode_observation,
    encode_prompt,
    stop_token_ids,
)

# Names a request may not set: they belong to the operator (sandbox choice, limits), not to the client.
RESERVED = frozenset(inspect.signature(CodeInterpreterEnv.__init__).parameters) - {"self", "knobs"}

DEFAULT_MAX_SESSIONS = 64  # concurrent sessions of one `r1ci serve openenv` server


@dataclass(frozen=True)
class EnvSettings:
    """Env settings fixed by whoever runs the server or trainer (never by a remote request)."""

    sandbox: str | None = None  # None: $R1CI_SANDBOX, else docker (r1ci_env.settings)
    sandbox_urls: tuple[str, ...] | None = None  # the `r1ci sandbox serve` URLs of sandbox="remote"
    max_code_calls: int = protocol.DEFAULT_MAX_CODE_CALLS
    timeout: float = DEFAULT_TIMEOUT
    prompt: str = protocol.DEFAULT_PROMPT_STYLE
    stateful: bool = False

    @classmethod
    def from_args(cls, args: Any) -> EnvSettings:
        """The settings given on a command line (`--sandbox`, `--max-code-calls`, ...)."""
        urls = tuple(u.strip() for u in args.sandbox_urls.split(",") if u.strip()) if args.sandbox_urls else None
        return cls(
            sandbox=args.sandbox,
            sandbox_urls=urls,
            max_code_calls=args.max_code_calls,
            timeout=args.timeout,
            prompt=args.prompt,
            stateful=args.stateful,
        )

    def make(self, task: str, knobs: dict[str, Any] | None = None) -> CodeInterpreterEnv:
        """A new env for `task` with generator `knobs`; a knob that names a setting is refused."""
        knobs = dict(knobs or {})
        clash = sorted(RESERVED.intersection(knobs))
        if clash:
            raise ValueError(f"{', '.join(clash)} cannot be set per episode; the server or trainer fixes it")
        if not isinstance(task, str) or not task:
            raise ValueError(f"task must be a task name (see `r1ci list`), got {task!r}")
        return CodeInterpreterEnv(task, **asdict(self), **knobs)


# ----------------------------------------------------------------------------------------------
# One episode, token in, token out, against any engine's generate call
# ----------------------------------------------------------------------------------------------

# An engine's generate call: (context ids, max new tokens) -> (sampled ids, their log-probs or None). The
# engine stops at the stop strings (`tokens.STOP_STRINGS`, stop string kept in the output), at a stop token,
# or at the token limit.
Generate = Callable[[list[int], int], Awaitable[tuple[list[int], list[float] | None]]]


@dataclass
class Played:
    """One played episode: the token record (prompt, sampled and observation ids, mask, log-probs, reward)
    and the env's last info."""

    record: EpisodeRecord
    info: dict[str, Any]
    turns: list[str]

    def split(self, max_response_tokens: int) -> tuple[list[int], list[int], list[int], list[float]]:
        """(prompt ids, response ids, response mask, response log-probs), the response cut at
        `max_response_tokens`: sampling never passes it, so the cut drops only a last observation's tail."""
        record, start = self.record, self.record.prompt_length
        end = start + max_response_tokens
        return (
            record.input_ids[:start],
            record.input_ids[start:end],
            record.loss_mask[start:end],
            record.logprobs[start:end],
        )


async def generate_turn(
    generate: Generate, context: list[int], max_tokens: int, stop_ids: set[int], tokenizer: Any
) -> tuple[list[int], list[float], str]:
    """One model turn: the engine stops at every fence, so a stop at an opening fence is continued until
    the block closes, a stop token comes, or `max_tokens` is used. Returns ids, log-probs, stop reason."""
    ids: list[int] = []
    logprobs: list[float] = []
    while True:
        new_ids, new_logprobs = await generate(context + ids, max_tokens - len(ids))
        ids += [int(i) for i in new_ids]
        logprobs += [float(x) for x in new_logprobs] if new_logprobs is not None else [0.0] * len(new_ids)
        if ids and ids[-1] in stop_ids:
            return ids, logprobs, "eos"
        if closes_code_block(tokenizer.decode(ids, skip_special_tokens=True)):
            return ids, logprobs, "fence"
        if not new_ids or len(ids) >= max_tokens:
            return ids, logprobs, "length"


async def play_episode(
    env: CodeInterpreterEnv,
    seed: int,
    tokenizer: Any,
    generate: Generate,
    *,
    max_response_tokens: int,
    max_new_tokens: int | None = None,
    system_prompt: str | None = None,
    expected_prompt: str | None = None,
) -> Played:
    """Play one episode with the exact R1-CI protocol, as r1ci's own trainers do: the prompt templated
    once, sampled ids kept as sampled, each observation tokenized once and appended inside the same
    assistant message, the text handed to the env decoded from that turn's ids. `max_response_tokens` caps
    all turns + observations after the prompt (sampling never passes it; the last observation may); when it
    is used up the env gets "" and ends the episode. `max_new_tokens` caps one turn.
    `expected_prompt` (the prompt a dataset row carries) must equal the env's prompt for `seed`."""
    prompt, info = env.reset(seed=seed)
    if expected_prompt is not None and expected_prompt != prompt:
        raise ValueError(
            f"the row's prompt differs from {info['task']} seed {seed}'s prompt; re-export the data "
            "with the same r1ci version and settings"
        )
    builder = TrajectoryBuilder(encode_prompt(tokenizer, prompt, system_prompt))
    max_total_tokens = builder.prompt_length + max_response_tokens
    stop_ids = set(stop_token_ids(tokenizer))
    turns: list[str] = []
    observation = ""
    while True:
        if turns:
            builder.add_observation(encode_observation(tokenizer, observation))
        left = max_total_tokens - len(builder.input_ids)
        if left <= 0:
            builder.stop_reasons.append("context")
            text = ""
        else:
            room = left if max_new_tokens is None else min(left, max_new_tokens)
            ids, logprobs, reason = await generate_turn(generate, builder.input_ids, room, stop_ids, tokenizer)
            builder.add_model(ids, logprobs, reason)
            text = tokenizer.decode(ids, skip_special_tokens=True)
        turns.append(text)
        observation, reward, terminated, truncated, info = await env.astep(text)  # off the event loop
        if terminated or truncated:
            return Played(builder.record(reward=float(reward), task=info["task"], seed=seed), info, turns)
