"""The `vllm:<model path>` agent: an `agents.hf.HFAgent` over `agents.vllm_backend.VLLMBackend` (vLLM in this
process; optional extra, GPU only: `pip install 'r1ci[vllm]'`). It plays exactly like `hf:`: the chat
template is applied once, each turn continues the same assistant message token-in-token-out, and
concurrent episodes are batched into one engine call.

Options: `temperature` (0.6), `top_p` (1.0), `max_tokens` (per turn, 4096), `max_total_tokens`, `seed`,
`system_prompt`, `max_batch` (rows per engine call), `batch_wait` (seconds the batcher waits for more
turns); anything else goes to `vllm.LLM(...)` (e.g. `tensor_parallel_size`, `gpu_memory_utilization`,
`max_model_len`, `dtype`).
"""

from __future__ import annotations

from typing import Any

from .hf import HFAgent
from .vllm_backend import INSTALL_HINT, VLLMBackend

__all__ = ["INSTALL_HINT", "VLLMAgent", "VLLMBackend"]


class VLLMAgent(HFAgent):
    """One episode over a shared `VLLMBackend`; `spawn()` gives a fresh agent on the same engine."""

    def __init__(
        self,
        model: str,
        *,
        engine: VLLMBackend | None = None,
        temperature: float = 0.6,
        top_p: float = 1.0,
        max_tokens: int = 4096,
        max_total_tokens: int = 32768,
        system_prompt: str | None = None,
        seed: int | None = None,
        max_batch: int = 256,
        batch_wait: float = 0.02,
        **engine_options: Any,
    ) -> None:
        if engine is None:
            engine = VLLMBackend(
                model,
                max_batch_size=max_batch,
                gather_timeout_s=batch_wait,
                seed=seed if seed is not None else 0,
                **engine_options,
            )
        super().__init__(
            engine,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_tokens,
            max_total_tokens=max_total_tokens,
            system_prompt=system_prompt,
            seed=seed,
        )
        self.model = model
        self.name = f"vllm:{model}"

    @property
    def engine(self) -> VLLMBackend:
        return self.backend  # type: ignore[return-value]

    def spawn(self) -> VLLMAgent:
        return VLLMAgent(
            self.model,
            engine=self.engine,
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_new_tokens,
            max_total_tokens=self.max_total_tokens,
            system_prompt=self.system_prompt,
            seed=self.seed,
        )


def __getattr__(name: str) -> Any:
    if name == "VLLMEngine":
        raise AttributeError(
            "agents.vllm_agent.VLLMEngine was replaced by agents.vllm_backend.VLLMBackend "
            "(token-in-token-out, shared with train_grpo.py)"
        )
    raise AttributeError(name)
