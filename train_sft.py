"""Multi-turn SFT for r1ci: train a causal LM on correct episodes, with the loss only on the model's own
tokens (never the prompt, never the execution output), assembled exactly as GRPO assembles rollouts.

Reads top to bottom like a CleanRL script:

  1. setup (seeds, threads, torchrun data parallel)
  2. data: JSONL episodes -> (prompt, turns) -> `agents.training.assemble_turns` records
  3. the model (full fine-tuning or LoRA) and the optimizer; --resume
  4. epochs of shuffled batches: masked NLL summed over loss tokens / loss tokens in the batch
     (all ranks), gradient accumulation over micro-batches, clip, step
  5. metrics JSONL, periodic evaluation through the environments (the HF policy of `agents.hf`
     playing real episodes), checkpoints; the final model in OUTPUT/final

Input formats (one JSON object per line; the two can be mixed):

  * turns:  {"prompt": "...", "turns": [{"model": "...", "observation": "..."}, ..., {"model": "..."}],
             "reward": 1.0, "task": "Game24", "truncated": false}
    `prompt` is the env's first observation (the rendered prompt, not chat-templated); each model
    text is what the env kept (cut after its first closed ```python block); `observation` is the env's
    reply to it (omit or null on the last turn). `reward` defaults to 1, `task` to "unknown".
  * `r1ci bench` / `agents.Episode.to_dict()` lines: {"task", "seed", "transcript", "reward",
    "truncated", "prompt_style", ...}. The turns are recovered by REPLAYING the episode in the env (same --prompt,
    --max-code-calls, --max-observation-chars and --sandbox as the bench run): the env is reset with
    the seed and the line's prompt style (its prompt must be the transcript's beginning), each model turn is the transcript up
    to its first closing fence, and the env's observation must match the transcript's next
    characters. Episodes that do not replay exactly (non-deterministic programs) are skipped and
    counted.

Episodes with reward < --min-reward are dropped; at most --max-per-task are kept per task. The last
model turn ends with <|im_end|> unless the episode was truncated (a code block past the call cap).

Example:
  python train_sft.py --data runs/bench/oracle.jsonl --model ./Qwen2.5-0.5B-Instruct --lora \\
      --eval-tasks Game24,BoxLift --sandbox docker --output-dir runs/sft
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import torch

from agents import training as T


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group("data")
    g.add_argument("--data", action="append", required=True, help="JSONL file of episodes (repeatable; formats above)")
    g.add_argument("--min-reward", type=float, default=1.0, help="keep episodes with at least this reward")
    g.add_argument("--max-per-task", type=int, default=0, help="keep at most N episodes per task (0: no cap)")
    g.add_argument("--max-length", type=int, default=8192, help="drop examples longer than this many tokens")
    g.add_argument("--system-prompt", default=None, help="optional system message (use the same in GRPO and eval)")
    g = p.add_argument_group("model")
    g.add_argument("--model", required=True, help="local model directory (transformers format)")
    g.add_argument("--lora", action="store_true", help="train a LoRA adapter instead of all weights")
    g.add_argument("--lora-r", type=int, default=32, help="LoRA rank")
    g.add_argument("--lora-alpha", type=int, default=64, help="LoRA alpha")
    g.add_argument("--merge-lora", action="store_true", help="save OUTPUT/final as merged full weights (ready for GRPO)")
    g.add_argument("--dtype", default="float32", help="weights dtype: float32, bfloat16, float16")
    g.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available; with torchrun cuda:LOCAL_RANK)")
    g = p.add_argument_group("optimization")
    g.add_argument("--epochs", type=float, default=3, help="passes over the data (fractions allowed)")
    g.add_argument("--steps", type=int, default=0, help="optimizer steps (overrides --epochs when > 0)")
    g.add_argument("--batch-size", type=int, default=16, help="episodes per optimizer step over all ranks")
    g.add_argument("--micro-batch-tokens", type=int, default=16384, help="gradient accumulation: padded tokens per forward/backward")
    g.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-5 full, 1e-4 LoRA)")
    g.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    g.add_argument("--warmup-steps", type=int, default=0, help="linear warmup steps")
    g.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping (0: off)")
    g.add_argument("--logprob-chunk", type=int, default=1024, help="positions per chunk of the vocabulary projection")
    g.add_argument("--seed", type=int, default=0, help="random seed (data order, sampling)")
    g = p.add_argument_group("environments (replay of bench lines, evaluation)")
    g.add_argument("--sandbox", default="docker", help="sandbox backend: docker or local")
    g.add_argument("--max-code-calls", type=int, default=5, help="code runs per episode")
    g.add_argument("--max-observation-chars", type=int, default=4096, help="observation cut, as in the bench run")
    g.add_argument("--code-timeout", type=float, default=10.0, help="seconds per code run")
    g.add_argument("--prompt", default="code_interpreter", help="prompt style name or template with {question}")
    g.add_argument("--env-factory", default=None, help="module:function building an env as f(task, **env_options)")
    g.add_argument("--import-module", action="append", default=[], help="import this module first (e.g. custom tasks); repeatable")
    g.add_argument("--eval-every", type=int, default=0, help="evaluate every N steps (0: only at the end)")
    g.add_argument("--eval-tasks", default=None, help="comma-separated tasks to evaluate (none: no evaluation)")
    g.add_argument("--eval-n", type=int, default=8, help="episodes per eval task")
    g.add_argument("--eval-seed-base", type=int, default=10**9, help="eval episodes use seeds base, base+1, ...")
    g.add_argument("--eval-temperature", type=float, default=0.6, help="sampling temperature for evaluation (0: greedy)")
    g.add_argument("--max-new-tokens", type=int, default=1024, help="max sampled tokens per turn in evaluation")
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

def replay_turns(env, seed: int, transcript: str):
    """(prompt, [(model text, observation or None)], truncated) recovered by replaying a transcript in
    `env`, or None when it does not replay exactly."""
    from r1ci_env import protocol

    prompt, _ = env.reset(seed=seed)
    if not transcript.startswith(prompt):
        return None
    rest = transcript[len(prompt):]
    unwrapped = env.unwrapped
    turns = []
    while True:
        code, kept, _ = protocol.extract_code(rest)
        if code is None or unwrapped.code_calls >= unwrapped.max_code_calls:
            _, _, _, truncated, _ = env.step(rest)
            turns.append((rest, None))
            return prompt, turns, bool(truncated)
        observation, _, terminated, truncated, _ = env.step(kept)
        rest = rest[len(kept):]
        if not rest.startswith(observation):
            return None
        turns.append((kept, observation))
        rest = rest[len(observation):]


def load_episodes(paths, args, make_env) -> tuple[list[dict], dict]:
    """Episodes as {"prompt", "turns", "truncated", "reward", "task"}, filtered and capped; and counts.
    `make_env(task, prompt_style)` gives the env that replays a bench line (its recorded prompt style)."""
    counts = {"lines": 0, "low_reward": 0, "capped": 0, "not_replayable": 0, "kept": 0}
    per_task: dict[str, int] = {}
    out = []
    for path in paths:
        for line in Path(path).read_text().splitlines():
            if not line.strip():
                continue
            counts["lines"] += 1
            row = json.loads(line)
            reward = float(row.get("reward", 1.0))
            task = row.get("task", "unknown")
            if reward < args.min_reward:
                counts["low_reward"] += 1
                continue
            if args.max_per_task and per_task.get(task, 0) >= args.max_per_task:
                counts["capped"] += 1
                continue
            if isinstance(row.get("turns"), list):
                turns = [(t["model"], t.get("observation")) for t in row["turns"]]
                episode = (row["prompt"], turns, bool(row.get("truncated", False)))
            else:
                env = make_env(task, row.get("prompt_style"))
                try:
                    episode = replay_turns(env, int(row["seed"]), row["transcript"])
                finally:
                    env.close()
                if episode is None:
                    counts["not_replayable"] += 1
                    continue
            per_task[task] = per_task.get(task, 0) + 1
            counts["kept"] += 1
            out.append({"prompt": episode[0], "turns": episode[1], "truncated": episode[2], "reward": reward, "task": task})
    return out, counts


def build_records(episodes, tokenizer, system_prompt=None, max_length=None) -> list[T.EpisodeRecord]:
    """The SFT records: the same assembly as the GRPO rollout (see agents/training.py)."""
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab() else tokenizer.eos_token_id
    records = []
    for ep in episodes:
        record = T.assemble_turns(tokenizer, ep["prompt"], ep["turns"], stop_token_id=None if ep["truncated"] else stop,
                                  system_prompt=system_prompt, reward=ep["reward"], task=ep["task"])
        if not max_length or len(record) <= max_length:
            records.append(record)
    return records


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------

def main(argv=None) -> dict:
    args = parse_args(argv)
    for module in args.import_module:
        importlib.import_module(module)

    # 1. setup ------------------------------------------------------------------------------------
    if args.threads:
        torch.set_num_threads(args.threads)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() and args.device != "cpu" else "gloo")
    rank, world = T.dist_info()
    if args.device is None:
        args.device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    output = Path(args.output_dir)
    log = T.MetricsLog(output / "metrics.jsonl", enabled=rank == 0)
    if rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        (output / "args.json").write_text(json.dumps(vars(args), indent=2))

    # 2. data -------------------------------------------------------------------------------------
    make_env = T.env_factory(sandbox=args.sandbox, max_code_calls=args.max_code_calls, timeout=args.code_timeout,
                             max_observation_chars=args.max_observation_chars, prompt=args.prompt,
                             custom=args.env_factory)
    replay_factories = {args.prompt: make_env}

    def make_replay_env(task: str, prompt_style: str | None = None):
        """An env for replaying a bench line, with the prompt style the bench run recorded."""
        style = prompt_style or args.prompt
        if style not in replay_factories:
            replay_factories[style] = T.env_factory(
                sandbox=args.sandbox, max_code_calls=args.max_code_calls, timeout=args.code_timeout,
                max_observation_chars=args.max_observation_chars, prompt=style, custom=args.env_factory)
        return replay_factories[style](task)

    model, tokenizer = T.load_model(args.model, dtype=args.dtype, device=str(device))
    episodes, counts = load_episodes(args.data, args, make_replay_env)
    records = build_records(episodes, tokenizer, args.system_prompt, args.max_length)
    if not records:
        raise SystemExit(f"no training examples left after filtering: {counts}")
    if rank == 0:
        print(f"data: {counts}; {len(records)} examples, {sum(r.num_sampled for r in records)} loss tokens", flush=True)

    # 3. model, optimizer, resume -----------------------------------------------------------------
    if args.lora:
        model = T.add_lora(model, r=args.lora_r, alpha=args.lora_alpha)
    T.broadcast_parameters(model)
    params = T.trainable_parameters(model)
    lr = args.lr if args.lr is not None else (1e-4 if args.lora else 1e-5)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(args.warmup_steps, 1)))
    steps_per_epoch = max(len(records) // args.batch_size, 1)
    total_steps = args.steps or max(int(math.ceil(args.epochs * steps_per_epoch)), 1)
    start_step = 0
    if args.resume and (checkpoint := T.latest_checkpoint(output / "checkpoints")) is not None:
        state = T.load_checkpoint_state(checkpoint, model, optimizer)
        scheduler.load_state_dict(state["scheduler"])
        start_step = state["step"]
        print(f"[rank {rank}] resumed from {checkpoint} at step {start_step}", flush=True)
    backend = None
    eval_tasks = [t for t in (args.eval_tasks or "").split(",") if t]

    def evaluate(step: int) -> dict:
        nonlocal backend
        from agents.hf import HFBackend

        if backend is None:
            backend = HFBackend(T.unwrap_model(model), tokenizer, device=device)
        result = {"step": step, **T.evaluate_policy(
            backend, make_env, eval_tasks, n=args.eval_n, temperature=args.eval_temperature,
            max_new_tokens=args.max_new_tokens, max_total_tokens=args.max_total_tokens,
            system_prompt=args.system_prompt, concurrency=args.concurrency, seed_base=args.eval_seed_base)}
        log.write(result)
        if rank == 0:
            print(f"eval step {step}: reward {result['eval/reward']:.3f} code share {result['eval/code_share']:.2f}", flush=True)
        return result

    # 4. training loop ----------------------------------------------------------------------------
    def batch_for(step: int) -> list[T.EpisodeRecord]:
        """The records of global step `step`: a seeded permutation per epoch, so resume is exact."""
        epoch, index = divmod(step, steps_per_epoch)
        order = list(range(len(records)))
        random.Random(args.seed * 7919 + epoch).shuffle(order)
        take = order[index * args.batch_size:(index + 1) * args.batch_size] or order[:args.batch_size]
        return [records[i] for i in take]

    history, final_eval = [], None
    model.train()
    for step in range(start_step, total_steps):
        started = time.perf_counter()
        batch = batch_for(step)[rank::world]  # this rank's share; the normaliser counts every rank's tokens
        normalizer = T.all_reduce_sum([sum(r.num_sampled for r in batch)], device)[0]
        stats = T.sft_gradient(model, batch, pad_token_id=tokenizer.pad_token_id, normalizer=max(normalizer, 1),
                               micro_batch_tokens=args.micro_batch_tokens, chunk_size=args.logprob_chunk, device=device)
        T.all_reduce_gradients(params)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)) if args.max_grad_norm else 0.0
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        loss_sum, tokens, padded = T.all_reduce_sum([stats["loss_sum"], stats["tokens"], sum(len(r) for r in batch)], device)
        seconds = time.perf_counter() - started
        row = {"step": step + 1, "loss": loss_sum / max(tokens, 1), "loss_tokens": tokens, "grad_norm": grad_norm,
               "lr": scheduler.get_last_lr()[0], "epoch": (step + 1) / steps_per_epoch, "time/step_s": seconds,
               "time/train_tokens_per_s": padded / max(seconds, 1e-9)}
        history.append(row)
        log.write(row)
        if rank == 0 and ((step + 1) % args.log_every == 0 or step == start_step):
            print(f"step {step + 1}/{total_steps}: loss {row['loss']:.4f} ({seconds:.2f}s)", flush=True)
        last = step + 1 == total_steps
        if eval_tasks and args.eval_every and (step + 1) % args.eval_every == 0 and not last:
            evaluate(step + 1)
            model.train()
        if rank == 0 and ((args.save_every and (step + 1) % args.save_every == 0) or last):
            T.save_checkpoint(output / "checkpoints", model, tokenizer, optimizer,
                              {"step": step + 1, "scheduler": scheduler.state_dict()})

    # 5. final model and evaluation ---------------------------------------------------------------
    if rank == 0 and total_steps > start_step:
        final = output / "final"
        inner = T.unwrap_model(model)
        if args.lora and args.merge_lora:
            import copy

            copy.deepcopy(inner).merge_and_unload().save_pretrained(final)
        else:
            inner.save_pretrained(final)
        tokenizer.save_pretrained(final)
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
