"""What `train_sft.py` and `train_grpo.py` share: the token-level episode record, its assembly, batching,
chunked per-token log-probs, the losses, gradient all-reduce, rollouts through the environments,
code-use health numbers and checkpoints.

This module imports torch; `import r1ci_env` never imports it.

The episode format (DESIGN.md section 8): one episode is ONE assistant message. Its token sequence is

    prompt ids  (the chat template applied once: [system], user prompt, assistant header)
    model ids   (turn 1, exactly as sampled)
    obs ids     (the observation text tokenized once, as plain text)
    model ids   (turn 2, exactly as sampled) ...   [<|im_end|> when the model stopped on its own]

Token-in, token-out: sampled ids are never decoded and re-encoded, and the history is never re-rendered
through the chat template, so each turn's context is an exact prefix of the next one. `loss_mask` is 1
on sampled tokens only (never on prompt or observation tokens). SFT builds its examples with the same
functions (`encode_prompt`, `encode_observation`, `TrajectoryBuilder`), so SFT and GRPO see identical
formatting; the only difference is that SFT has to tokenize the teacher's text (`encode_text`).
"""
from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch

MODEL, OBSERVATION = "model", "observation"


# ----------------------------------------------------------------------------------------------
# Tokenization: the three places where text becomes ids
# ----------------------------------------------------------------------------------------------

def encode_prompt(tokenizer, prompt: str, system_prompt: str | None = None) -> list[int]:
    """The prompt ids: the model's chat template applied ONCE to [system], user=`prompt`, with the
    assistant header (`add_generation_prompt=True`). The whole episode then continues that message."""
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": prompt}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_observation(tokenizer, text: str) -> list[int]:
    """An observation's ids, tokenized once as plain text: a program that prints `<|im_end|>` gets
    the characters, not the special token."""
    return list(tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])


def encode_text(tokenizer, text: str) -> list[int]:
    """Teacher (SFT) model text as ids, tokenized the way the observation is. Never used on sampled text."""
    return encode_observation(tokenizer, text)


def stop_token_ids(tokenizer, model=None) -> list[int]:
    """Ids that end a model's reply: the tokenizer's eos, <|im_end|>, <|endoftext|> and the model's
    generation_config eos ids (Qwen2.5 base models say <|endoftext|>, chat models <|im_end|>)."""
    ids = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    vocab = tokenizer.get_vocab()
    for token in ("<|im_end|>", "<|endoftext|>"):
        if token in vocab:
            ids.add(int(vocab[token]))
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in ([eos] if isinstance(eos, int) else list(eos or [])):
        ids.add(int(value))
    return sorted(ids)


# ----------------------------------------------------------------------------------------------
# The record: one per episode, built append-only
# ----------------------------------------------------------------------------------------------

@dataclass
class EpisodeRecord:
    """One episode at token level. `input_ids`, `loss_mask` and `logprobs` have the same length;
    `logprobs` holds the sampler's log-probs on sampled tokens and 0.0 elsewhere (None entries are
    not allowed; SFT records carry 0.0). `spans` lists (kind, start, end) per segment in order.
    `stop_reason`: how the last model turn ended: "eos" (stop token), "length" (max new tokens),
    "fence" (a code block past the call cap), "context" (total token budget used up), "text"
    (SFT: a teacher turn)."""

    input_ids: list[int]
    loss_mask: list[int]
    logprobs: list[float]
    reward: float = 0.0
    stop_reason: str = ""
    prompt_length: int = 0
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (len(self.input_ids) == len(self.loss_mask) == len(self.logprobs)):
            raise ValueError(f"record lengths differ: ids {len(self.input_ids)}, mask {len(self.loss_mask)}, "
                             f"logprobs {len(self.logprobs)}")

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def num_sampled(self) -> int:
        return int(sum(self.loss_mask))

    def segments(self, kind: str | None = None) -> list[list[int]]:
        """The ids of each span (of one kind, or all), in order."""
        return [self.input_ids[s:e] for k, s, e in self.spans if kind is None or k == kind]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EpisodeRecord":
        data = dict(data)
        data["spans"] = [tuple(span) for span in data.get("spans", [])]
        return cls(**data)


