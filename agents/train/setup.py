"""The setup both trainer scripts share: the common flags (model, LoRA, environments), seeding, device,
torchrun process group, output directory, the policy (merged SFT weights + optional fresh LoRA), the
optimizer with warmup, and the env factory. One copy, so SFT and GRPO cannot drift apart (for example
both cut observations at the same length as `r1ci bench`)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from r1ci_env import protocol
from r1ci_env.sandbox import BACKENDS, DEFAULT_TIMEOUT

from .checkpoint import MetricsLog, add_lora, load_model
from .dist import dist_info
from .rollout import env_factory, evaluate_policy


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """--model, --lora*, --dtype, --device."""
    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        required=True,
        help="local model directory (transformers format) or a PEFT adapter directory (merged into its base)",
    )
    g.add_argument("--lora", action="store_true", help="train a fresh LoRA adapter instead of all weights")
    g.add_argument("--lora-r", type=int, default=32, help="LoRA rank")
    g.add_argument("--lora-alpha", type=int, default=64, help="LoRA alpha")
    g.add_argument("--dtype", default="float32", help="weights dtype: float32, bfloat16, float16")
    g.add_argument(
        "--device", default=None, help="cpu or cuda (default: cuda when available; with torchrun cuda:LOCAL_RANK)"
    )


def add_env_arguments(g: argparse._ArgumentGroup) -> None:
    """The environment flags, with the env's (and `r1ci bench`'s) defaults."""
    g.add_argument("--sandbox", default="docker", choices=BACKENDS, help="sandbox backend")
    g.add_argument(
        "--max-code-calls",
        type=int,
        default=protocol.DEFAULT_MAX_CODE_CALLS,
        help="code runs per episode (the env's cap)",
    )
    g.add_argument(
        "--max-observation-chars",
        type=int,
        default=protocol.DEFAULT_MAX_OBSERVATION_CHARS,
        help="observations are cut (head+tail) to this many characters, as in r1ci bench",
    )
    g.add_argument("--code-timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per code run")
    g.add_argument(
        "--prompt-style",
        "--prompt",
        dest="prompt",
        default=protocol.DEFAULT_PROMPT_STYLE,
        help=f"prompt style ({', '.join(protocol.PROMPT_STYLES)}) or a template with {{question}}",
    )
    g.add_argument(
        "--system-prompt",
        default=None,
        help="optional system message before the prompt (use the same in SFT, GRPO and evaluation)",
    )
    g.add_argument(
        "--env-factory",
        default=None,
        help="module:function building an env as f(task, **env_options) (the module must be importable)",
    )
    g.add_argument(
        "--import-module",
        action="append",
        default=[],
        help="import this module first (e.g. one that registers custom tasks); repeatable",
    )


@dataclass
class Run:
    """What `init_run` sets up: this process's rank, the world size, its device, the output directory
    and the metrics log (written by rank 0 only)."""

    rank: int
    world: int
    device: torch.device
    output: Path
    log: MetricsLog


def init_run(args: argparse.Namespace) -> Run:
    """Imports, threads, the torchrun process group, the device, seeds (python: seed; torch: seed + rank)
    and the output directory with args.json."""
    for module in args.import_module:
        importlib.import_module(module)
    if args.threads:
        torch.set_num_threads(args.threads)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() and args.device != "cpu" else "gloo")
    rank, world = dist_info()
    if args.device is None:
        args.device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    random.seed(args.seed)
    torch.manual_seed(args.seed + rank)
    output = Path(args.output_dir)
    if rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        (output / "args.json").write_text(json.dumps(vars(args), indent=2))
    return Run(rank, world, device, output, MetricsLog(output / "metrics.jsonl", enabled=rank == 0))


def build_policy(args: argparse.Namespace, device: torch.device, sft_adapter: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer): `--model` as merged weights (an adapter directory or `sft_adapter` merged in),
    wrapped in a fresh LoRA adapter with `--lora`."""
    model, tokenizer = load_model(args.model, dtype=args.dtype, device=str(device), sft_adapter=sft_adapter)
    if args.lora:
        model = add_lora(model, r=args.lora_r, alpha=args.lora_alpha)
    return model, tokenizer


def make_optimizer(
    params: list, lr: float, weight_decay: float, warmup_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW and a linear warmup to `lr` over `warmup_steps`."""
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(warmup_steps, 1)))
    return optimizer, scheduler


def make_env_factory(args: argparse.Namespace) -> Callable[[str], Any]:
    """task name -> env, from the environment flags."""
    return env_factory(
        sandbox=args.sandbox,
        max_code_calls=args.max_code_calls,
        timeout=args.code_timeout,
        max_observation_chars=args.max_observation_chars,
        prompt=args.prompt,
        custom=args.env_factory,
    )


def evaluate_from_args(backend, make_env: Callable[[str], Any], tasks: list[str], args: argparse.Namespace) -> dict:
    """`evaluate_policy` with the trainers' evaluation flags (--eval-n, --eval-temperature,
    --eval-seed-base) and their episode limits, so SFT and GRPO evaluate alike."""
    return evaluate_policy(
        backend,
        make_env,
        tasks,
        n=args.eval_n,
        temperature=args.eval_temperature,
        max_new_tokens=args.max_new_tokens,
        max_total_tokens=args.max_total_tokens,
        system_prompt=args.system_prompt,
        concurrency=args.concurrency,
        seed_base=args.eval_seed_base,
    )
