"""Token-in, token-out generation with an in-process vLLM engine (optional extra, GPU only), behind the
same backend contract as `agents.hf.HFBackend` (`agents.backend`): the `vllm:` agent and
`train_grpo.py --backend vllm` both use it through `agents.hf.HFAgent`.

Each batch of requests (the pending turns of all live episodes) goes to ONE `LLM.generate` call with the
contexts as `prompt_token_ids`. vLLM stops at the string "```"; a row that stopped at an OPENING fence
is continued (in the next call, with the rest of its budget) until a closing fence, a stop token or its
`max_new_tokens`. Sampled ids and the sampler's log-probs are appended as returned, never re-encoded.
Log-probs are the processed ones (after temperature: `logprobs_mode="processed_logprobs"`), what the
trainer recomputes at top-p 1.

`sync_weights(model)` loads a trainer model's weights (LoRA merged) into the engine. It needs the
engine in this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`, set here before the engine starts).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from r1ci_env.tokens import STOP_STRINGS, closes_code_block, stop_token_ids

from .backend import BatchingBackend, GenerationRequest, GenerationResult

INSTALL_HINT = (
    "vLLM generation needs vLLM and a CUDA GPU: pip install 'r1ci[vllm]' (vLLM pins its own torch; "
    "use a separate environment). On CPU use hf:<model path> or serve the model and use openai:<model>."
)


def new_llm(model: str, **engine_options: Any) -> tuple[Any, Callable[..., Any]]:
    """(a `vllm.LLM` for `model` in this process, `vllm.SamplingParams`), or ImportError with the install hint."""
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from exc
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    engine_options.setdefault("logprobs_mode", "processed_logprobs")
    return vllm.LLM(model=model, **engine_options), vllm.SamplingParams


class VLLMBackend(BatchingBackend):
    """Batched token-level sampling on a vLLM engine (see the module docstring).

    `llm` and `sampling_params` inject an engine and its parameter class (tests use a stand-in); by
    default `new_llm(model, **engine_options)` starts a real one."""

    def __init__(
        self,
        model: str,
        tokenizer: Any = None,
        *,
        llm: Any = None,
        sampling_params: Callable[..., Any] | None = None,
        max_batch_size: int = 256,
        gather_timeout_s: float = 0.02,
        **engine_options: Any,
    ) -> None:
        if llm is None:
            llm, sampling_params = new_llm(model, **engine_options)
        tokenizer = tokenizer if tokenizer is not None else llm.get_tokenizer()
        super().__init__(tokenizer, max_batch_size=max_batch_size, gather_timeout_s=gather_timeout_s)
        self.llm = llm
        self.sampling_params = sampling_params
        self.stop_ids = stop_token_ids(tokenizer)
        self.calls: list[int] = []  # rows per engine call, for inspection

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """All rows in one engine call per round; rows that stopped at an opening fence go another round."""
        started = time.perf_counter()
        ids: list[list[int]] = [[] for _ in requests]
        logps: list[list[float]] = [[] for _ in requests]
        reasons: list[str | None] = [None if r.max_new_tokens > 0 else "length" for r in requests]
        live = [i for i, reason in enumerate(reasons) if reason is None]
        while live:
            prompts = [{"prompt_token_ids": list(requests[i].context) + ids[i]} for i in live]
            params = [self._params(requests[i], len(ids[i])) for i in live]
            self.calls.append(len(live))
            outputs = self.llm.generate(prompts, params, use_tqdm=False)
            for i, output in zip(live, outputs):
                out = output.outputs[0]
                new = [int(t) for t in out.token_ids]
                ids[i] += new
                logps[i] += [
                    float(lp[t].logprob) if lp and t in lp else 0.0
                    for t, lp in zip(new, out.logprobs or [None] * len(new))
                ]
                reasons[i] = self._stop_reason(requests[i], ids[i], out.finish_reason)
            live = [i for i in live if reasons[i] is None]
        self.stats["batches"] += 1
        self.stats["rows"] += len(requests)
        self.stats["generated_tokens"] += sum(len(x) for x in ids)
        self.stats["seconds"] += time.perf_counter() - started
        return [GenerationResult(i, lp, reason or "length") for i, lp, reason in zip(ids, logps, reasons)]

    def _params(self, request: GenerationRequest, done: int) -> Any:
        seed = None if request.seed is None else (int(request.seed) + done) % (2**31)
        return self.sampling_params(
            temperature=request.temperature,
            top_p=request.top_p,
            max_tokens=request.max_new_tokens - done,
            stop=list(STOP_STRINGS) if request.stop_at_fence else [],
            include_stop_str_in_output=True,
            stop_token_ids=self.stop_ids,
            logprobs=0,
            seed=seed,
            skip_special_tokens=False,
        )

    def _stop_reason(self, request: GenerationRequest, ids: list[int], finish_reason: str | None) -> str | None:
        """None while a row must go on (it stopped at an opening fence with budget left)."""
        if ids and ids[-1] in self.stop_ids:
            return "eos"
        if request.stop_at_fence and closes_code_block(self.tokenizer.decode(ids, skip_special_tokens=True)):
            return "fence"
        if len(ids) >= request.max_new_tokens or finish_reason != "stop" or not ids:
            return "length"
        return None

    def sync_weights(self, model: Any) -> None:
        """Load `model`'s weights (a LoRA adapter merged in) into the engine and drop its prefix cache."""
        inner = model
        while hasattr(inner, "module"):
            inner = inner.module
        if hasattr(inner, "merge_adapter"):
            inner.merge_adapter()
            try:
                state = {
                    k.replace("base_model.model.", "").replace(".base_layer", ""): v.detach()
                    for k, v in inner.state_dict().items()
                    if "lora_" not in k
                }
            finally:
                inner.unmerge_adapter()
        else:
            state = {k: v.detach() for k, v in inner.state_dict().items()}
        engine_model(self.llm).load_weights(state.items())
        self.llm.reset_prefix_cache()


def engine_model(llm: Any) -> Any:
    """The model object inside an in-process vLLM engine (V1 with multiprocessing off: the driver worker
    wraps a worker that owns the model runner)."""
    worker = llm.llm_engine.model_executor.driver_worker
    worker = getattr(worker, "worker", worker)
    runner = getattr(worker, "model_runner", None)
    if runner is None:
        raise RuntimeError(
            "cannot reach the vLLM engine's model: run it in this process "
            "(VLLM_ENABLE_V1_MULTIPROCESSING=0, set by agents.vllm_backend.new_llm)"
        )
    return runner.model