class TrajectoryBuilder:
    """An append-only token trajectory: prompt, then model and observation segments."""

    def __init__(self, prompt_ids: Sequence[int]) -> None:
        self.input_ids: list[int] = list(prompt_ids)
        self.loss_mask: list[int] = [0] * len(self.input_ids)
        self.logprobs: list[float] = [0.0] * len(self.input_ids)
        self.prompt_length = len(self.input_ids)
        self.spans: list[tuple[str, int, int]] = []
        self.stop_reasons: list[str] = []

    def add_model(self, ids: Sequence[int], logprobs: Sequence[float] | None = None, stop_reason: str = "") -> None:
        """Sampled ids exactly as sampled (loss_mask 1) with the sampler's log-probs."""
        ids = [int(i) for i in ids]
        if logprobs is None:
            logprobs = [0.0] * len(ids)
        if len(logprobs) != len(ids):
            raise ValueError(f"{len(ids)} ids but {len(logprobs)} log-probs")
        start = len(self.input_ids)
        self.input_ids += ids
        self.loss_mask += [1] * len(ids)
        self.logprobs += [float(x) for x in logprobs]
        self.spans.append((MODEL, start, len(self.input_ids)))
        self.stop_reasons.append(stop_reason)

    def add_observation(self, ids: Sequence[int]) -> None:
        """Observation ids (loss_mask 0)."""
        start = len(self.input_ids)
        self.input_ids += [int(i) for i in ids]
        self.loss_mask += [0] * (len(self.input_ids) - start)
        self.logprobs += [0.0] * (len(self.input_ids) - start)
        self.spans.append((OBSERVATION, start, len(self.input_ids)))

    def record(self, reward: float = 0.0, stop_reason: str | None = None, **meta: Any) -> EpisodeRecord:
        if stop_reason is None:
            stop_reason = self.stop_reasons[-1] if self.stop_reasons else ""
        return EpisodeRecord(list(self.input_ids), list(self.loss_mask), list(self.logprobs), float(reward),
                             stop_reason, self.prompt_length, list(self.spans), dict(meta))


def assemble_turns(tokenizer, prompt: str, turns: Iterable[tuple[str, str | None]], *,
                   stop_token_id: int | None = None, system_prompt: str | None = None,
                   reward: float = 1.0, **meta: Any) -> EpisodeRecord:
    """An SFT example from text: the prompt, then per turn (model text, observation text or None).

    Each model text is tokenized on its own (`encode_text`) and each observation once
    (`encode_observation`), exactly where the RL rollout puts sampled ids and observation ids.
    `stop_token_id` (normally <|im_end|>) is appended to the last model turn, as the model samples
    it when it ends an episode by itself; pass None for an episode cut by the call cap.
    """
    builder = TrajectoryBuilder(encode_prompt(tokenizer, prompt, system_prompt))
    turns = list(turns)
    for index, (model_text, observation) in enumerate(turns):
        ids = encode_text(tokenizer, model_text)
        last = index == len(turns) - 1
        if last and stop_token_id is not None:
            ids.append(int(stop_token_id))
        builder.add_model(ids, stop_reason="text")
        if observation is not None and not last:
            builder.add_observation(encode_observation(tokenizer, observation))
    return builder.record(reward=reward, stop_reason="eos" if stop_token_id is not None else "fence", **meta)


# ----------------------------------------------------------------------------------------------
# Batching: padding, attention mask and position ids
# ----------------------------------------------------------------------------------------------

