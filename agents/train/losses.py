"""The losses: group advantages, the clipped GRPO surrogate with optional k3 KL, the SFT masked NLL,
and their gradients accumulated over micro-batches (torch)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import torch

from r1ci_env.tokens import EpisodeRecord

from .logprobs import collate, micro_batches, sampled_logprobs, token_logprobs, unwrap_model


def group_advantages(
    rewards: Sequence[float], group_size: int, scale: str = "group", eps: float = 1e-6
) -> tuple[list[float], list[bool]]:
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
        group = [float(r) for r in rewards[g : g + group_size]]
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


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    loss_mask: torch.Tensor,
    *,
    eps_low: float = 0.2,
    eps_high: float = 0.28,
    aggregation: str = "token",
    normalizer: float = 1.0,
    ref_logprobs: torch.Tensor | None = None,
    kl_coef: float = 0.0,
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


def policy_gradient(
    model,
    records: Sequence[EpisodeRecord],
    advantages: Sequence[float],
    *,
    pad_token_id: int,
    normalizer: float,
    temperature: float = 1.0,
    eps_low: float = 0.2,
    eps_high: float = 0.28,
    aggregation: str = "token",
    old_logprobs: Sequence[torch.Tensor] | None = None,
    ref_model=None,
    kl_coef: float = 0.0,
    micro_batch_tokens: int = 16384,
    chunk_size: int = 1024,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Accumulate the clipped-surrogate gradient of `records` into `.grad` (no optimizer step).

    `old_logprobs` (one [len] tensor per record) come from a no-grad pass before the first update;
    None means "the current policy" (one update per rollout batch): the detached log-probs of this
    very forward pass, so the ratio is exactly 1. `ref_model` is the KL reference (a model, or the
    string "disable_adapter" for a LoRA model whose base is the SFT model). The loss is on each record's
    `loss_mask` (the trainer swaps it for its ablations and negative control).
    Returns additive sums for logging, plus `sampler_abs_diff_sum` (|sampler logp - trainer logp|) and
    `entropy_sum` (policy entropy summed over the sampled tokens).
    """
    stats = {
        "tokens": 0.0,
        "clipped_low": 0.0,
        "clipped_high": 0.0,
        "ratio_min": math.inf,
        "ratio_max": -math.inf,
        "kl_sum": 0.0,
        "sampler_abs_diff_sum": 0.0,
        "loss_sum": 0.0,
        "entropy_sum": 0.0,
    }
    lengths = [len(r) for r in records]
    for batch_index in micro_batches(range(len(records)), lengths, micro_batch_tokens):
        batch = collate([records[i] for i in batch_index], pad_token_id, device)
        mask = batch["loss_mask"]
        needed = mask > 0
        logprobs, entropy = token_logprobs(
            model,
            batch["input_ids"],
            batch["attention_mask"],
            batch["position_ids"],
            temperature=temperature,
            chunk_size=chunk_size,
            return_entropy=True,
            only=needed,
        )
        if old_logprobs is None:
            old = logprobs.detach()
        else:
            old = torch.zeros_like(logprobs)
            for row, i in enumerate(batch_index):
                old[row, : lengths[i]] = old_logprobs[i].to(old.device)
        ref = None
        if kl_coef:
            base_only = ref_model == "disable_adapter"  # the LoRA's base is the reference
            with torch.no_grad(), unwrap_model(model).disable_adapter() if base_only else contextlib.nullcontext():
                ref = token_logprobs(
                    model if base_only else ref_model,
                    batch["input_ids"],
                    batch["attention_mask"],
                    batch["position_ids"],
                    temperature=temperature,
                    chunk_size=chunk_size,
                    only=needed,
                )
        adv = torch.tensor([advantages[i] for i in batch_index], dtype=torch.float32, device=logprobs.device)
        loss, sums = clipped_policy_loss(
            logprobs,
            old,
            adv,
            mask,
            eps_low=eps_low,
            eps_high=eps_high,
            aggregation=aggregation,
            normalizer=normalizer,
            ref_logprobs=ref,
            kl_coef=kl_coef,
        )
        if loss.requires_grad:  # False when no position of this micro-batch is trained
            loss.backward()
        with torch.no_grad():
            sampled = batch["loss_mask"] > 0
            stats["sampler_abs_diff_sum"] += float(
                torch.where(sampled, (logprobs - batch["sampler_logprobs"]).abs(), torch.zeros_like(logprobs)).sum()
            )
            stats["entropy_sum"] += float(torch.where(sampled, entropy, torch.zeros_like(entropy)).sum())
        stats["loss_sum"] += float(loss.detach())
        for key in ("tokens", "clipped_low", "clipped_high", "kl_sum"):
            stats[key] += sums[key]
        stats["ratio_min"] = min(stats["ratio_min"], sums["ratio_min"])
        stats["ratio_max"] = max(stats["ratio_max"], sums["ratio_max"])
    return stats


def sft_gradient(
    model,
    records: Sequence[EpisodeRecord],
    *,
    pad_token_id: int,
    normalizer: float,
    micro_batch_tokens: int = 16384,
    chunk_size: int = 1024,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Accumulate the masked NLL gradient (loss on the model's own tokens only) into `.grad`.
    Returns {"loss_sum": masked NLL summed, "tokens": loss tokens}."""
    stats = {"loss_sum": 0.0, "tokens": 0.0}
    for _, batch, logprobs in sampled_logprobs(
        model,
        records,
        pad_token_id=pad_token_id,
        micro_batch_tokens=micro_batch_tokens,
        chunk_size=chunk_size,
        device=device,
    ):
        loss = masked_nll(logprobs, batch["loss_mask"], normalizer)
        if loss.requires_grad:  # False when no position of this micro-batch is trained
            loss.backward()
        stats["loss_sum"] += float(loss.detach()) * normalizer
        stats["tokens"] += float(batch["loss_mask"].sum())
    return stats
