"""Agents that act in r1ci environments, the episode loop, and `make_agent` for `--agent` specs.

Agent specs (`make_agent(spec, **options)`, `r1ci run|bench --agent SPEC`):

| spec | agent | options |
|---|---|---|
| `oracle` | runs the task's reference solution in the sandbox, answers with its output | none |
| `null` | gives up at once (every episode scores 0) | none |
| `human` | you, in the terminal: shows observations, reads a turn until a line with `.` or EOF | `input`, `output` (streams) |
| `hf:<model path>` | transformers generation in this process, batched across episodes (`agents.hf.make_hf_agent`) | `temperature`, `top_p`, `max_tokens` (= `max_new_tokens`), `max_total_tokens`, `seed`, `dtype`, `device`, `max_batch_size` |
| `openai:<model>` | any OpenAI-compatible chat-completions server, through the `openai` SDK (`agents.openai_agent`) | `base_url`, `api_key`, `temperature`, `top_p`, `max_tokens`, `conversation` (messages, continue, auto), `max_concurrency`, `timeout`, `retries`, ... |
| `vllm:<model path>` | vLLM in this process, GPU only, optional extra (`agents.vllm_agent`) | `temperature`, `top_p`, `max_tokens`, `max_batch`, vLLM engine options |

An agent keeps the state of one episode. To play episodes concurrently, take one agent per episode
with `fresh_agent(agent)`: it calls the agent's `spawn()` when it has one (model-backed agents share
their model, client or engine with what they spawn), else makes a shallow copy. `r1ci run` and
`r1ci bench` then set the episode's sampling seed on it (`Agent.seed`, derived per task, question and
sample; the hf and openai agents use it).

Note: the import name `agents` is also used by an unrelated PyPI package; install r1ci in its own
environment if you use that one too.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from .base import Agent
from .episode import Episode, run_episode
from .errors import AgentError
from .human import HumanAgent
from .null import NullAgent
from .oracle import OracleAgent

__all__ = [
    "Agent",
    "AgentError",
    "Episode",
    "HumanAgent",
    "NullAgent",
    "OracleAgent",
    "AGENT_KINDS",
    "fresh_agent",
    "make_agent",
    "parse_agent_spec",
    "run_episode",
]

# kind -> (needs an argument after the colon, what the argument is)
AGENT_KINDS: dict[str, tuple[bool, str]] = {
    "oracle": (False, ""),
    "null": (False, ""),
    "human": (False, ""),
    "hf": (True, "model path"),
    "openai": (True, "model name"),
    "vllm": (True, "model path"),
}


def parse_agent_spec(spec: str) -> tuple[str, str]:
    """`"openai:gpt-4o"` -> `("openai", "gpt-4o")`; `"oracle"` -> `("oracle", "")`. Splits at the first colon
    only, so model names may contain colons. Raises `ValueError` for an unknown kind or a missing argument."""
    kind, _, argument = spec.partition(":")
    kind = kind.strip().lower()
    if kind not in AGENT_KINDS:
        raise ValueError(
            f"unknown agent spec {spec!r}; use one of: oracle, null, human, hf:<model path>, "
            "openai:<model>, vllm:<model path>"
        )
    needs_argument, what = AGENT_KINDS[kind]
    if needs_argument and not argument:
        raise ValueError(f"agent spec {spec!r} needs a {what}: {kind}:<{what.replace(' ', '-')}>")
    if not needs_argument and argument:
        raise ValueError(f"agent {kind!r} takes no argument; got {spec!r}")
    return kind, argument


def make_agent(spec: str, **options: Any) -> Agent:
    """Build an agent from a spec (table above). `options` go to the agent's constructor; an agent that
    takes none rejects them with a `TypeError`."""
    kind, argument = parse_agent_spec(spec)
    if kind in ("oracle", "null"):
        if options:
            raise TypeError(f"agent {kind!r} takes no options; got {', '.join(sorted(options))}")
        return OracleAgent() if kind == "oracle" else NullAgent()
    if kind == "human":
        return HumanAgent(**options)
    if kind == "hf":
        from .hf import make_hf_agent

        if _looks_like_a_path(argument) and not os.path.isdir(argument):
            raise ValueError(
                f"hf:{argument}: no model directory there (give a directory holding config.json and "
                "the weights, or a Hugging Face repo id that is in the local cache)"
            )
        if "max_tokens" in options:  # the common name (--max-tokens) for the hf agent's max_new_tokens
            options["max_new_tokens"] = options.pop("max_tokens")
        return make_hf_agent(argument, **options)
    if kind == "openai":
        from .openai_agent import OpenAIAgent

        return OpenAIAgent(argument, **options)
    from .vllm_agent import VLLMAgent

    return VLLMAgent(argument, **options)


def _looks_like_a_path(argument: str) -> bool:
    """A filesystem path rather than a hub repo id (`org/name` has exactly one slash)."""
    return argument.startswith(("/", ".", "~")) or argument.count("/") > 1


def fresh_agent(agent: Agent) -> Agent:
    """An agent for one more episode: `agent.spawn()` when it has one, else a shallow copy."""
    spawn = getattr(agent, "spawn", None)
    return spawn() if callable(spawn) else copy.copy(agent)