def collate(records: Sequence[EpisodeRecord], pad_token_id: int, device: torch.device | str = "cpu",
            pad_to_multiple_of: int = 1) -> dict[str, torch.Tensor]:
    """Right-padded tensors for a list of records.

    `attention_mask` comes from the lengths (never from token ids: pad may equal a stop token),
    `position_ids` = cumsum(attention_mask) - 1, `loss_mask` and `sampler_logprobs` are 0 on padding.
    """
    length = max(len(r) for r in records)
    length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
    batch = len(records)
    input_ids = torch.full((batch, length), int(pad_token_id), dtype=torch.long)
    attention_mask = torch.zeros((batch, length), dtype=torch.long)
    loss_mask = torch.zeros((batch, length), dtype=torch.float32)
    sampler_logprobs = torch.zeros((batch, length), dtype=torch.float32)
    for row, record in enumerate(records):
        n = len(record)
        input_ids[row, :n] = torch.tensor(record.input_ids, dtype=torch.long)
        attention_mask[row, :n] = 1
        loss_mask[row, :n] = torch.tensor(record.loss_mask, dtype=torch.float32)
        sampler_logprobs[row, :n] = torch.tensor(record.logprobs, dtype=torch.float32)
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    out = dict(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
               loss_mask=loss_mask, sampler_logprobs=sampler_logprobs)
    return {k: v.to(device) for k, v in out.items()}


def micro_batches(indices: Sequence[int], lengths: Sequence[int], max_tokens: int,
                  max_size: int | None = None) -> list[list[int]]:
    """Split `indices` (kept in order) into micro-batches whose padded size (rows x longest row) stays
    within `max_tokens` (a single longer row gets its own micro-batch)."""
    out: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in indices:
        new_longest = max(longest, lengths[i])
        if current and (new_longest * (len(current) + 1) > max_tokens or (max_size and len(current) >= max_size)):
            out.append(current)
            current, new_longest = [], lengths[i]
        current.append(i)
        longest = new_longest
    if current:
        out.append(current)
    return out


# ----------------------------------------------------------------------------------------------
# Per-token log-probs, in chunks
# ----------------------------------------------------------------------------------------------

def unwrap_model(model):
    """The causal LM under DDP / torch.compile wrappers (a PeftModel is kept: its adapters must run)."""
    while hasattr(model, "module"):
        model = model.module
    return getattr(model, "_orig_mod", model)


def _backbone_and_head(model):
    model = unwrap_model(model)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(base, base.base_model_prefix), base.get_output_embeddings()


def _chunk_logprobs(head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    logits = head(hidden).float()
    if temperature != 1.0:
        logits = logits / temperature
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(logits, dim=-1)


def token_logprobs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   position_ids: torch.Tensor | None = None, *, temperature: float = 1.0,
                   chunk_size: int = 1024) -> torch.Tensor:
    """log p(input_ids[:, t] | input_ids[:, :t]) for every t >= 1 under softmax(logits / temperature);
    column 0 is 0. Shape [B, L], fp32.

    The vocabulary projection runs on `chunk_size` positions at a time (with activation checkpointing
    when gradients are on), so the [B, L, V] logits tensor never exists at once.
    """
    backbone, head = _backbone_and_head(model)
    if position_ids is None:
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    hidden = backbone(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                      use_cache=False).last_hidden_state
    targets = input_ids[:, 1:]
    hidden = hidden[:, :-1]
    pieces = [torch.zeros_like(input_ids[:, :1], dtype=torch.float32)]
    for start in range(0, targets.shape[1], chunk_size):
        h, t = hidden[:, start:start + chunk_size], targets[:, start:start + chunk_size]
        if torch.is_grad_enabled() and h.requires_grad and targets.shape[1] > chunk_size:
            pieces.append(torch.utils.checkpoint.checkpoint(_chunk_logprobs, head, h, t, temperature,
                                                            use_reentrant=False))
        else:
            pieces.append(_chunk_logprobs(head, h, t, temperature))
    return torch.cat(pieces, dim=1)


# ----------------------------------------------------------------------------------------------
# GRPO pieces: advantages, the clipped surrogate, KL; the SFT loss
# ----------------------------------------------------------------------------------------------

