"""Compatibility shim: `agents.training` was split by job. Import from `r1ci_env.tokens` (the episode
record and its assembly, no torch) and `agents.train.{logprobs,losses,dist,checkpoint,rollout,setup}`."""

from __future__ import annotations

from r1ci_env.tokens import (  # noqa: F401
    MODEL,
    OBSERVATION,
    EpisodeRecord,
    TrajectoryBuilder,
    assemble_turns,
    encode_observation,
    encode_prompt,
    encode_text,
    stop_token_ids,
)

from .train.checkpoint import (  # noqa: F401
    MetricsLog,
    add_lora,
    latest_checkpoint,
    load_checkpoint_state,
    load_model,
    rng_state,
    save_checkpoint,
    set_rng_state,
    trainable_parameters,
)
from .train.dist import all_reduce_gradients, all_reduce_sum, broadcast_parameters, dist_info, shard_groups  # noqa: F401
from .train.logprobs import collate, micro_batches, records_logprobs, token_logprobs, unwrap_model  # noqa: F401
from .train.losses import clipped_policy_loss, group_advantages, kl_k3, masked_nll, policy_gradient, sft_gradient  # noqa: F401
from .train.rollout import Job, code_use_health, env_factory, evaluate_policy, rollout  # noqa: F401


def __getattr__(name: str):
    raise AttributeError(
        f"agents.training has no {name!r}: the module was split into r1ci_env.tokens and "
        "agents.train.{logprobs,losses,dist,checkpoint,rollout,setup}"
    )
