"""Multi-turn SFT for r1ci: train a causal LM on correct episodes, with the loss only on the model's own
tokens (never the prompt, never the execution output), assembled exactly as GRPO assembles rollouts.

Reads top to bottom like a CleanRL script:

  1. setup (seeds, threads, torchrun data parallel)
  2. data: JSONL episodes -> (prompt, turns) -> `r1ci_env.tokens.assemble_turns` records
  3. the model (full fine-tuning or LoRA) and the optimizer; --resume
  4. epochs of shuffled batches: masked NLL summed over loss tokens / loss tokens in the batch
     (all ranks), gradient accumulation over micro-batches, clip, step
  5. metrics JSONL, periodic evaluation through the environments (the HF policy of `agents.hf`
     playing real episodes), checkpoints; the final model in OUTPUT/final

Input: one JSON object per line, as `r1ci bench` writes them (episodes.jsonl) or hand-made:

  {"prompt": "...", "turns": [{"model": "...", "observation": "..."}, ..., {"model": "..."}],
   "reward": 1.0, "task": "Game24", "truncated": false}

`prompt` is the env's first observation (the rendered prompt, not chat-templated); each model text is
what the env kept (cut after its first closed ```python block); `observation` is the env's reply to it
(null on the last turn); other keys (e.g. `stop_reason`) are ignored. `reward` defaults to 1, `task` to
"unknown". Loading needs no sandbox. A line without `turns` (an older bench file that kept only the
transcript) is an error: re-run the benchmark.

Episodes with reward < --min-reward are dropped; at most --max-per-task are kept per task. The last
model turn ends with <|im_end|> unless the episode was truncated (a code block past the call cap).

Example:
  python train_sft.py --data runs/bench/oracle.jsonl --model ./Qwen2.5-0.5B-Instruct --lora \\
      --eval-tasks Game24,BoxLift --sandbox docker --output-dir runs/sft
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch

from agents.train import checkpoint as C
from agents.train import dist as D
from agents.train import logprobs as L
from agents.train import losses
from agents.train.setup import (
    add_env_arguments,
    add_model_arguments,
    build_policy,
    evaluate_from_args,
    init_run,
    make_env_factory,
    make_optimizer,
)
from r1ci_env.tokens import EpisodeRecord, assemble_turns, end_of_turn_id


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    g = p.add_argument_group("data")
    g.add_argument("--data", action="append", required=True, help="JSONL file of episodes (repeatable; formats above)")
    g.add_argument("--min-reward", type=float, default=1.0, help="keep episodes with at least this reward")
    g.add_argument("--max-per-task", type=int, default=0, help="keep at most N episodes per task (0: no cap)")
    g.add_argument("--max-length", type=int, default=8192, help="drop examples longer than this many tokens")
    add_model_arguments(p)
    p.add_argument(
        "--merge-lora",
        action="store_true",
        help="save OUTPUT/final as merged full weights (without it, an adapter; GRPO takes either)",
    )
    g = p.add_argument_group("optimization")
    g.add_argument("--epochs", type=float, default=3, help="passes over the data (fractions allowed)")
    g.add_argument("--steps", type=int, default=0, help="optimizer steps (overrides --epochs when > 0)")
    g.add_argument("--batch-size", type=int, default=16, help="episodes per optimizer step over all ranks")
    g.add_argument(
        "--micro-batch-tokens",
        type=int,
        default=16384,
        help="gradient accumulation: padded tokens per forward/backward",
    )
    g.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-5 full, 1e-4 LoRA)")
    g.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    g.add_argument("--warmup-steps", type=int, default=0, help="linear warmup steps")
    g.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping (0: off)")
    g.add_argument("--logprob-chunk", type=int, default=1024, help="positions per chunk of the vocabulary projection")
    g.add_argument("--seed", type=int, default=0, help="random seed (data order, sampling)")
    g = p.add_argument_group("environments (evaluation)")
    add_env_arguments(g)
    g.add_argument("--eval-every", type=int, default=0, help="evaluate every N steps (0: only at the end)")
    g.add_argument("--eval-tasks", default=None, help="comma-separated tasks to evaluate (none: no evaluation)")
    g.add_argument("--eval-n", type=int, default=8, help="episodes per eval task")
    g.add_argument("--eval-seed-base", type=int, default=10**9, help="eval episodes use seeds base, base+1, ...")
    g.add_argument(
        "--eval-temperature", type=float, default=0.6, help="sampling temperature for evaluation (0: greedy)"
    )
    g.add_argument(
        "--max-new-tokens",
        "--max-tokens",
        dest="max_new_tokens",
        type=int,
        default=1024,
        help="max sampled tokens per turn in evaluation",
    )
    g.add_argument("--max-total-tokens", type=int, default=4096, help="max tokens per evaluation episode")
    g.add_argument("--concurrency", type=int, default=64, help="evaluation episodes at once per rank")
    g = p.add_argument_group("output")
    g.add_argument("--output-dir", default="runs/sft", help="checkpoints, metrics.jsonl, final model")
    g.add_argument("--save-every", type=int, default=0, help="checkpoint every N steps (0: only at the end)")
    g.add_argument("--log-every", type=int, default=10, help="print every N steps")
    g.add_argument("--resume", action="store_true", help="continue from output-dir/checkpoints/latest if present")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------


def load_episodes(paths: list[str], min_reward: float, max_per_task: int) -> tuple[list[dict], dict]:
    """Episodes as {"prompt", "turns", "truncated", "reward", "task"}, filtered and capped; and counts."""
    counts = {"lines": 0, "low_reward": 0, "capped": 0, "kept": 0}
    per_task: dict[str, int] = {}
    out = []
    for path in paths:
        for number, line in enumerate(Path(path).read_text().splitlines(), 1):
            if not line.strip():
                continue
            counts["lines"] += 1
            row = json.loads(line)
            if not isinstance(row.get("turns"), list) or "prompt" not in row:
                raise SystemExit(
                    f"{path}:{number}: no 'prompt' and 'turns' list (an r1ci bench file from before "
                    "turns were recorded?); re-run the benchmark to record them"
                )
            reward = float(row.get("reward", 1.0))
            task = row.get("task", "unknown")
            if reward < min_reward:
                counts["low_reward"] += 1
                continue
            if max_per_task and per_task.get(task, 0) >= max_per_task:
                counts["capped"] += 1
                continue
            per_task[task] = per_task.get(task, 0) + 1
            counts["kept"] += 1
            out.append(
                {
                    "prompt": row["prompt"],
                    "turns": [(t["model"], t.get("observation")) for t in row["turns"]],
                    "truncated": bool(row.get("truncated", False)),
                    "reward": reward,
                    "task": task,
                }
            )
    return out, counts


def build_records(episodes, tokenizer, system_prompt=None, max_length=None) -> list[EpisodeRecord]:
    """The SFT records: the same assembly as the GRPO rollout (see r1ci_env/tokens.py)."""
    stop = end_of_turn_id(tokenizer)
    records = []
    for ep in episodes:
        record = assemble_turns(
            tokenizer,
            ep["prompt"],
            ep["turns"],
            stop_token_id=None if ep["truncated"] else stop,
            system_prompt=system_prompt,
            reward=ep["reward"],
            task=ep["task"],
        )
        if not max_length or len(record) <= max_length:
            records.append(record)
    return records


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    args = parse_args(argv)

    # 1. setup ------------------------------------------------------------------------------------
    run = init_run(args)
    rank, world, device, output, log = run.rank, run.world, run.device, run.output, run.log

    # 2. data (no sandbox needed) -----------------------------------------------------------------
    episodes, counts = load_episodes(args.data, args.min_reward, args.max_per_task)
    model, tokenizer = build_policy(args, device)
    records = build_records(episodes, tokenizer, args.system_prompt, args.max_length)
    if not records:
        raise SystemExit(f"no training examples left after filtering: {counts}")
    if rank == 0:
        print(f"data: {counts}; {len(records)} examples, {sum(r.num_sampled for r in records)} loss tokens", flush=True)

    # 3. model, optimizer, resume -----------------------------------------------------------------
    D.broadcast_parameters(model)
    params = C.trainable_parameters(model)
    lr = args.lr if args.lr is not None else (1e-4 if args.lora else 1e-5)
    optimizer, scheduler = make_optimizer(params, lr, args.weight_decay, args.warmup_steps)
    steps_per_epoch = max(len(records) // args.batch_size, 1)
    total_steps = args.steps or max(int(math.ceil(args.epochs * steps_per_epoch)), 1)
    start_step = 0
    if args.resume and (checkpoint := C.latest_checkpoint(output / "checkpoints")) is not None:
        state = C.load_checkpoint_state(checkpoint, model, optimizer)
        scheduler.load_state_dict(state["scheduler"])
        start_step = state["step"]
        print(f"[rank {rank}] resumed from {checkpoint} at step {start_step}", flush=True)
    backend = None
    make_env = make_env_factory(args)
    eval_tasks = [t for t in (args.eval_tasks or "").split(",") if t]

    def evaluate(step: int) -> dict:
        nonlocal backend
        from agents.hf import HFBackend

        if backend is None:
            backend = HFBackend(L.unwrap_model(model), tokenizer, device=device)
        result = {
            "step": step,
            **evaluate_from_args(backend, make_env, eval_tasks, args),
        }
        log.write(result)
        if rank == 0:
            print(
                f"eval step {step}: reward {result['eval/reward']:.3f} code share {result['eval/code_share']:.2f}",
                flush=True,
            )
        return result

    # 4. training loop ----------------------------------------------------------------------------
    def batch_for(step: int) -> list[EpisodeRecord]:
        """The records of global step `step`: a seeded permutation per epoch, so resume is exact."""
        epoch, index = divmod(step, steps_per_epoch)
        order = list(range(len(records)))
        random.Random(args.seed * 7919 + epoch).shuffle(order)
        take = order[index * args.batch_size : (index + 1) * args.batch_size] or order[: args.batch_size]
        return [records[i] for i in take]

    history, final_eval = [], None
    model.train()
    for step in range(start_step, total_steps):
        started = time.perf_counter()
        batch = batch_for(step)[rank::world]  # this rank's share; the normaliser counts every rank's tokens
        normalizer = D.all_reduce_sum([sum(r.num_sampled for r in batch)], device)[0]
        stats = losses.sft_gradient(
            model,
            batch,
            pad_token_id=tokenizer.pad_token_id,
            normalizer=max(normalizer, 1),
            micro_batch_tokens=args.micro_batch_tokens,
            chunk_size=args.logprob_chunk,
            device=device,
        )
        D.all_reduce_gradients(params)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)) if args.max_grad_norm else 0.0
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        loss_sum, tokens, padded = D.all_reduce_sum(
            [stats["loss_sum"], stats["tokens"], sum(len(r) for r in batch)], device
        )
        seconds = time.perf_counter() - started
        row = {
            "step": step + 1,
            "loss": loss_sum / max(tokens, 1),
            "loss_tokens": tokens,
            "grad_norm": grad_norm,
            "lr": scheduler.get_last_lr()[0],
            "epoch": (step + 1) / steps_per_epoch,
            "time/step_s": seconds,
            "time/train_tokens_per_s": padded / max(seconds, 1e-9),
        }
        history.append(row)
        log.write(row)
        if rank == 0 and ((step + 1) % args.log_every == 0 or step == start_step):
            print(f"step {step + 1}/{total_steps}: loss {row['loss']:.4f} ({seconds:.2f}s)", flush=True)
        last = step + 1 == total_steps
        if eval_tasks and args.eval_every and (step + 1) % args.eval_every == 0 and not last:
            evaluate(step + 1)
            model.train()
        if rank == 0 and ((args.save_every and (step + 1) % args.save_every == 0) or last):
            C.save_checkpoint(
                output / "checkpoints",
                model,
                tokenizer,
                optimizer,
                {"step": step + 1, "scheduler": scheduler.state_dict()},
            )

    # 5. final model and evaluation ---------------------------------------------------------------
    if rank == 0 and total_steps > start_step:
        C.save_final(model, tokenizer, output / "final", merge=args.merge_lora)
    if eval_tasks:
        final_eval = evaluate(total_steps)
    if backend is not None:
        backend.close()
    return {"history": history, "eval": final_eval, "counts": counts, "records": len(records)}


if __name__ == "__main__":
    main()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    sys.exit(0)