def group_advantages(rewards: Sequence[float], group_size: int, scale: str = "group",
                     eps: float = 1e-6) -> tuple[list[float], list[bool]]:
    """Advantage = reward - group mean, divided by the group's std when `scale="group"` (GRPO) or not
    at all when `scale="none"` (Dr. GRPO). Groups are consecutive runs of `group_size` rewards.

    Returns (advantages, zero_variance) with one flag per episode: True for every member of a group
    whose rewards are all equal (its advantages are exactly 0; trainers skip those episodes).
    """
    if len(rewards) % group_size:
        raise ValueError(f"{len(rewards)} rewards do not split into groups of {group_size}")
    if scale not in ("group", "none"):
        raise ValueError(f"scale must be 'group' or 'none', got {scale!r}")
    advantages, zero = [], []
    for g in range(0, len(rewards), group_size):
        group = [float(r) for r in rewards[g:g + group_size]]
        mean = sum(group) / len(group)
        flat = max(group) == min(group)
        std = math.sqrt(sum((r - mean) ** 2 for r in group) / max(len(group) - 1, 1))
        for r in group:
            a = 0.0 if flat else (r - mean) / ((std + eps) if scale == "group" else 1.0)
            advantages.append(a)
            zero.append(flat)
    return advantages, zero


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """The k3 estimator of KL(policy || reference) per token: exp(d) - d - 1 with d = ref - policy (>= 0)."""
    d = ref_logprobs - logprobs
    return torch.exp(d) - d - 1


def clipped_policy_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                        loss_mask: torch.Tensor, *, eps_low: float = 0.2, eps_high: float = 0.28,
                        aggregation: str = "token", normalizer: float = 1.0,
                        ref_logprobs: torch.Tensor | None = None, kl_coef: float = 0.0,
                        ) -> tuple[torch.Tensor, dict[str, float]]:
    """The GRPO/PPO clipped surrogate, summed over masked tokens and divided by `normalizer`.

    per token: -min(r A, clip(r, 1 - eps_low, 1 + eps_high) A) [+ kl_coef * k3], r = exp(logp - old).
    `aggregation="token"`: sum over all tokens / normalizer (= the number of loss tokens in the whole
    optimizer step, over micro-batches and ranks). `"sequence"`: each sequence's mean over its own
    tokens, summed / normalizer (= the number of sequences in the step). Positions with mask 0 get
    exactly zero gradient (they are routed through `detach` and selected out with `where`, so even
    inf/nan inputs there cannot leak into the backward pass).

    Returns (loss, sums) where `sums` are additive statistics for logging (tokens, clipped tokens,
    ratio min/max, KL sum).
    """
    mask = loss_mask > 0
    # Masked positions: route them through a detached copy and neutral values, so that no gradient can
    # reach them even when their inputs are inf/nan (0 * nan would otherwise leak through backward).
    logprobs = torch.where(mask, logprobs, logprobs.detach())
    old_logprobs = torch.where(mask, old_logprobs, logprobs.detach())
    if ref_logprobs is not None:
        ref_logprobs = torch.where(mask, ref_logprobs, logprobs.detach())
    ratio = torch.exp(logprobs - old_logprobs)
    adv = advantages.unsqueeze(-1).to(logprobs.dtype)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high) * adv
    per_token = -torch.minimum(unclipped, clipped)
    kl = None
    if ref_logprobs is not None and kl_coef:
        kl = kl_k3(logprobs, ref_logprobs)
        per_token = per_token + kl_coef * kl
    per_token = torch.where(mask, per_token, torch.zeros_like(per_token))
    if aggregation == "token":
        loss = per_token.sum() / normalizer
    elif aggregation == "sequence":
        loss = (per_token.sum(-1) / mask.sum(-1).clamp(min=1)).sum() / normalizer
    else:
        raise ValueError(f"aggregation must be 'token' or 'sequence', got {aggregation!r}")
    with torch.no_grad():
        r = ratio[mask]
        low = (adv < 0) & (ratio < 1.0 - eps_low)
        high = (adv > 0) & (ratio > 1.0 + eps_high)
        sums = {
            "tokens": float(mask.sum()),
            "clipped_low": float((low & mask).sum()),
            "clipped_high": float((high & mask).sum()),
            "ratio_min": float(r.min()) if r.numel() else 1.0,
            "ratio_max": float(r.max()) if r.numel() else 1.0,
            "kl_sum": float(torch.where(mask, kl, torch.zeros_like(kl)).sum()) if kl is not None else 0.0,
        }
    return loss, sums


