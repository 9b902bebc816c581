"""GRPO for r1ci: multi-turn rollouts through the environments, then a clipped policy-gradient update.

Reads top to bottom like a CleanRL script:

  1. setup (seeds, threads, torchrun data parallel with gloo on CPU / nccl on GPU)
  2. the policy (full fine-tuning or a fresh LoRA adapter; an SFT adapter, given as --sft-adapter or as
     --model itself, is merged first) and, when --kl-coef > 0, the reference = the SFT model (LoRA: the
     adapter-disabled base, which after the merge IS the SFT model; full: a frozen copy)
  3. every step: pick questions (whole groups of G samples per rank, optionally weighted by the
     improvement potential 4p(1-p)), play them with the HF policy (`agents.hf`) through the same
     episode loop as the benchmark (`agents.run_episode`); generation is batched over all live
     episodes, stops at the closing fence of a ```python block, and resumes after the observation
  4. group-normalised advantages (reward - group mean, / group std unless --adv-scale none);
     zero-variance groups are counted and skipped; a step where all are skipped says so
  5. clipped surrogate (separate --eps-low / --eps-high), token-level normalisation (or
     sequence-level), loss only on sampled tokens (`loss_mask`), gradient all-reduce, clip, step
  6. metrics JSONL (rewards, code-use health, clip fractions, KL, entropy, generation / sandbox / training
     time, tokens/s), periodic evaluation at --eval-temperature, checkpoints with --resume; the final
     model in OUTPUT/final (merged full weights when a LoRA was trained on top of a merged SFT adapter)

The token-level record is `r1ci_env.tokens`; what both trainers share is `agents/train/`.

Examples:
  python train_grpo.py --model ./sft-model --suite train --eval-suite test --output-dir runs/grpo
  torchrun --nproc_per_node 8 train_grpo.py --model ./sft-model --lora --suite train ...
  PYTHONPATH=tests python train_grpo.py --model /tmp/tiny --tasks ToySecret \\
      --env-factory tiny_qwen:make_toy_env --sandbox local --max-code-calls 1     (the CPU toy)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from agents.train import checkpoint as C
from agents.train import dist as D
from agents.train import logprobs as L
from agents.train import losses
from agents.train.rollout import Job, code_use_health, rollout
from agents.train.setup import (
    add_env_arguments,
    add_model_arguments,
    build_policy,
    evaluate_from_args,
    init_run,
    make_env_factory,
    make_optimizer,
)
from r1ci_env.tokens import OBSERVATION, EpisodeRecord


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add_model_arguments(p)
    p.add_argument(
        "--sft-adapter",
        default=None,
        help="PEFT adapter of the SFT run, merged into --model before RL (same as --model <adapter dir>)",
    )
    g = p.add_argument_group("tasks and environments")
    g.add_argument("--tasks", default=None, help="comma-separated task names to train on")
    g.add_argument("--suite", default="train", help="suite to train on when --tasks is not given")
    add_env_arguments(g)
    g = p.add_argument_group("rollouts")
    g.add_argument("--questions-per-step", type=int, default=32, help="questions per optimizer step over all ranks")
    g.add_argument("--group-size", type=int, default=8, help="G: samples per question")
    g.add_argument("--temperature", type=float, default=1.0, help="sampling temperature for training rollouts")
    g.add_argument("--top-p", type=float, default=1.0, help="top-p for training rollouts (1.0 keeps the full support)")
    g.add_argument(
        "--max-new-tokens",
        "--max-tokens",
        dest="max_new_tokens",
        type=int,
        default=1024,
        help="max sampled tokens per turn",
    )
    g.add_argument(
        "--max-total-tokens", type=int, default=4096, help="max tokens per episode (prompt + turns + observations)"
    )
    g.add_argument("--concurrency", type=int, default=256, help="episodes played at once per rank (threads)")
    g.add_argument("--max-batch-size", type=int, default=256, help="max rows per batched generation")
    g.add_argument(
        "--backend", choices=["hf", "vllm"], default="hf", help="generation backend (vllm: GPU only, optional)"
    )
    g.add_argument(
        "--curriculum",
        choices=["none", "potential"],
        default="none",
        help="potential: sample tasks with weight 4p(1-p) (+0.05), p = running success rate per task",
    )
    g.add_argument(
        "--curriculum-probe",
        type=int,
        default=0,
        help="episodes per task to estimate p before training (potential curriculum)",
    )
    g = p.add_argument_group("loss and optimizer")
    g.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-6 full, 2e-5 LoRA)")
    g.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    g.add_argument("--warmup-steps", type=int, default=0, help="linear warmup steps")
    g.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping (0: off)")
    g.add_argument("--eps-low", type=float, default=0.2, help="clip ratio below at 1 - eps_low")
    g.add_argument("--eps-high", type=float, default=0.28, help="clip ratio above at 1 + eps_high")
    g.add_argument(
        "--adv-scale",
        choices=["group", "none"],
        default="group",
        help="divide advantages by the group std (group) or not (none)",
    )
    g.add_argument(
        "--loss-aggregation",
        choices=["token", "sequence"],
        default="token",
        help="token: sum over tokens / tokens in the step; sequence: mean per sequence / sequences",
    )
    g.add_argument(
        "--kl-coef", type=float, default=0.0, help="k3 KL penalty to the SFT model (0: off, no reference kept)"
    )
    g.add_argument(
        "--updates-per-batch",
        type=int,
        default=1,
        help="optimizer steps per rollout batch (mini-batches; >1 recomputes old log-probs first)",
    )
    g.add_argument(
        "--micro-batch-tokens",
        type=int,
        default=16384,
        help="gradient accumulation: padded tokens per forward/backward",
    )
    g.add_argument("--logprob-chunk", type=int, default=1024, help="positions per chunk of the vocabulary projection")
    g.add_argument(
        "--no-mask-observations",
        action="store_true",
        help="ablation: the loss also on the execution output (observation tokens), as the paper's unmasked run",
    )
    g.add_argument("--invert-loss-mask", action="store_true", help=argparse.SUPPRESS)  # negative control for tests only
    g = p.add_argument_group("schedule, evaluation, checkpoints")
    g.add_argument("--steps", type=int, default=500, help="optimizer steps (rollout batches)")
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument("--eval-every", type=int, default=50, help="evaluate every N steps (0: only at the end)")
    g.add_argument("--eval-tasks", default=None, help="comma-separated tasks to evaluate (default: --eval-suite)")
    g.add_argument("--eval-suite", default="test", help="suite to evaluate when --eval-tasks is not given")
    g.add_argument("--eval-n", type=int, default=8, help="episodes per eval task")
    g.add_argument("--eval-temperature", type=float, default=0.6, help="sampling temperature for evaluation")
    g.add_argument("--eval-seed-base", type=int, default=10**9, help="eval episodes use seeds base, base+1, ...")
    g.add_argument("--no-eval", action="store_true", help="skip evaluation")
    g.add_argument("--output-dir", default="runs/grpo", help="checkpoints, metrics.jsonl, final model")
    g.add_argument("--save-every", type=int, default=50, help="checkpoint every N steps (0: only at the end)")
    g.add_argument("--resume", action="store_true", help="continue from output-dir/latest if present")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


# ----------------------------------------------------------------------------------------------
# Environments, tasks, curriculum
# ----------------------------------------------------------------------------------------------


def task_list(tasks: str | None, suite: str) -> list[str]:
    if tasks:
        return [t.strip() for t in tasks.split(",") if t.strip()]
    from r1ci_env.suites import suite as suite_names

    return suite_names(suite)


def unmask_observations(record: EpisodeRecord) -> EpisodeRecord:
    """The record with loss_mask 1 on its observation spans too (the --no-mask-observations ablation). Their
    sampler log-probs stay 0, so loss/sampler_logprob_abs_diff and loss/entropy include them in that run."""
    mask = list(record.loss_mask)
    for kind, start, end in record.spans:
        if kind == OBSERVATION:
            mask[start:end] = [1] * (end - start)
    return dataclasses.replace(record, loss_mask=mask)


def invert_loss_mask(record: EpisodeRecord) -> EpisodeRecord:
    """The record with loss_mask 1 exactly where it was 0 (prompt, observations; never position 0, which
    nothing predicts): the negative control that must not learn (--invert-loss-mask, tests only)."""
    return dataclasses.replace(record, loss_mask=[0] + [1 - m for m in record.loss_mask[1:]])


class Curriculum:
    """Task sampling. `potential`: weight 4p(1-p) + floor, p = a running success rate per task (starts
    at 0.5, the maximum potential, until the task has been sampled)."""

    def __init__(self, tasks: list[str], mode: str, floor: float = 0.05, momentum: float = 0.8) -> None:
        self.tasks, self.mode, self.floor, self.momentum = tasks, mode, floor, momentum
        self.p = {t: 0.5 for t in tasks}

    def weights(self) -> list[float]:
        if self.mode == "none":
            return [1.0] * len(self.tasks)
        return [4 * self.p[t] * (1 - self.p[t]) + self.floor for t in self.tasks]

    def sample(self, rng: random.Random, n: int) -> list[str]:
        return rng.choices(self.tasks, weights=self.weights(), k=n)

    def update(self, task: str, rewards: list[float], first: bool = False) -> None:
        rate = sum(rewards) / max(len(rewards), 1)
        self.p[task] = rate if first else self.momentum * self.p[task] + (1 - self.momentum) * rate


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def make_backend(args: argparse.Namespace, model, tokenizer, device: torch.device, rank: int):
    """The rollout backend: HF generation on the policy itself, or a vLLM engine loaded with the policy's
    weights (so with an SFT adapter the first rollouts already come from the SFT model)."""
    if args.backend == "hf":
        from agents.hf import HFBackend

        return HFBackend(model, tokenizer, max_batch_size=args.max_batch_size, device=device)
    from agents.vllm_backend import VLLMBackend

    backend = VLLMBackend(
        args.model
        if not C.is_adapter_dir(args.model)
        else json.loads((Path(args.model) / "adapter_config.json").read_text())["base_model_name_or_path"],
        tokenizer,
        max_batch_size=args.max_batch_size,
        seed=args.seed + rank,
        gpu_memory_utilization=0.35,
        dtype=args.dtype,
        enable_prefix_caching=True,
    )
    backend.sync_weights(model)
    return backend


def main(argv=None) -> dict:
    args = parse_args(argv)

    # 1. setup ------------------------------------------------------------------------------------
    run = init_run(args)
    rank, world, device, output, log = run.rank, run.world, run.device, run.output, run.log
    if args.questions_per_step % world:
        raise SystemExit(f"--questions-per-step {args.questions_per_step} must be a multiple of the world size {world}")

    # 2. policy and reference: --model (an adapter directory or --sft-adapter merged in) IS the SFT model --
    model, tokenizer = build_policy(args, device, args.sft_adapter)
    sft_merged = bool(args.sft_adapter) or C.is_adapter_dir(args.model)
    ref_model = None
    if args.kl_coef and not args.lora:
        ref_model = C.load_model(args.model, dtype=args.dtype, device=str(device), sft_adapter=args.sft_adapter)[0]
        ref_model.eval().requires_grad_(False)
    elif args.kl_coef:
        ref_model = "disable_adapter"  # the LoRA's base is the (merged) SFT model
    D.broadcast_parameters(model)
    lr = args.lr if args.lr is not None else (2e-5 if args.lora else 1e-6)
    params = C.trainable_parameters(model)
    optimizer, scheduler = make_optimizer(params, lr, args.weight_decay, args.warmup_steps)
    backend = make_backend(args, model, tokenizer, device, rank)

    # 3. tasks, curriculum, resume ----------------------------------------------------------------
    make_env = make_env_factory(args)
    tasks = task_list(args.tasks, args.suite)
    eval_tasks = task_list(args.eval_tasks, args.eval_suite) if not args.no_eval else []
    curriculum = Curriculum(tasks, args.curriculum)
    rng = random.Random(args.seed)  # identical on every rank: all ranks draw the same global questions
    start_step, skipped_steps = 0, 0
    if args.resume and (checkpoint := C.latest_checkpoint(output / "checkpoints")) is not None:
        state = C.load_checkpoint_state(checkpoint, model, optimizer)
        start_step, skipped_steps = state["step"], state.get("skipped_steps", 0)
        rng.setstate(state["sampler_rng"])
        curriculum.p.update(state.get("curriculum", {}))
        scheduler.load_state_dict(state["scheduler"])
        if args.backend == "vllm":
            backend.sync_weights(model)
        print(f"[rank {rank}] resumed from {checkpoint} at step {start_step}", flush=True)
    episode_options = dict(
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        max_total_tokens=args.max_total_tokens,
        system_prompt=args.system_prompt,
        concurrency=args.concurrency,
    )
    if args.curriculum == "potential" and args.curriculum_probe and start_step == 0:
        for task in tasks:  # every rank probes every task (small N), so all ranks agree on p
            probe = rollout(
                backend,
                make_env,
                [Job(task, 2 * 10**9 + i, 9_000_000 + i) for i in range(args.curriculum_probe)],
                **episode_options,
            )
            curriculum.update(task, [e.reward for e, _ in probe], first=True)

    G = args.group_size
    history = []
    final_eval = None
    for step in range(start_step, args.steps):
        step_started = time.perf_counter()
        model.train()

        # 4. rollouts: the same questions list on every rank; each rank plays whole groups -------------
        questions = [(task, rng.randrange(10**9)) for task in curriculum.sample(rng, args.questions_per_step)]
        jobs = [
            Job(task, seed, (args.seed * 1_000_003 + step * 100_003 + q * G + g) % (2**62))
            for q, (task, seed) in enumerate(questions)
            for g in range(G)
        ]
        jobs = D.shard_groups(jobs, G, rank, world)
        gen_before = dict(backend.stats)
        results = rollout(backend, make_env, jobs, **episode_options)
        rollout_s = time.perf_counter() - step_started
        episodes = [e for e, _ in results]
        records = [r for _, r in results]
        if args.no_mask_observations:  # the paper's ablation
            records = [unmask_observations(r) for r in records]
        if args.invert_loss_mask:  # the negative control: the loss on every token but the model's own
            records = [invert_loss_mask(r) for r in records]
        for q in range(0, len(episodes), G):
            curriculum.update(episodes[q].task, [e.reward for e in episodes[q : q + G]])

        # 5. advantages; zero-variance groups are skipped ----------------------------------------------
        advantages, zero = losses.group_advantages([r.reward for r in records], G, scale=args.adv_scale)
        keep = [i for i in range(len(records)) if not zero[i]]

        # 6. policy update(s) ---------------------------------------------------------------------------
        train_started = time.perf_counter()
        old = None
        if args.updates_per_batch > 1 and keep:  # before any update: also the sampler-mismatch reference
            old_all = L.records_logprobs(
                model,
                [records[i] for i in keep],
                pad_token_id=tokenizer.pad_token_id,
                temperature=args.temperature,
                micro_batch_tokens=args.micro_batch_tokens,
                chunk_size=args.logprob_chunk,
                device=device,
            )
            old = dict(zip(keep, old_all))
        stats = {
            "tokens": 0.0,
            "clipped_low": 0.0,
            "clipped_high": 0.0,
            "kl_sum": 0.0,
            "loss_sum": 0.0,
            "sampler_abs_diff_sum": 0.0,
            "entropy_sum": 0.0,
        }
        ratio_min, ratio_max, grad_norm, updates = math.inf, -math.inf, 0.0, 0
        parts = [keep[k :: args.updates_per_batch] for k in range(args.updates_per_batch)]
        for part in parts:
            batch = [records[i] for i in part]
            local = sum(r.num_sampled for r in batch) if args.loss_aggregation == "token" else len(batch)
            normalizer = D.all_reduce_sum([local], device)[0]
            if normalizer == 0:
                continue  # every rank sees 0: nobody steps, no collective is skipped by only some ranks
            part_stats = losses.policy_gradient(
                model,
                batch,
                [advantages[i] for i in part],
                pad_token_id=tokenizer.pad_token_id,
                normalizer=normalizer,
                temperature=args.temperature,
                eps_low=args.eps_low,
                eps_high=args.eps_high,
                aggregation=args.loss_aggregation,
                old_logprobs=[old[i] for i in part] if old else None,
                ref_model=ref_model,
                kl_coef=args.kl_coef,
                micro_batch_tokens=args.micro_batch_tokens,
                chunk_size=args.logprob_chunk,
                device=device,
            )
            D.all_reduce_gradients(params)
            if args.max_grad_norm:
                grad_norm = float(torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm))
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            updates += 1
            for key in stats:
                stats[key] += part_stats[key]
            ratio_min, ratio_max = min(ratio_min, part_stats["ratio_min"]), max(ratio_max, part_stats["ratio_max"])
        if old is not None:  # measured before the first update, not after it (that would be policy drift)
            stats["sampler_abs_diff_sum"] = sum(
                float(((old[i] - torch.tensor(records[i].logprobs)).abs() * torch.tensor(records[i].loss_mask)).sum())
                for i in keep
            )
        if updates and args.backend == "vllm":
            backend.sync_weights(model)
        train_s = time.perf_counter() - train_started
        if not updates:
            skipped_steps += 1
            if rank == 0:
                print(
                    f"step {step + 1}: NO UPDATE: every group has zero reward variance (all rewards equal "
                    f"within each group; {skipped_steps} such steps so far). Check the task difficulty, "
                    f"--group-size and --temperature.",
                    flush=True,
                )

        # 7. metrics (summed over ranks, by name) ---------------------------------------------------------
        health = code_use_health(episodes)
        n_local = len(episodes)
        totals = D.all_reduce_dict(
            {
                **{
                    k: health[k] * n_local
                    for k in ("reward", "code_share", "calls_per_episode", "truncated_share", "answered_share")
                },
                "episodes": n_local,
                "reward_sq": sum(r.reward**2 for r in records),
                "code_calls": sum(e.code_calls for e in episodes),
                "exec_errors": sum(e.exec_errors for e in episodes),
                "exec_timeouts": sum(e.exec_timeouts for e in episodes),
                "zero_groups": sum(zero) / G,
                "groups": len(zero) / G,
                "episode_tokens": sum(len(r) for r in records),
                "observation_tokens": sum(r.num_observation for r in records),
                "gen_tokens": backend.stats["generated_tokens"] - gen_before.get("generated_tokens", 0),
                "gen_s": backend.stats["seconds"] - gen_before.get("seconds", 0.0),
                "env_s": sum(e.seconds_env for e in episodes),
                "train_tokens": sum(len(records[i]) for i in keep),
                **stats,
            },
            device,
        )
        extremes = {
            **D.all_reduce_dict({"ratio_min": ratio_min if updates else 1.0}, device, op="min"),
            **D.all_reduce_dict({"ratio_max": ratio_max if updates else 1.0}, device, op="max"),
        }
        n, calls, tokens = max(totals["episodes"], 1), max(totals["code_calls"], 1), max(totals["tokens"], 1)
        mean_reward = totals["reward"] / n
        step_s = time.perf_counter() - step_started
        row = {
            "step": step + 1,
            **{
                f"rollout/{k}": totals[k] / n
                for k in ("reward", "code_share", "calls_per_episode", "truncated_share", "answered_share")
            },
            "rollout/reward_std": math.sqrt(max(totals["reward_sq"] / n - mean_reward**2, 0.0)),
            "rollout/error_rate": totals["exec_errors"] / calls,
            "rollout/timeout_rate": totals["exec_timeouts"] / calls,
            "rollout/episodes": totals["episodes"],
            "rollout/mean_episode_tokens": totals["episode_tokens"] / n,
            "rollout/mean_observation_tokens": totals["observation_tokens"] / n,
            "rollout/stop_reasons": dict(Counter(r.stop_reason for r in records)),  # this rank's
            "groups/zero_variance": totals["zero_groups"],
            "groups/total": totals["groups"],
            "groups/zero_variance_frac": totals["zero_groups"] / max(totals["groups"], 1),
            "groups/skipped_steps": skipped_steps,
            "loss/loss": totals["loss_sum"],
            "loss/tokens": totals["tokens"],
            "loss/updates": updates,
            "loss/clip_low_frac": totals["clipped_low"] / tokens,
            "loss/clip_high_frac": totals["clipped_high"] / tokens,
            "loss/ratio_min": extremes["ratio_min"],
            "loss/ratio_max": extremes["ratio_max"],
            "loss/kl": totals["kl_sum"] / tokens,
            "loss/entropy": totals["entropy_sum"] / tokens,
            "loss/sampler_logprob_abs_diff": totals["sampler_abs_diff_sum"] / tokens,
            "optim/grad_norm": grad_norm,
            "optim/lr": scheduler.get_last_lr()[0],
            "time/rollout_s": rollout_s,
            "time/generate_s": totals["gen_s"] / world,
            "time/env_s_per_episode": totals["env_s"] / n,
            "time/train_s": train_s,
            "time/step_s": step_s,
            "time/gen_tokens_per_s": totals["gen_tokens"] / max(rollout_s, 1e-9),
            "time/train_tokens_per_s": totals["train_tokens"] / max(train_s, 1e-9),
        }
        if args.curriculum == "potential":
            row["curriculum/p"] = dict(curriculum.p)
        history.append(row)
        log.write(row)
        if rank == 0:
            print(
                f"step {step + 1}: reward {mean_reward:.3f} code {row['rollout/code_share']:.2f} "
                f"zero-var {row['groups/zero_variance']:.0f}/{row['groups/total']:.0f} "
                f"clip {row['loss/clip_low_frac'] + row['loss/clip_high_frac']:.3f} step {step_s:.1f}s",
                flush=True,
            )

        # 8. evaluation and checkpoints -----------------------------------------------------------------
        last = step + 1 == args.steps
        if eval_tasks and ((args.eval_every and (step + 1) % args.eval_every == 0) or last):
            final_eval = {
                "step": step + 1,
                **evaluate_from_args(backend, make_env, eval_tasks, args),
            }
            log.write(final_eval)
            if rank == 0:
                print(f"eval step {step + 1}: reward {final_eval['eval/reward']:.3f}", flush=True)
        if rank == 0 and ((args.save_every and (step + 1) % args.save_every == 0) or last):
            C.save_checkpoint(
                output / "checkpoints",
                model,
                tokenizer,
                optimizer,
                {
                    "step": step + 1,
                    "sampler_rng": rng.getstate(),
                    "curriculum": dict(curriculum.p),
                    "scheduler": scheduler.state_dict(),
                    "skipped_steps": skipped_steps,
                },
            )

    if rank == 0 and args.steps > start_step:
        # A LoRA over an SFT model merged in memory has no base on disk: write merged weights instead.
        C.save_final(model, tokenizer, output / "final", merge=args.lora and sft_merged)
    backend.close()
    return {"history": history, "eval": final_eval}


if __name__ == "__main__":
    main()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    sys.exit(0)
