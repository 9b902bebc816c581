"""r1ci episodes inside verl 0.9.x: `R1CIAgentLoop`, an agent loop that plays each row's r1ci episode with
the exact R1-CI protocol and returns verl's `AgentLoopOutput` with the reward already set (so verl's reward
worker is skipped for these rows).

Register it through verl's agent-loop YAML (`actor_rollout_ref.rollout.agent.agent_loop_config_path`); the
keys below the name are this class's settings:

    - name: r1ci
      _target_: r1ci_env.integrations.verl.R1CIAgentLoop
      sandbox: remote                       # or docker: then each AgentLoopWorker process runs its own pool
      sandbox_urls: [http://cpu1:8080, http://cpu2:8080]   # `r1ci sandbox serve` on CPU nodes
      max_code_calls: 5
      timeout: 10.0

Rows come from `r1ci export verl` (`extra_info` names task, seed and knobs). Per episode: the prompt ids
(chat template applied once), then per turn the ids the rollout server sampled (stop string "```", kept;
a stop at an opening fence is continued) with their log-probs, and the observation ids (tokenized once,
mask 0, log-prob 0.0), all inside one assistant message, capped at `rollout.response_length` tokens.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopMetrics, AgentLoopOutput

from .. import protocol
from ..sandbox import DEFAULT_TIMEOUT
from ..tokens import STOP_STRINGS
from .episode import EnvSettings, play_episode

_INFO_KEYS = ("task", "instance_id", "code_calls", "answer", "correct")


class R1CIAgentLoop(AgentLoopBase):
    """verl agent loop for r1ci rows (`agent_name: r1ci`); settings come from the agent-loop YAML."""

    def __init__(
        self,
        *args: Any,
        sandbox: str | None = None,
        sandbox_urls: Sequence[str] | None = None,
        max_code_calls: int = protocol.DEFAULT_MAX_CODE_CALLS,
        timeout: float = DEFAULT_TIMEOUT,
        prompt: str = protocol.DEFAULT_PROMPT_STYLE,
        stateful: bool = False,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("tools", None)  # verl hands every loop its tool list; r1ci runs code itself
        super().__init__(*args, **kwargs)
        self.settings = EnvSettings(
            sandbox=sandbox,
            sandbox_urls=tuple(sandbox_urls) if sandbox_urls else None,
            max_code_calls=max_code_calls,
            timeout=timeout,
            prompt=prompt,
            stateful=stateful,
        )
        self.system_prompt = system_prompt
        self.response_length = int(self.rollout_config.response_length)

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """Play the row's episode; `kwargs` are the row's fields (`extra_info`, `raw_prompt`, ...)."""
        extra = kwargs.get("extra_info") or {}
        if "task" not in extra or "seed" not in extra:
            raise ValueError(
                "an r1ci row needs extra_info.task and extra_info.seed; write rows with `r1ci export verl`"
            )
        knobs = json.loads(extra.get("knobs") or "{}")
        env = self.settings.make(str(extra["task"]), knobs)
        request_id = uuid4().hex  # one per episode: the server keeps its prefix cache across turns

        async def generate(context: list[int], max_tokens: int) -> tuple[list[int], list[float] | None]:
            params = {
                **sampling_params,
                "stop": list(STOP_STRINGS),
                "include_stop_str_in_output": True,
                "max_tokens": max_tokens,
                "logprobs": True,
            }
            output = await self.server_manager.generate(
                request_id=request_id, prompt_ids=context, sampling_params=params
            )
            return list(output.token_ids), output.log_probs

        raw_prompt = kwargs.get("raw_prompt")
        expected = raw_prompt[-1]["content"] if raw_prompt is not None and len(raw_prompt) else None
        try:
            played = await play_episode(
                env,
                int(extra["seed"]),
                self.tokenizer,
                generate,
                max_response_tokens=self.response_length,
                system_prompt=self.system_prompt,
                expected_prompt=expected,
            )
        finally:
            env.close()
        prompt_ids, response_ids, response_mask, response_logprobs = played.split(self.response_length)
        return AgentLoopOutput(
            prompt_ids=prompt_ids,
            response_ids=response_ids,
            response_mask=response_mask,
            response_logprobs=response_logprobs,
            reward_score=played.record.reward,
            num_turns=2 * len(played.turns),
            metrics=AgentLoopMetrics(),
            extra_fields={"r1ci": {key: played.info.get(key) for key in _INFO_KEYS}},
        )
