"""Batching records into padded tensors and per-token log-probs under a model, in chunks (torch)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from r1ci_env.tokens import EpisodeRecord


def collate(
    records: Sequence[EpisodeRecord], pad_token_id: int, device: torch.device | str = "cpu", pad_to_multiple_of: int = 1
) -> dict[str, torch.Tensor]:
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
    out = dict(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        loss_mask=loss_mask,
        sampler_logprobs=sampler_logprobs,
    )
    return {k: v.to(device) for k, v in out.items()}


def micro_batches(
    indices: Sequence[int], lengths: Sequence[int], max_tokens: int, max_size: int | None = None
) -> list[list[int]]:
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


def _chunk_logprobs(
    head: torch.nn.Module, hidden: torch.Tensor, targets: torch.Tensor, temperature: float, entropy: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    logits = head(hidden).float()
    if temperature != 1.0:
        logits = logits / temperature
    logz = torch.logsumexp(logits, dim=-1)
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - logz
    if not entropy:
        return picked, None
    with torch.no_grad():
        logp = logits - logz.unsqueeze(-1)
        return picked, -(logp.exp() * logp).sum(-1)


def token_logprobs(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    position_ids: torch.Tensor | None = None,
    *,
    temperature: float = 1.0,
    chunk_size: int = 1024,
    return_entropy: bool = False,
    only: torch.Tensor | None = None,
):
    """log p(input_ids[:, t] | input_ids[:, :t]) for every t >= 1 under softmax(logits / temperature);
    column 0 is 0. Shape [B, L], fp32. With `return_entropy`, also the (no-grad) entropy of that
    distribution at each position, as a second [B, L] tensor.

    `only` ([B, L] bool) restricts the vocabulary projection to the positions where it is True (e.g. the
    loss mask: prompt and observation positions never need it); the others are 0. The projection runs
    on `chunk_size` positions at a time (with activation checkpointing when gradients are on), so the
    [positions, V] logits tensor never exists at once.
    """
    backbone, head = _backbone_and_head(model)
    if position_ids is None:
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    hidden = backbone(
        input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False
    ).last_hidden_state
    targets = input_ids[:, 1:]
    keep = torch.ones_like(targets, dtype=torch.bool) if only is None else only[:, 1:].bool()
    rows, cols = keep.nonzero(as_tuple=True)
    flat_hidden, flat_targets = hidden[:, :-1][rows, cols], targets[rows, cols]
    pieces, entropies = [], []
    checkpointed = torch.is_grad_enabled() and flat_hidden.requires_grad and len(rows) > chunk_size
    for start in range(0, len(rows), chunk_size):
        h, t = flat_hidden[start : start + chunk_size], flat_targets[start : start + chunk_size]
        if checkpointed:
            logp, ent = torch.utils.checkpoint.checkpoint(
                _chunk_logprobs, head, h, t, temperature, return_entropy, use_reentrant=False
            )
        else:
            logp, ent = _chunk_logprobs(head, h, t, temperature, return_entropy)
        pieces.append(logp)
        entropies.append(ent)

    def scatter(values: list[torch.Tensor]) -> torch.Tensor:
        out = torch.zeros(input_ids.shape, dtype=torch.float32, device=input_ids.device)
        return out.index_put((rows, cols + 1), torch.cat(values)) if values else out

    logprobs = scatter(pieces)
    return (logprobs, scatter(entropies)) if return_entropy else logprobs


def sampled_logprobs(
    model,
    records: Sequence[EpisodeRecord],
    *,
    pad_token_id: int,
    temperature: float = 1.0,
    micro_batch_tokens: int = 16384,
    chunk_size: int = 1024,
    device: torch.device | str = "cpu",
) -> Iterator[tuple[list[int], dict[str, torch.Tensor], torch.Tensor]]:
    """Per micro-batch of `records`: (their indices, the collated batch, log-probs [B, T] of the sampled
    tokens, 0 elsewhere), with the graph kept when grad is enabled (SFT's loss) and none under no_grad."""
    lengths = [len(r) for r in records]
    for batch_index in micro_batches(range(len(records)), lengths, micro_batch_tokens):
        batch = collate([records[i] for i in batch_index], pad_token_id, device)
        logprobs = token_logprobs(
            model,
            batch["input_ids"],
            batch["attention_mask"],
            batch["position_ids"],
            temperature=temperature,
            chunk_size=chunk_size,
            only=batch["loss_mask"] > 0,
        )
        yield list(batch_index), batch, logprobs


def records_logprobs(
    model,
    records: Sequence[EpisodeRecord],
    *,
    pad_token_id: int,
    temperature: float = 1.0,
    micro_batch_tokens: int = 16384,
    chunk_size: int = 1024,
    device: torch.device | str = "cpu",
) -> list[torch.Tensor]:
    """Per-token log-probs of each record's sampled tokens under `model` (no grad; 0 at other positions),
    one [len] tensor per record."""
    out: list[torch.Tensor | None] = [None] * len(records)
    with torch.no_grad():
        for batch_index, _, lp in sampled_logprobs(
            model,
            records,
            pad_token_id=pad_token_id,
            temperature=temperature,
            micro_batch_tokens=micro_batch_tokens,
            chunk_size=chunk_size,
            device=device,
        ):
            for row, i in enumerate(batch_index):
                out[i] = lp[row, : len(records[i])].detach()
    return out  # type: ignore[return-value]