def masked_nll(logprobs: torch.Tensor, loss_mask: torch.Tensor, normalizer: float) -> torch.Tensor:
    """SFT loss: -sum of log-probs over masked tokens / normalizer (the step's loss-token count)."""
    mask = loss_mask > 0
    return -torch.where(mask, logprobs, torch.zeros_like(logprobs.detach())).sum() / normalizer


# ----------------------------------------------------------------------------------------------
# Gradients over micro-batches (shared by both scripts and the data-parallel test)
# ----------------------------------------------------------------------------------------------

def policy_gradient(model, records: Sequence[EpisodeRecord], advantages: Sequence[float], *,
                    pad_token_id: int, normalizer: float, temperature: float = 1.0,
                    eps_low: float = 0.2, eps_high: float = 0.28, aggregation: str = "token",
                    old_logprobs: Sequence[torch.Tensor] | None = None,
                    ref_model=None, kl_coef: float = 0.0, micro_batch_tokens: int = 16384,
                    chunk_size: int = 1024, invert_mask: bool = False,
                    device: torch.device | str = "cpu") -> dict[str, float]:
    """Accumulate the clipped-surrogate gradient of `records` into `.grad` (no optimizer step).

    `old_logprobs` (one [len] tensor per record) come from a no-grad pass before the first update;
    None means "the current policy" (one update per rollout batch): the detached log-probs of this
    very forward pass, so the ratio is exactly 1. `ref_model` is the KL reference (a model, or the
    string "disable_adapter" for a LoRA model whose base is the SFT model). `invert_mask` trains on
    everything except the sampled tokens: only for the negative-control test.
    Returns additive sums for logging, plus `sampler_abs_diff_sum` (|sampler logp - trainer logp|).
    """
    stats = {"tokens": 0.0, "clipped_low": 0.0, "clipped_high": 0.0, "ratio_min": math.inf,
             "ratio_max": -math.inf, "kl_sum": 0.0, "sampler_abs_diff_sum": 0.0, "loss_sum": 0.0}
    lengths = [len(r) for r in records]
    for batch_index in micro_batches(range(len(records)), lengths, micro_batch_tokens):
        batch = collate([records[i] for i in batch_index], pad_token_id, device)
        mask = batch["loss_mask"]
        if invert_mask:
            mask = batch["attention_mask"].float() - mask
            mask[:, 0] = 0.0
        logprobs = token_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["position_ids"],
                                  temperature=temperature, chunk_size=chunk_size)
        if old_logprobs is None:
            old = logprobs.detach()
        else:
            old = torch.zeros_like(logprobs)
            for row, i in enumerate(batch_index):
                old[row, :lengths[i]] = old_logprobs[i].to(old.device)
        ref = None
        if kl_coef:
            with torch.no_grad():
                if ref_model == "disable_adapter":
                    with unwrap_model(model).disable_adapter():
                        ref = token_logprobs(model, batch["input_ids"], batch["attention_mask"],
                                             batch["position_ids"], temperature=temperature, chunk_size=chunk_size)
                else:
                    ref = token_logprobs(ref_model, batch["input_ids"], batch["attention_mask"],
                                         batch["position_ids"], temperature=temperature, chunk_size=chunk_size)
        adv = torch.tensor([advantages[i] for i in batch_index], dtype=torch.float32, device=logprobs.device)
        loss, sums = clipped_policy_loss(logprobs, old, adv, mask, eps_low=eps_low, eps_high=eps_high,
                                         aggregation=aggregation, normalizer=normalizer,
                                         ref_logprobs=ref, kl_coef=kl_coef)
        loss.backward()
        with torch.no_grad():
            sampled = batch["loss_mask"] > 0
            stats["sampler_abs_diff_sum"] += float(
                torch.where(sampled, (logprobs - batch["sampler_logprobs"]).abs(), torch.zeros_like(logprobs)).sum())
        stats["loss_sum"] += float(loss.detach())
        for key in ("tokens", "clipped_low", "clipped_high", "kl_sum"):
            stats[key] += sums[key]
        stats["ratio_min"] = min(stats["ratio_min"], sums["ratio_min"])
        stats["ratio_max"] = max(stats["ratio_max"], sums["ratio_max"])
    return stats


