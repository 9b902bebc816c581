"""Data parallel under torchrun (gloo on CPU, nccl on GPU): rank info, all-reduces, weight broadcast,
sharding whole groups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch

from .logprobs import unwrap_model


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


def all_reduce_dict(values: dict[str, float], device: torch.device | str = "cpu", op: str = "sum") -> dict[str, float]:
    """Reduce named floats over ranks with `op` ("sum", "min" or "max"); identity without distributed."""
    if dist_info()[1] == 1:
        return {k: float(v) for k, v in values.items()}
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    ops = {
        "sum": torch.distributed.ReduceOp.SUM,
        "min": torch.distributed.ReduceOp.MIN,
        "max": torch.distributed.ReduceOp.MAX,
    }
    torch.distributed.all_reduce(t, op=ops[op])
    return dict(zip(keys, t.tolist()))


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
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
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
    groups = [items[i : i + group_size] for i in range(0, len(items), group_size)]
    return [x for g, group in enumerate(groups) if g % world_size == rank for x in group]
