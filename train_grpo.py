"""GRPO for r1ci: multi-turn rollouts through the environments, then a clipped policy-gradient update.

Reads top to bottom like a CleanRL script:

  1. setup (seeds, threads, torchrun data parallel with gloo on CPU / nccl on GPU)
  2. the policy (full fine-tuning or a fresh LoRA adapter; an SFT adapter is merged first) and, when
     --kl-coef > 0, the reference = the SFT model (LoRA: the adapter-disabled base, which after the
     merge IS the SFT model; full: a frozen copy)
  3. every step: pick questions (whole groups of G samples per rank, optionally weighted by the
     improvement potential 4p(1-p)), play them with the HF policy (`agents.hf`) through the same
     episode loop as the benchmark (`agents.run_episode`); generation is batched over all live
     episodes, stops at the closing fence of a ```python block, and resumes after the observation
  4. group-normalised advantages (reward - group mean, / group std unless --adv-scale none);
     zero-variance groups are counted and skipped
  5. clipped surrogate (separate --eps-low / --eps-high), token-level normalisation (or
     sequence-level), loss only on sampled tokens (`loss_mask`), gradient all-reduce, clip, step
  6. metrics JSONL (rewards, code-use health, clip fractions, KL, timings, tokens/s), periodic
     evaluation at --eval-temperature, checkpoints with --resume

Everything token-level lives in `agents/training.py`, shared with `train_sft.py`.

Examples:
  python train_grpo.py --model ./sft-model --suite train --eval-suite test --output-dir runs/grpo
  torchrun --nproc_per_node 8 train_grpo.py --model ./sft-model --lora --suite train ...
  PYTHONPATH=tests python train_grpo.py --model /tmp/tiny --tasks ToySecret \\
      --env-factory tiny_qwen:make_toy_env --sandbox local --max-code-calls 1     (the CPU toy)
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
from collections import Counter
from pathlib import Path

import torch

from agents import training as T


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = p.add_argument_group("model")
    g.add_argument("--model", required=True, help="local model directory (the SFT model; transformers format)")
    g.add_argument("--sft-adapter", default=None, help="PEFT adapter of the SFT run, merged into --model before RL")
    g.add_argument("--lora", action="store_true", help="train a fresh LoRA adapter instead of all weights")
    g.add_argument("--lora-r", type=int, default=32, help="LoRA rank")
    g.add_argument("--lora-alpha", type=int, default=64, help="LoRA alpha")
    g.add_argument("--dtype", default="float32", help="weights dtype: float32, bfloat16, float16")
    g.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available; with torchrun cuda:LOCAL_RANK)")
    g = p.add_argument_group("tasks and environments")
    g.add_argument("--tasks", default=None, help="comma-separated task names to train on")
    g.add_argument("--suite", default="train", help="suite to train on when --tasks is not given")
    g.add_argument("--sandbox", default="docker", help="sandbox backend: docker or local")
    g.add_argument("--max-code-calls", type=int, default=5, help="code runs per episode (the env's cap)")
    g.add_argument("--max-observation-chars", type=int, default=1024, help="observations are cut (head+tail) to this many characters")
    g.add_argument("--code-timeout", type=float, default=10.0, help="seconds per code run")
    g.add_argument("--prompt", default="code_interpreter", help="prompt style name or a template with {question}")
    g.add_argument("--system-prompt", default=None, help="optional system message before the prompt")
    g.add_argument("--env-factory", default=None,
                   help="module:function building an env as f(task, **env_options) (custom environments; the module must be importable)")
    g.add_argument("--import-module", action="append", default=[], help="import this module first (e.g. one that registers custom tasks); repeatable")
    g = p.add_argument_group("rollouts")
    g.add_argument("--questions-per-step", type=int, default=32, help="questions per optimizer step over all ranks")
    g.add_argument("--group-size", type=int, default=8, help="G: samples per question")
    g.add_argument("--temperature", type=float, default=1.0, help="sampling temperature for training rollouts")
    g.add_argument("--top-p", type=float, default=1.0, help="top-p for training rollouts (1.0 keeps the full support)")
    g.add_argument("--max-new-tokens", type=int, default=1024, help="max sampled tokens per turn")
    g.add_argument("--max-total-tokens", type=int, default=4096, help="max tokens per episode (prompt + turns + observations)")
    g.add_argument("--concurrency", type=int, default=256, help="episodes played at once per rank (threads)")
    g.add_argument("--max-batch-size", type=int, default=256, help="max rows per batched generation")
    g.add_argument("--backend", choices=["hf", "vllm"], default="hf", help="generation backend (vllm: GPU only, optional)")
    g.add_argument("--curriculum", choices=["none", "potential"], default="none",
                   help="potential: sample tasks with weight 4p(1-p) (+0.05), p = running success rate per task")
    g.add_argument("--curriculum-probe", type=int, default=0, help="episodes per task to estimate p before training (potential curriculum)")
    g = p.add_argument_group("loss and optimizer")
    g.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-6 full, 2e-5 LoRA)")
    g.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    g.add_argument("--warmup-steps", type=int, default=0, help="linear warmup steps")
    g.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping (0: off)")
    g.add_argument("--eps-low", type=float, default=0.2, help="clip ratio below at 1 - eps_low")
    g.add_argument("--eps-high", type=float, default=0.28, help="clip ratio above at 1 + eps_high")
    g.add_argument("--adv-scale", choices=["group", "none"], default="group", help="divide advantages by the group std (group) or not (none)")
    g.add_argument("--loss-aggregation", choices=["token", "sequence"], default="token",
                   help="token: sum over tokens / tokens in the step; sequence: mean per sequence / sequences")
    g.add_argument("--kl-coef", type=float, default=0.0, help="k3 KL penalty to the SFT model (0: off, no reference kept)")
    g.add_argument("--updates-per-batch", type=int, default=1,
                   help="optimizer steps per rollout batch (mini-batches; >1 recomputes old log-probs first)")
    g.add_argument("--micro-batch-tokens", type=int, default=16384, help="gradient accumulation: padded tokens per forward/backward")
    g.add_argument("--logprob-chunk", type=int, default=1024, help="positions per chunk of the vocabulary projection")
    g.add_argument("--invert-loss-mask", action="store_true", help=argparse.SUPPRESS)  # negative control for tests only
    g = p.add_argument_group("schedule, evaluation, checkpoints")
    g.add_argument("--steps", type=int, default=500, help="optimizer steps (rollout batches)")
    g.add_argument("--seed", type=int, default=0, help="random seed")
    g.add_argument("--eval-every", type=int, default=50, help="evaluate every N steps (0: only at the end)")
    g.add_argument("--eval-tasks", default=None, help="comma-separated tasks to evaluate (default: --eval-suite)")
    g.add_argument("--eval-suite", default="test", help="suite to evaluate when --eval-tasks is not given")
    g.add_argument("--eval-n", type=int, default=8, help="episodes per eval task")
    g.add_argument("--eval-temperature", type=float, default=0.6, help="sampling temperature for evaluation")
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
# Generation backends
# ----------------------------------------------------------------------------------------------

class VLLMBackend:
    """OPTIONAL, GPU ONLY, UNTESTED here (no GPU and no vllm in the development session).

    Same contract as `agents.hf.HFBackend` (`submit`, `generate`, `begin_episode`, `end_episode`,
    `tokenizer`), backed by an in-process `vllm.LLM`: token ids in, token ids + log-probs out.
    Stops at "```" and continues when that was an opening fence (a turn ends only at a closing
    fence, a stop token or the length cap). `sync_weights(model)` copies the trainer's weights into
    the vLLM engine after each optimizer step (merged weights for LoRA)."""

    def __init__(self, model_path: str, tokenizer, *, gpu_memory_utilization: float = 0.35, dtype: str = "bfloat16",
                 seed: int = 0, max_model_len: int = 8192) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise ImportError("--backend vllm needs the optional vllm package (GPU only): "
                              "pip install 'vllm==0.31.0' in a CUDA environment with torch 2.13; "
                              "use --backend hf otherwise") from exc
        self._vllm = vllm
        self.tokenizer = tokenizer
        self.llm = vllm.LLM(model=model_path, dtype=dtype, gpu_memory_utilization=gpu_memory_utilization,
                            seed=seed, max_model_len=max_model_len, enable_prefix_caching=True)
        self.stop_ids = T.stop_token_ids(tokenizer)
        self._lock = __import__("threading").Lock()
        self.stats = {"batches": 0, "rows": 0, "generated_tokens": 0, "seconds": 0.0}

    def begin_episode(self) -> None:
        pass

    def end_episode(self) -> None:
        pass

    def submit(self, request):
        with self._lock:  # vLLM batches internally; concurrent episodes queue here (simple, not optimal)
            return self.generate([request])[0]

    def generate(self, requests):
        from agents.hf import GenerationResult
        from r1ci_env import protocol

        started = time.perf_counter()
        results = []
        for request in requests:
            ids, logps, reason = [], [], "length"
            while len(ids) < request.max_new_tokens:
                params = self._vllm.SamplingParams(
                    temperature=request.temperature, top_p=request.top_p, max_tokens=request.max_new_tokens - len(ids),
                    stop=["```"], include_stop_str_in_output=True, stop_token_ids=self.stop_ids, logprobs=0,
                    seed=None if request.seed is None else (request.seed + len(ids)) % (2**31))
                out = self.llm.generate([{"prompt_token_ids": request.context + ids}], params, use_tqdm=False)[0].outputs[0]
                ids += list(out.token_ids)
                # vLLM's log-probs (its own kernels/processing): used only for the sampler-vs-trainer
                # mismatch metric; the trainer recomputes the log-probs it optimises.
                logps += [next(iter(lp.values())).logprob if lp else 0.0 for lp in (out.logprobs or [])]
                if ids and ids[-1] in self.stop_ids:
                    reason = "eos"
                    break
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
                if protocol.extract_code(text)[0] is not None:
                    reason = "fence"
                    break
                if out.finish_reason != "stop":
                    break
            results.append(GenerationResult(ids, logps + [0.0] * (len(ids) - len(logps)), reason))
        self.stats["seconds"] += time.perf_counter() - started
        self.stats["generated_tokens"] += sum(len(r.token_ids) for r in results)
        return results

    def sync_weights(self, model) -> None:
        inner = T.unwrap_model(model)
        if hasattr(inner, "merge_adapter"):
            inner.merge_adapter()
            state = {k.replace("base_model.model.", "").replace(".base_layer", ""): v
                     for k, v in inner.state_dict().items() if "lora_" not in k}
            inner.unmerge_adapter()
        else:
            state = inner.state_dict()
        runner = self.llm.llm_engine.model_executor.driver_worker.worker.model_runner
        runner.model.load_weights(state.items())
        self.llm.reset_prefix_cache()


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
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() and args.device != "cpu" else "gloo")
    rank, world = T.dist_info()
    if args.device is None:
        args.device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if args.questions_per_step % world:
        raise SystemExit(f"--questions-per-step {args.questions_per_step} must be a multiple of the world size {world}")
    random.seed(args.seed)
    torch.manual_seed(args.seed + rank)
    output = Path(args.output_dir)
    log = T.MetricsLog(output / "metrics.jsonl", enabled=rank == 0)
    if rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        (output / "args.json").write_text(json.dumps(vars(args), indent=2))

    # 2. policy and reference ---------------------------------------------------------------------
    model, tokenizer = T.load_model(args.model, dtype=args.dtype, device=str(device), sft_adapter=args.sft_adapter)
    ref_model = None
    if args.kl_coef and not args.lora:
        ref_model = T.load_model(args.model, dtype=args.dtype, device=str(device), sft_adapter=args.sft_adapter)[0]
        ref_model.eval().requires_grad_(False)
    if args.lora:
        model = T.add_lora(model, r=args.lora_r, alpha=args.lora_alpha)
        ref_model = "disable_adapter" if args.kl_coef else None  # the base is the (merged) SFT model
    T.broadcast_parameters(model)
    lr = args.lr if args.lr is not None else (2e-5 if args.lora else 1e-6)
    params = T.trainable_parameters(model)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(args.warmup_steps, 1)))
    if args.backend == "vllm":
        backend = VLLMBackend(args.model, tokenizer, seed=args.seed + rank)
    else:
        from agents.hf import HFBackend

        backend = HFBackend(model, tokenizer, max_batch_size=args.max_batch_size, device=device)

    # 3. tasks, curriculum, resume ----------------------------------------------------------------
    make_env = T.env_factory(sandbox=args.sandbox, max_code_calls=args.max_code_calls, timeout=args.code_timeout,
                             max_observation_chars=args.max_observation_chars, prompt=args.prompt,
                             custom=args.env_factory)
    tasks = task_list(args.tasks, args.suite)
    eval_tasks = task_list(args.eval_tasks, args.eval_suite) if not args.no_eval else []
    curriculum = Curriculum(tasks, args.curriculum)
    rng = random.Random(args.seed)  # identical on every rank: all ranks draw the same global questions
    start_step = 0
    if args.resume and (checkpoint := T.latest_checkpoint(output / "checkpoints")) is not None:
        state = T.load_checkpoint_state(checkpoint, model, optimizer)
        start_step = state["step"]
        rng.setstate(state["sampler_rng"])
        curriculum.p.update(state.get("curriculum", {}))
        scheduler.load_state_dict(state["scheduler"])
        print(f"[rank {rank}] resumed from {checkpoint} at step {start_step}", flush=True)
    if args.curriculum == "potential" and args.curriculum_probe and start_step == 0:
        for task in tasks:  # every rank probes every task (small N), so all ranks agree on p
            probe = T.rollout(backend, make_env, [T.Job(task, 2 * 10**9 + i, 9_000_000 + i) for i in range(args.curriculum_probe)],
                              temperature=args.temperature, max_new_tokens=args.max_new_tokens,
                              max_total_tokens=args.max_total_tokens, system_prompt=args.system_prompt,
                              concurrency=args.concurrency)
            curriculum.update(task, [e.reward for e, _ in probe], first=True)

    G = args.group_size
    history = []
    final_eval = None
    for step in range(start_step, args.steps):
        step_started = time.perf_counter()
        model.train()

        # 4. rollouts: the same questions list on every rank; each rank plays whole groups -------------
        questions = [(task, rng.randrange(10**9)) for task in curriculum.sample(rng, args.questions_per_step)]
        jobs = [T.Job(task, seed, (args.seed * 1_000_003 + step * 100_003 + q * G + g) % (2**62))
                for q, (task, seed) in enumerate(questions) for g in range(G)]
        jobs = T.shard_groups(jobs, G, rank, world)
        gen_before = dict(backend.stats)
        results = T.rollout(backend, make_env, jobs, temperature=args.temperature, top_p=args.top_p,
                            max_new_tokens=args.max_new_tokens, max_total_tokens=args.max_total_tokens,
                            system_prompt=args.system_prompt, concurrency=args.concurrency)
        rollout_s = time.perf_counter() - step_started
        episodes = [e for e, _ in results]
        records = [r for _, r in results]
        for q in range(0, len(episodes), G):
            curriculum.update(episodes[q].task, [e.reward for e in episodes[q:q + G]])

        # 5. advantages; zero-variance groups are skipped ----------------------------------------------
        advantages, zero = T.group_advantages([r.reward for r in records], G, scale=args.adv_scale)
        keep = [i for i in range(len(records)) if not zero[i]]

        # 6. policy update(s) ---------------------------------------------------------------------------
        train_started = time.perf_counter()
        old = None
        if args.updates_per_batch > 1 and keep:
            old_all = T.records_logprobs(model, [records[i] for i in keep], pad_token_id=tokenizer.pad_token_id,
                                         temperature=args.temperature, micro_batch_tokens=args.micro_batch_tokens,
                                         chunk_size=args.logprob_chunk, device=device)
            old = dict(zip(keep, old_all))
        stats = {"tokens": 0.0, "clipped_low": 0.0, "clipped_high": 0.0, "kl_sum": 0.0, "loss_sum": 0.0,
                 "sampler_abs_diff_sum": 0.0, "ratio_min": math.inf, "ratio_max": -math.inf}
        grad_norm = 0.0
        parts = [keep[k::args.updates_per_batch] for k in range(args.updates_per_batch)]
        for part in parts:
            batch = [records[i] for i in part]
            if args.invert_loss_mask:
                local = sum(len(r) - 1 - r.num_sampled for r in batch)
            else:
                local = sum(r.num_sampled for r in batch) if args.loss_aggregation == "token" else len(batch)
            normalizer = T.all_reduce_sum([local], device)[0]
            if normalizer == 0:
                continue  # every rank sees 0: nobody steps, no collective is skipped by only some ranks
            part_stats = T.policy_gradient(
                model, batch, [advantages[i] for i in part], pad_token_id=tokenizer.pad_token_id,
                normalizer=normalizer, temperature=args.temperature, eps_low=args.eps_low, eps_high=args.eps_high,
                aggregation=args.loss_aggregation, old_logprobs=[old[i] for i in part] if old else None,
                ref_model=ref_model, kl_coef=args.kl_coef, micro_batch_tokens=args.micro_batch_tokens,
                chunk_size=args.logprob_chunk, invert_mask=args.invert_loss_mask, device=device)
            T.all_reduce_gradients(params)
            if args.max_grad_norm:
                grad_norm = float(torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm))
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            for key in ("tokens", "clipped_low", "clipped_high", "kl_sum", "loss_sum", "sampler_abs_diff_sum"):
                stats[key] += part_stats[key]
            stats["ratio_min"] = min(stats["ratio_min"], part_stats["ratio_min"])
            stats["ratio_max"] = max(stats["ratio_max"], part_stats["ratio_max"])
        if args.backend == "vllm":
            backend.sync_weights(model)
        train_s = time.perf_counter() - train_started

        # 7. metrics (summed over ranks) ----------------------------------------------------------------
        health = T.code_use_health(episodes)
        n_local = len(episodes)
        gen_tokens = backend.stats["generated_tokens"] - gen_before.get("generated_tokens", 0)
        train_tokens = sum(len(records[i]) for i in keep)
        keys = ["reward", "code_share", "calls_per_episode", "truncated_share", "answered_share"]
        sums = T.all_reduce_sum(
            [health[k] * n_local for k in keys]
            + [sum(e.code_calls for e in episodes), sum(e.exec_errors for e in episodes),
               sum(e.exec_timeouts for e in episodes), n_local, sum(zero) / G, len(zero) / G,
               stats["tokens"], stats["clipped_low"], stats["clipped_high"], stats["kl_sum"],
               stats["sampler_abs_diff_sum"], gen_tokens, train_tokens, sum(len(r) for r in records),
               sum(r.reward ** 2 for r in records)], device)
        n = max(sums[len(keys) + 3], 1)
        calls = max(sums[len(keys)], 1)
        tokens = max(sums[len(keys) + 6], 1)
        step_s = time.perf_counter() - step_started
        mean_reward = sums[0] / n
        row = {
            "step": step + 1, **{f"rollout/{k}": sums[i] / n for i, k in enumerate(keys)},
            "rollout/reward_std": math.sqrt(max(sums[-1] / n - mean_reward ** 2, 0.0)),
            "rollout/error_rate": sums[len(keys) + 1] / calls, "rollout/timeout_rate": sums[len(keys) + 2] / calls,
            "rollout/episodes": n, "rollout/mean_episode_tokens": sums[-2] / n,
            "rollout/stop_reasons": dict(Counter(r.stop_reason for r in records)),
            "groups/zero_variance": sums[len(keys) + 4], "groups/total": sums[len(keys) + 5],
            "groups/zero_variance_frac": sums[len(keys) + 4] / max(sums[len(keys) + 5], 1),
            "loss/loss": stats["loss_sum"], "loss/tokens": sums[len(keys) + 6],
            "loss/clip_low_frac": sums[len(keys) + 7] / tokens, "loss/clip_high_frac": sums[len(keys) + 8] / tokens,
            "loss/ratio_min": stats["ratio_min"] if keep else 1.0, "loss/ratio_max": stats["ratio_max"] if keep else 1.0,
            "loss/kl": sums[len(keys) + 9] / tokens, "loss/sampler_logprob_abs_diff": sums[len(keys) + 10] / tokens,
            "optim/grad_norm": grad_norm, "optim/lr": scheduler.get_last_lr()[0],
            "time/rollout_s": rollout_s, "time/train_s": train_s, "time/step_s": step_s,
            "time/gen_tokens_per_s": sums[len(keys) + 11] / max(rollout_s, 1e-9),
            "time/train_tokens_per_s": sums[len(keys) + 12] / max(train_s, 1e-9),
        }
        if args.curriculum == "potential":
            row["curriculum/p"] = dict(curriculum.p)
        history.append(row)
        log.write(row)
        if rank == 0:
            print(f"step {step + 1}: reward {mean_reward:.3f} code {row['rollout/code_share']:.2f} "
                  f"zero-var {row['groups/zero_variance']:.0f}/{row['groups/total']:.0f} "
                  f"clip {row['loss/clip_low_frac'] + row['loss/clip_high_frac']:.3f} step {step_s:.1f}s", flush=True)

        # 8. evaluation and checkpoints -----------------------------------------------------------------
        last = step + 1 == args.steps
        if eval_tasks and ((args.eval_every and (step + 1) % args.eval_every == 0) or last):
            final_eval = {"step": step + 1, **T.evaluate_policy(
                backend, make_env, eval_tasks, n=args.eval_n, temperature=args.eval_temperature,
                max_new_tokens=args.max_new_tokens, max_total_tokens=args.max_total_tokens,
                system_prompt=args.system_prompt, concurrency=args.concurrency)}
            log.write(final_eval)
            if rank == 0:
                print(f"eval step {step + 1}: reward {final_eval['eval/reward']:.3f}", flush=True)
        if rank == 0 and ((args.save_every and (step + 1) % args.save_every == 0) or last):
            T.save_checkpoint(output / "checkpoints", model, tokenizer, optimizer,
                              {"step": step + 1, "sampler_rng": rng.getstate(), "curriculum": dict(curriculum.p),
                               "scheduler": scheduler.state_dict()})

    if rank == 0 and args.steps > start_step:
        final = output / "final"
        T.unwrap_model(model).save_pretrained(final)
        tokenizer.save_pretrained(final)
    if hasattr(backend, "close"):
        backend.close()
    return {"history": history, "eval": final_eval}


if __name__ == "__main__":
    main()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    sys.exit(0)
