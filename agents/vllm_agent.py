"""The `vllm:<model path>` agent: offline generation with vLLM in this process (optional extra, GPU only:
`pip install 'r1ci[vllm]'`; vLLM pins its own torch, so keep it out of the core install).

Like the R1-CI rollouts, an episode is one assistant message: the prompt is rendered with the model's
chat template (`add_generation_prompt=True`), and each turn continues the raw text so far (model text
and observations). Generation stops at the closing fence of a Python block (`stop`, default
["```\\n"], kept in the output). Concurrent episodes are batched: each `act` puts its prompt in a
queue, and one engine thread hands up to `max_batch` waiting prompts (collected for at most
`batch_wait` seconds) to `LLM.generate` at a time. A prompt longer than the model's context gets an
empty turn, which ends the episode.

Options: `temperature` (0.6), `top_p` (1.0), `top_k`, `max_tokens` (per turn, 4096), `stop`, `seed`,
`max_batch`, `batch_wait`; anything else goes to `vllm.LLM(...)` (e.g. `tensor_parallel_size`,
`gpu_memory_utilization`, `max_model_len`, `dtype`).
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any

from r1ci_env import protocol

from .base import Agent

DEFAULT_STOP = ("```\n",)
INSTALL_HINT = ("the vllm agent needs vLLM and a CUDA GPU: pip install 'r1ci[vllm]' (vLLM pins its own torch; "
                "use a separate environment). On CPU use hf:<model path> or serve the model and use openai:<model>.")


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
    return vllm


class VLLMEngine:
    """One `vllm.LLM` and the thread that batches the prompts of concurrent episodes."""

    def __init__(self, model: str, *, temperature: float = 0.6, top_p: float = 1.0, top_k: int | None = None,
                 max_tokens: int = 4096, stop: list[str] | tuple[str, ...] = DEFAULT_STOP, seed: int | None = None,
                 max_batch: int = 256, batch_wait: float = 0.02, llm: Any = None, tokenizer: Any = None,
                 **engine_options: Any) -> None:
        sampling = {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "stop": list(stop),
                    "include_stop_str_in_output": True}
        if top_k is not None:
            sampling["top_k"] = top_k
        if llm is None:
            vllm = _import_vllm()
            llm = vllm.LLM(model=model, seed=seed if seed is not None else 0, **engine_options)
            self.params = vllm.SamplingParams(**sampling)
        else:  # an injected engine (tests): sampling settings travel as a dict
            self.params = sampling
        self.llm = llm
        self.tokenizer = tokenizer if tokenizer is not None else llm.get_tokenizer()
        self.max_model_len = _max_model_len(llm)
        self.max_batch = int(max_batch)
        self.batch_wait = float(batch_wait)
        self.batches: list[int] = []  # sizes of the batches sent, for inspection
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="r1ci-vllm-batcher", daemon=True)
        self._thread.start()

    def render(self, prompt: str, continuation: str) -> str:
        """The prompt through the chat template, then the assistant text so far."""
        head = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                  add_generation_prompt=True)
        return head + continuation

    def generate(self, text: str) -> str:
        """The next turn for `text` (blocks until its batch is done)."""
        if self.max_model_len is not None and len(self.tokenizer(text)["input_ids"]) >= self.max_model_len:
            return ""
        future: Future = Future()
        self._queue.put((text, future))
        return future.result()

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            try:
                while len(batch) < self.max_batch:
                    batch.append(self._queue.get(timeout=self.batch_wait))
            except queue.Empty:
                pass
            self.batches.append(len(batch))
            try:
                outputs = self.llm.generate([text for text, _ in batch], self.params, use_tqdm=False)
                for (_, future), output in zip(batch, outputs):
                    future.set_result(output.outputs[0].text)
            except BaseException as exc:  # hand the failure to every waiting episode
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)


def _max_model_len(llm: Any) -> int | None:
    try:
        return int(llm.llm_engine.model_config.max_model_len)
    except Exception:  # injected engines need not have one
        return None


class VLLMAgent(Agent):
    """An agent over a shared `VLLMEngine`; `spawn()` gives a fresh agent on the same engine."""

    name = "vllm"

    def __init__(self, model: str, *, engine: VLLMEngine | None = None, **options: Any) -> None:
        self.model = model
        self.name = f"vllm:{model}"
        self.engine = engine or VLLMEngine(model, **options)
        self._prompt = ""
        self._text = ""

    def spawn(self) -> "VLLMAgent":
        return VLLMAgent(self.model, engine=self.engine)

    def reset(self, prompt: str, info: dict[str, Any], env: Any = None) -> None:
        self._prompt, self._text = prompt, ""

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self._text:
            self._text += observation
        turn = self.engine.generate(self.engine.render(self._prompt, self._text))
        kept = protocol.extract_code(turn)[1]
        self._text += kept
        return kept
