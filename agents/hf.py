"""The `hf:<model path>` agent: a transformers causal LM as a policy. It is also the trainers' rollout
policy, so the benchmark, SFT evaluation and GRPO share one episode loop (`agents.run_episode`) and
differ only in the weights.

- `HFBackend` owns the model and batches generation. Agents (one per concurrent episode, each in its
  own thread) call `submit(request)`, which blocks; a worker thread gathers the pending requests and
  runs ONE batched sampling loop over them (prefill of the left-padded contexts, then token by token
  with the KV cache). Each row stops on its own: at the closing fence of a ```python block, at a
  stop token (<|im_end|>, <|endoftext|>, the model's eos), or after its `max_new_tokens`; a row that
  stopped leaves the batch and the KV cache at once. When a turn stops at a closing fence, the row's KV
  cache is kept for the episode's next turn (`GenerationRequest.cache_key`), which then computes only
  its new tokens (the last sampled token and the observation); `release` (at the episode's end) frees it.
- `HFAgent` plays one episode token-in-token-out: the chat template is applied once at reset
  (prompt as the user message, then the assistant header); each turn continues the same assistant
  message from the exact ids so far (sampled ids as sampled + observation ids, each observation
  tokenized once). The text handed to the env is the decode of that turn's sampled ids.
  `episode_record()` returns the `r1ci_env.tokens.EpisodeRecord` the trainers train on.

Sampling: logits / temperature, optional top-p, then one draw per row from the row's own
`torch.Generator` (seeded per request), so an episode's samples do not depend on which other
requests shared its batch (up to float ties). The recorded log-prob of a sampled token is
log softmax(logits / temperature) at that token, before top-p (what the trainer recomputes).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

import torch

from r1ci_env.tokens import (
    EpisodeRecord,
    TrajectoryBuilder,
    closes_code_block,
    encode_observation,
    encode_prompt,
    stop_token_ids,
)

from .backend import BatchingBackend, GenerationRequest, GenerationResult
from .base import Agent


class HFBackend(BatchingBackend):
    """Batched sampling over a transformers causal LM (see the module docstring); the batcher
    (`submit`, `begin_episode`, `end_episode`) is `agents.backend.BatchingBackend`'s. `drop_finished=False`
    keeps stopped rows decoding padding until the whole batch is done, `reuse_cache=False` prefills every
    turn's whole context (the old behaviours, for benchmarks); kept caches stay within `max_kept_bytes`."""

    def __init__(
        self,
        model,
        tokenizer,
        *,
        max_batch_size: int = 64,
        gather_timeout_s: float = 0.02,
        device: str | torch.device | None = None,
        drop_finished: bool = True,
        reuse_cache: bool = True,
        max_kept_bytes: int = 2**31,
    ) -> None:
        super().__init__(tokenizer, max_batch_size=max_batch_size, gather_timeout_s=gather_timeout_s)
        self.model = model
        self.drop_finished = drop_finished  # rows that stopped leave the batch (and its KV cache) at once
        self.reuse_cache = reuse_cache  # an episode's next turn starts from its kept KV cache
        self.max_kept_bytes = max_kept_bytes  # memory budget of all kept caches together
        self._kv: dict[object, tuple[list[int], list[tuple[torch.Tensor, torch.Tensor]], int]] = {}
        self._kv_bytes = 0
        self._kv_lock = threading.Lock()
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.stop_ids = stop_token_ids(tokenizer, model)
        tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        # A closing fence can only be completed by a token that contains a backtick.
        self._has_tick = [tok is not None and "`" in tok for tok in tokens]
        self._stop_set = set(self.stop_ids)
        self._rng = random.Random(0)
        self._num_threads = torch.get_num_threads()

    def _worker_setup(self) -> None:
        torch.set_num_threads(self._num_threads)

    # -- one batched sampling loop ------------------------------------------------------------
    @torch.no_grad()
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Sample continuations for `requests` in batches of at most `max_batch_size`."""
        out: list[GenerationResult] = []
        for start in range(0, len(requests), self.max_batch_size):
            out += self._generate(list(requests[start : start + self.max_batch_size]))
        return out

    def _generate(self, requests: list[GenerationRequest]) -> list[GenerationResult]:
        started = time.perf_counter()
        model, device = self.model, self.device
        was_training = model.training
        model.eval()
        batch = len(requests)
        generators = []
        for request in requests:
            seed = request.seed if request.seed is not None else self._rng.getrandbits(63)
            generators.append(torch.Generator(device=device).manual_seed(int(seed) % (2**63)))
        temps = [float(r.temperature) for r in requests]
        budget = [max(int(r.max_new_tokens), 0) for r in requests]
        sampled: list[list[int]] = [[] for _ in requests]
        logps: list[list[float]] = [[] for _ in requests]
        reasons: list[str | None] = [None if b > 0 else "length" for b in budget]
        try:
            outputs, attention, next_pos = self._prefill(requests)
            cache = outputs.past_key_values
            temperature = torch.tensor([t if t > 0 else 1.0 for t in temps], device=device).unsqueeze(1)
            greedy = [t <= 0 for t in temps]
            top_p = torch.tensor([float(r.top_p) for r in requests], device=device).unsqueeze(1)
            rows = list(range(batch))  # the request behind each row of the tensors (finished rows are dropped)
            while True:
                live = [i for i, row in enumerate(rows) if reasons[row] is None]
                tokens, logps_now = self._sample(
                    outputs.logits[:, -1, :].float(),
                    temperature,
                    [greedy[row] for row in rows],
                    top_p,
                    [generators[row] for row in rows],
                    live,
                )
                step_tokens = torch.full((len(rows),), int(self.pad_token_id), dtype=torch.long)
                for i in live:
                    row, token = rows[i], tokens[i]
                    sampled[row].append(token)
                    logps[row].append(logps_now[i])
                    step_tokens[i] = token
                    reasons[row] = self._stop_reason(token, sampled[row], budget[row], requests[row].stop_at_fence)
                    if reasons[row] == "fence":  # the episode goes on: keep its state for the next turn
                        self._keep(requests[row], sampled[row], cache, attention, i)
                if all(reason is not None for reason in reasons):
                    break
                keep = [i for i, row in enumerate(rows) if reasons[row] is None]
                if self.drop_finished and len(keep) < len(rows):
                    index = torch.tensor(keep, device=device)
                    cache.batch_select_indices(index)
                    attention, next_pos = attention[index], next_pos[index]
                    temperature, top_p, step_tokens = temperature[index], top_p[index], step_tokens[keep]
                    rows = [rows[i] for i in keep]
                attention = torch.cat([attention, torch.ones((len(rows), 1), dtype=torch.long, device=device)], dim=1)
                next_pos = next_pos + 1
                outputs = model(
                    input_ids=step_tokens.to(device).unsqueeze(1),
                    attention_mask=attention,
                    position_ids=next_pos.unsqueeze(1),
                    past_key_values=cache,
                    use_cache=True,
                )
                cache = outputs.past_key_values
        finally:
            if was_training:
                model.train()
        self.stats["batches"] += 1
        self.stats["rows"] += batch
        self.stats["generated_tokens"] += sum(len(s) for s in sampled)
        self.stats["seconds"] += time.perf_counter() - started
        return [GenerationResult(s, lp, reason or "length") for s, lp, reason in zip(sampled, logps, reasons)]

    def _prefill(self, requests: list[GenerationRequest]):
        """One forward over the contexts, left-padded; an episode's kept KV cache (a prefix of its context)
        is reused, so only the rest (its last sampled token and the observation) is computed.
        Returns (model outputs, attention mask so far, each row's last position)."""
        device, batch = self.device, len(requests)
        kept = [self._kept_prefix(r) for r in requests]
        prefix = [0 if k is None else len(k[0]) for k in kept]
        rest = [r.context[p:] for r, p in zip(requests, prefix)]
        cached, width = max(prefix), max(len(x) for x in rest)
        ids = torch.full((batch, width), int(self.pad_token_id), dtype=torch.long)
        attention = torch.zeros((batch, cached + width), dtype=torch.long)
        for row, (p, tail) in enumerate(zip(prefix, rest)):  # [pad][kept prefix][pad][rest]
            ids[row, width - len(tail) :] = torch.tensor(tail, dtype=torch.long)
            attention[row, cached - p : cached] = 1
            attention[row, cached + width - len(tail) :] = 1
        ids, attention = ids.to(device), attention.to(device)
        positions = ((attention.cumsum(-1) - 1).clamp(min=0))[:, cached:]
        cache = None
        if cached:
            from transformers import DynamicCache

            cache = DynamicCache(config=self.model.config)
            for layer, _ in enumerate(kept[prefix.index(cached)][1]):
                keys, values = (torch.cat([self._left_pad(k, cached, layer, part) for k in kept]) for part in (0, 1))
                cache.update(keys, values, layer)
        outputs = self.model(
            input_ids=ids,
            attention_mask=attention,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        return outputs, attention, positions[:, -1]

    def _left_pad(self, entry, width: int, layer: int, part: int) -> torch.Tensor:
        """One row's kept keys (part 0) or values (part 1) of `layer`, left-padded with zeros to `width`."""
        if entry is None:
            shape = self._kv_shape
            return torch.zeros((1, shape[0], width, shape[1]), dtype=self._kv_dtype, device=self.device)
        tensor = entry[1][layer][part]
        pad = width - tensor.shape[-2]
        return torch.nn.functional.pad(tensor, (0, 0, pad, 0)) if pad else tensor

    def _kept_prefix(self, request: GenerationRequest):
        """(ids, per-layer (keys, values)) kept for this request's episode when they prefix its context."""
        if not self.reuse_cache or request.cache_key is None:
            return None
        with self._kv_lock:
            entry = self._kv.get(request.cache_key)
            self._release_locked(request.cache_key)
        if entry is None or len(entry[0]) >= len(request.context) or request.context[: len(entry[0])] != entry[0]:
            return None
        return entry

    def _keep(self, request: GenerationRequest, sampled: list[int], cache, attention: torch.Tensor, i: int) -> None:
        """Keep row `i`'s KV cache (its context and all sampled tokens but the last, which was never fed)."""
        if not self.reuse_cache or request.cache_key is None:
            return
        layers = getattr(cache, "layers", None)
        if not layers or any(type(layer).__name__ != "DynamicLayer" for layer in layers):
            return  # sliding-window or other special caches are not kept
        valid = attention[i].bool()
        size = (
            2
            * sum(layer.keys[i : i + 1].numel() // layer.keys.shape[-2] * layer.keys.element_size() for layer in layers)
            * int(valid.sum())
        )
        with self._kv_lock:
            if self._kv_bytes + size > self.max_kept_bytes:
                return  # over budget: this episode's next turn prefills its whole context
        kv = [
            (layer.keys[i : i + 1][:, :, valid].clone(), layer.values[i : i + 1][:, :, valid].clone())
            for layer in layers
        ]
        self._kv_shape, self._kv_dtype = (kv[0][0].shape[1], kv[0][0].shape[-1]), kv[0][0].dtype
        with self._kv_lock:
            self._release_locked(request.cache_key)
            self._kv[request.cache_key] = (list(request.context) + sampled[:-1], kv, size)
            self._kv_bytes += size

    def release(self, cache_key: object) -> None:
        with self._kv_lock:
            self._release_locked(cache_key)

    def _release_locked(self, cache_key: object) -> None:
        """`release` with the lock held."""
        entry = self._kv.pop(cache_key, None)
        if entry is not None:
            self._kv_bytes -= entry[2]

    @staticmethod
    def _sample(
        logits: torch.Tensor,
        temperature: torch.Tensor,
        greedy: list[bool],
        top_p: torch.Tensor,
        generators: list[torch.Generator],
        live: list[int],
    ) -> tuple[list[int], list[float]]:
        """One token per row: Gumbel-max over log softmax(logits / T) (top-p filtered), with noise
        from each live row's own generator; greedy rows (temperature 0) take the argmax."""
        logprobs = torch.log_softmax(logits / temperature, dim=-1)
        scores = logprobs
        if bool((top_p < 1.0).any()):
            sorted_lp, order = torch.sort(logprobs, dim=-1, descending=True)
            probs = sorted_lp.exp()
            drop_sorted = (probs.cumsum(-1) - probs) >= top_p  # keep the smallest prefix reaching top_p
            scores = logprobs.masked_fill(torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted), float("-inf"))
        noise = torch.zeros_like(scores)
        for row in live:
            if not greedy[row]:
                uniform = torch.rand(scores.shape[-1], generator=generators[row], device=scores.device)
                noise[row] = -torch.log(-torch.log(uniform.clamp(min=1e-20, max=1.0 - 1e-7)))
        tokens = torch.argmax(scores + noise, dim=-1)
        chosen = logprobs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        return tokens.tolist(), chosen.tolist()

    def _stop_reason(self, token: int, turn: list[int], budget: int, stop_at_fence: bool) -> str | None:
        if token in self._stop_set:
            return "eos"
        if stop_at_fence and token < len(self._has_tick) and self._has_tick[token]:
            text = self.tokenizer.decode(turn, skip_special_tokens=True)
            if closes_code_block(text):
                return "fence"
        if len(turn) >= budget:
            return "length"
        return None


class HFAgent(Agent):
    """One episode's policy over an `HFBackend` (see the module docstring).

    `model_or_path` is a backend (`HFBackend` or `agents.vllm_backend.VLLMBackend`, shared by many agents:
    the trainers' case), a model directory
    (loaded once per process and cached), or a transformers model (then `tokenizer` is required).
    `max_total_tokens` caps the whole episode (prompt + all turns + observations); when it is used
    up, the agent returns "" and the env ends the episode. `seed` makes the episode's sampling
    reproducible. With `record=False` the sampler log-probs are not kept.
    """

    name = "hf"
    conversation = "assistant_continuation"

    def __init__(
        self,
        model_or_path,
        tokenizer=None,
        *,
        temperature: float = 0.6,
        top_p: float = 1.0,
        max_new_tokens: int = 1024,
        max_total_tokens: int = 8192,
        system_prompt: str | None = None,
        seed: int | None = None,
        record: bool = True,
        **backend_options: Any,
    ) -> None:
        if isinstance(model_or_path, BatchingBackend):
            self.backend = model_or_path
        elif isinstance(model_or_path, (str, os.PathLike)):
            self.backend = load_backend(str(model_or_path), **backend_options)
        else:
            if tokenizer is None:
                raise ValueError("HFAgent(model) needs the tokenizer too")
            self.backend = HFBackend(model_or_path, tokenizer, **backend_options)
        self.tokenizer = self.backend.tokenizer
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.max_total_tokens = max_total_tokens
        self.system_prompt = system_prompt
        self.seed = seed
        self.record = record
        self.trajectory: TrajectoryBuilder | None = None
        self.turn_texts: list[str] = []
        self._turn = 0
        self._live = False
        self._max_code_calls: int | None = None
        self._cache_key: object = None

    def spawn(self) -> HFAgent:
        """A fresh agent for another (concurrent) episode, sharing this one's backend and settings."""
        return HFAgent(
            self.backend,
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=self.max_new_tokens,
            max_total_tokens=self.max_total_tokens,
            system_prompt=self.system_prompt,
            seed=self.seed,
            record=self.record,
        )

    @property
    def episode_stats(self) -> dict[str, Any]:
        """Token counts of the current/last episode (the benchmark stores them with the transcript)."""
        if self.trajectory is None:
            return {}
        t = self.trajectory
        return {
            "prompt_tokens": t.prompt_length,
            "sampled_tokens": int(sum(t.loss_mask)),
            "total_tokens": len(t.input_ids),
            "stop_reasons": list(t.stop_reasons),
        }

    def reset(self, prompt: str, info: dict[str, Any], env: Any = None) -> None:
        self.finish()
        self.trajectory = TrajectoryBuilder(encode_prompt(self.tokenizer, prompt, self.system_prompt))
        self.turn_texts = []
        self._turn = 0
        unwrapped = getattr(env, "unwrapped", env)
        self._max_code_calls = getattr(unwrapped, "max_code_calls", None)
        self._cache_key = object()  # names this episode to the backend (its kept KV cache)
        self.backend.begin_episode()
        self._live = True

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self.trajectory is None:
            raise RuntimeError("act() before reset()")
        if self._turn > 0:
            self.trajectory.add_observation(encode_observation(self.tokenizer, observation))
        room = self.max_total_tokens - len(self.trajectory.input_ids)
        if room <= 0:
            self.trajectory.stop_reasons.append("context")
            self._turn += 1
            self.finish()
            return ""
        seed = None if self.seed is None else (int(self.seed) * 1_000_003 + self._turn) % (2**63)
        result = self.backend.submit(
            GenerationRequest(
                context=list(self.trajectory.input_ids),
                max_new_tokens=min(self.max_new_tokens, room),
                temperature=self.temperature,
                top_p=self.top_p,
                seed=seed,
                cache_key=self._cache_key,
            )
        )
        self.trajectory.add_model(result.token_ids, result.logprobs if self.record else None, result.stop_reason)
        self._turn += 1
        text = self.tokenizer.decode(result.token_ids, skip_special_tokens=True)
        self.turn_texts.append(text)
        calls = int(info.get("code_calls", 0))
        if result.stop_reason != "fence" or (self._max_code_calls is not None and calls >= self._max_code_calls):
            self.finish()  # the env ends the episode on this text: free the batcher from waiting on us
        return text

    def finish(self) -> None:
        """Tell the backend this episode needs no more turns (idempotent)."""
        if self._live:
            self._live = False
            self.backend.release(self._cache_key)
            self.backend.end_episode()

    def episode_record(self, episode: Any = None, reward: float | None = None, **meta: Any) -> EpisodeRecord:
        """The token-level record of the episode just played. With an `agents.Episode`, its reward,
        task, seed, instance id and code-call counts are filled in."""
        if self.trajectory is None:
            raise RuntimeError("no episode has been played")
        if episode is not None:
            meta = {
                "task": episode.task,
                "seed": episode.seed,
                "instance_id": episode.instance_id,
                "code_calls": episode.code_calls,
                "exec_errors": episode.exec_errors,
                "exec_timeouts": episode.exec_timeouts,
                "truncated": episode.truncated,
                **meta,
            }
            if reward is None:
                reward = episode.reward
        return self.trajectory.record(reward=float(reward or 0.0), **meta)


_BACKENDS: dict[tuple, HFBackend] = {}
_BACKENDS_LOCK = threading.Lock()


def load_backend(
    path: str,
    *,
    dtype: str = "auto",
    device: str | None = None,
    max_batch_size: int = 64,
    gather_timeout_s: float = 0.02,
) -> HFBackend:
    """The process-wide backend for a model directory (loaded on first use, then shared)."""
    key = (os.path.abspath(path) if os.path.exists(path) else path, dtype, device)
    with _BACKENDS_LOCK:
        if key not in _BACKENDS:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            if device is None:
                device = "cuda" if torch.cuda.is_available() else "cpu"
            tokenizer = AutoTokenizer.from_pretrained(path)
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype).to(device)
            model.eval()
            _BACKENDS[key] = HFBackend(
                model, tokenizer, max_batch_size=max_batch_size, gather_timeout_s=gather_timeout_s, device=device
            )
        return _BACKENDS[key]


def make_hf_agent(path: str, **options: Any) -> HFAgent:
    """The agent for the spec `hf:<path>`: `make_hf_agent(path, temperature=0.6, top_p=1.0,
    max_new_tokens=1024, max_total_tokens=8192, system_prompt=None, seed=None, record=True,
    dtype="auto", device=None, max_batch_size=64, gather_timeout_s=0.02)`.

    The model is loaded once per process per (path, dtype, device) and shared: make one agent per
    concurrent episode (an agent holds one episode's state) and they batch together.
    """
    return HFAgent(path, **options)