def sft_gradient(model, records: Sequence[EpisodeRecord], *, pad_token_id: int, normalizer: float,
                 micro_batch_tokens: int = 16384, chunk_size: int = 1024,
                 device: torch.device | str = "cpu") -> dict[str, float]:
    """Accumulate the masked NLL gradient (loss on the model's own tokens only) into `.grad`.
    Returns {"loss_sum": masked NLL summed, "tokens": loss tokens}."""
    stats = {"loss_sum": 0.0, "tokens": 0.0}
    lengths = [len(r) for r in records]
    for batch_index in micro_batches(range(len(records)), lengths, micro_batch_tokens):
        batch = collate([records[i] for i in batch_index], pad_token_id, device)
        logprobs = token_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["position_ids"],
                                  chunk_size=chunk_size)
        loss = masked_nll(logprobs, batch["loss_mask"], normalizer)
        loss.backward()
        stats["loss_sum"] += float(loss.detach()) * normalizer
        stats["tokens"] += float(batch["loss_mask"].sum())
    return stats


@torch.no_grad()
def records_logprobs(model, records: Sequence[EpisodeRecord], *, pad_token_id: int, temperature: float = 1.0,
                     micro_batch_tokens: int = 16384, chunk_size: int = 1024,
                     device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Per-token log-probs of each record under `model` (no grad), one [len] tensor per record."""
    out: list[torch.Tensor | None] = [None] * len(records)
    lengths = [len(r) for r in records]
    for batch_index in micro_batches(range(len(records)), lengths, micro_batch_tokens):
        batch = collate([records[i] for i in batch_index], pad_token_id, device)
        lp = token_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["position_ids"],
                            temperature=temperature, chunk_size=chunk_size)
        for row, i in enumerate(batch_index):
            out[i] = lp[row, :lengths[i]].detach()
    return out  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# Data parallel (torchrun; gloo on CPU, nccl on GPU)
# ----------------------------------------------------------------------------------------------

def dist_info() -> tuple[int, int]:
    """(rank, world_size); (0, 1) without torch.distributed."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def all_reduce_sum(values: Sequence[float], device: torch.device | str = "cpu") -> list[float]:
    """Sum a few floats over ranks (identity without distributed)."""
    if dist_info()[1] == 1:
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return t.tolist()


def all_reduce_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Sum `.grad` over ranks in one flat buffer (missing grads count as zeros).

    The losses are already divided by the GLOBAL normaliser (tokens or sequences over all ranks),
    so a sum, not a mean, gives exactly the single-process gradient."""
    if dist_info()[1] == 1:
        return
    params = [p for p in parameters if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    torch.distributed.all_reduce(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n


def broadcast_parameters(model) -> None:
    """Make every rank start from rank 0's weights."""
    if dist_info()[1] == 1:
        return
    for p in unwrap_model(model).parameters():
        torch.distributed.broadcast(p.data, src=0)


def shard_groups(items: Sequence[Any], group_size: int, rank: int, world_size: int) -> list[Any]:
    """This rank's share of `items` made of consecutive groups of `group_size`: whole groups only,
    dealt round-robin (group g goes to rank g % world_size)."""
    groups = [items[i:i + group_size] for i in range(0, len(items), group_size)]
    return [x for g, group in enumerate(groups) if g % world_size == rank for x in group]


# ----------------------------------------------------------------------------------------------
# Rollouts through the environments, and the code-use health numbers
# ----------------------------------------------------------------------------------------------

@dataclass
class Job:
    """One episode to play: a task (a name or a zero-argument env factory key), an instance seed, and
    the seed of the sampler's random stream for this episode."""

    task: str
    seed: int
    sample_seed: int | None = None


def rollout(backend, make_env: Callable[[str], Any], jobs: Sequence[Job], *, temperature: float = 1.0,
            top_p: float = 1.0, max_new_tokens: int = 1024, max_total_tokens: int = 4096,
            system_prompt: str | None = None, concurrency: int = 64, retries: int = 2,
            ) -> list[tuple[Any, EpisodeRecord]]:
    """Play `jobs` with the HF policy behind `backend`, `concurrency` episodes at a time, each in a
    thread running `agents.run_episode` (the same loop as `r1ci run` and the benchmark), so the
    backend batches whatever turns are pending. Returns (Episode, EpisodeRecord) per job, in order.
    Sandbox failures (infrastructure, not the model) are retried up to `retries` times."""
    from r1ci_env.sandbox import SandboxError

    from .episode import run_episode
    from .hf import HFAgent

    def play(job: Job):
        for attempt in range(retries + 1):
            env = make_env(job.task)
            agent = HFAgent(backend, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                            max_total_tokens=max_total_tokens, system_prompt=system_prompt, seed=job.sample_seed)
            try:
                episode = run_episode(env, agent, job.seed)
                return episode, agent.episode_record(episode)
            except SandboxError:
                if attempt == retries:
                    raise
            finally:
                agent.finish()
                env.close()

    if concurrency <= 1 or len(jobs) <= 1:
        return [play(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(jobs)), thread_name_prefix="rollout") as pool:
        return list(pool.map(play, jobs))


def env_factory(*, sandbox: str = "docker", max_code_calls: int = 5, timeout: float = 10.0,
                max_observation_chars: int = 4096, prompt: str = "code_interpreter",
                custom: str | None = None) -> Callable[[str], Any]:
    """task name -> a fresh env with these settings, via `gym.make("r1ci/<task>-v0")`, or via a custom
    factory `custom="module:function"` called as function(task, **settings)."""
    import importlib

    options = dict(sandbox=sandbox, max_code_calls=max_code_calls, timeout=timeout,
                   max_observation_chars=max_observation_chars)
    if prompt != "code_interpreter":
        options["prompt"] = prompt
    if custom:
        module, _, name = custom.partition(":")
        factory = getattr(importlib.import_module(module), name)
        return lambda task: factory(task, **options)

    import gymnasium as gym

    import r1ci_env

    return lambda task: gym.make(r1ci_env.env_id(task), **options)


def evaluate_policy(backend, make_env: Callable[[str], Any], tasks: Sequence[str], *, n: int = 8,
                    temperature: float = 0.6, max_new_tokens: int = 1024, max_total_tokens: int = 4096,
                    system_prompt: str | None = None, concurrency: int = 64, seed_base: int = 10**9,
                    ) -> dict[str, Any]:
    """`n` episodes per task on seeds `seed_base + i` (disjoint from training's), split over ranks;
    mean reward and code-use health over all ranks, plus the mean reward per task."""
    jobs = [Job(task, seed_base + i, 7_000_000 + 1000 * ti + i) for ti, task in enumerate(tasks) for i in range(n)]
    rank, world = dist_info()
    results = rollout(backend, make_env, jobs[rank::world], temperature=temperature, max_new_tokens=max_new_tokens,
                      max_total_tokens=max_total_tokens, system_prompt=system_prompt, concurrency=concurrency)
    episodes = [e for e, _ in results]
    health = code_use_health(episodes)
    keys = ["reward", "code_share", "calls_per_episode", "error_rate", "timeout_rate"]
    sums = all_reduce_sum([health[k] * health["episodes"] for k in keys] + [health["episodes"]])
    total = max(sums[-1], 1)
    out: dict[str, Any] = {f"eval/{k}": sums[i] / total for i, k in enumerate(keys)}
    out["eval/episodes"] = sums[-1]
    per_task: dict[str, list[float]] = {}
    for e in episodes:
        per_task.setdefault(e.task, []).append(e.reward)
    out["eval/per_task"] = {t: sum(r) / len(r) for t, r in per_task.items()}  # this rank's episodes
    return out


def code_use_health(episodes: Sequence[Any]) -> dict[str, float]:
    """Mean reward and code-use health: share of episodes with code, code calls per episode, the share
    of code runs that raised / timed out, and how episodes ended."""
    n = max(len(episodes), 1)
    calls = sum(e.code_calls for e in episodes)
    return {
        "reward": sum(e.reward for e in episodes) / n,
        "episodes": float(len(episodes)),
        "code_share": sum(e.code_calls > 0 for e in episodes) / n,
        "calls_per_episode": calls / n,
        "error_rate": sum(e.exec_errors for e in episodes) / max(calls, 1),
        "timeout_rate": sum(e.exec_timeouts for e in episodes) / max(calls, 1),
        "truncated_share": sum(bool(e.truncated) for e in episodes) / n,
        "answered_share": sum(e.answer is not None for e in episodes) / n,
    }


# ----------------------------------------------------------------------------------------------
# Models, LoRA and checkpoints
# ----------------------------------------------------------------------------------------------

def load_model(path: str | os.PathLike, *, dtype: str = "float32", device: str = "cpu",
               sft_adapter: str | None = None):
    """(model, tokenizer) from a local directory, in train mode. With `sft_adapter`, that PEFT adapter
    is merged into the weights first, so the result IS the SFT model (the right KL reference)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype)).to(device)
    if sft_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, sft_adapter).merge_and_unload()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def add_lora(model, r: int = 32, alpha: int = 64, dropout: float = 0.0,
             target_modules: Sequence[str] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                              "down_proj")):
    """Wrap `model` with a fresh trainable LoRA adapter (peft); asserts there is something to train."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules),
                        task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    if not any(p.requires_grad for p in model.parameters()):
        raise RuntimeError("the LoRA model has no trainable parameters")
    return model


def trainable_parameters(model) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "torch": torch.random.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    torch.random.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(directory: str | os.PathLike, model, tokenizer, optimizer, state: dict[str, Any]) -> Path:
    """Write `directory/step-N` (weights or adapter via save_pretrained, tokenizer, optimizer, trainer
    state and RNG) and point `directory/latest` at it. Only rank 0 should call this."""
    directory = Path(directory)
    target = directory / f"step-{state['step']}"
    tmp = directory / f".tmp-step-{state['step']}"
    tmp.mkdir(parents=True, exist_ok=True)
    unwrap_model(model).save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    torch.save({"optimizer": optimizer.state_dict(), "state": state, "rng": rng_state()}, tmp / "trainer_state.pt")
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    (directory / "latest").write_text(target.name)
    return target


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    pointer = Path(directory) / "latest"
    if not pointer.exists():
        return None
    path = Path(directory) / pointer.read_text().strip()
    return path if path.exists() else None


def load_checkpoint_state(checkpoint: str | os.PathLike, model, optimizer) -> dict[str, Any]:
    """Load weights (full model or LoRA adapter) and optimizer/RNG state saved by `save_checkpoint`
    into `model` / `optimizer`; returns the trainer state dict."""
    checkpoint = Path(checkpoint)
    inner = unwrap_model(model)
    if (checkpoint / "adapter_config.json").exists():
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(inner, load_file(checkpoint / "adapter_model.safetensors"))
    else:
        from safetensors.torch import load_file

        weights = {}
        for file in sorted(checkpoint.glob("*.safetensors")):
            weights.update(load_file(file))
        missing, unexpected = inner.load_state_dict(weights, strict=False)
        missing = [m for m in missing if not m.endswith("lm_head.weight")]  # tied embeddings
        if missing or unexpected:
            raise RuntimeError(f"checkpoint {checkpoint} does not match the model: missing {missing[:5]}, "
                               f"unexpected {unexpected[:5]}")
    blob = torch.load(checkpoint / "trainer_state.pt", weights_only=False)
    optimizer.load_state_dict(blob["optimizer"])
    set_rng_state(blob["rng"])
    return blob["state"]


class MetricsLog:
    """Append-only JSONL metrics (rank 0 writes; other ranks get a no-op)."""

    def __init__(self, path: str | os.PathLike | None, enabled: bool = True) -> None:
        self.path = Path(path) if path and enabled else None
        self._lock = threading.Lock()
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: dict[str, Any]) -> None:
        if self.path is None:
            return
        row = {"time": time.time(), **row}
        with self._lock, self.path.open("a") as f:
            f.write(json.dumps(row, default=float) + "\n")
