"""One GRPO step of `train_grpo.py` against TRL's GRPOTrainer with r1ci's rollout_func, same model, group size,
batch and token caps, in one run (the TRL side in its engine venv, tests/engine_venvs.py), on a real r1ci task
through the Docker sandbox. Prints a table and the ratio of the two median step times (steps after the first).

    python bench/trl_rollout_step.py [--model DIR] [--task bbh.web_of_lies] [--group 4] [--questions 2] \
        [--max-new-tokens 48] [--steps 3] [--device cpu]

Without --model the warm-started tiny Qwen2 of tests/engine_scripts/warm_tiny.py is built (it runs code and
its rewards vary within a group, so both trainers really update; the numbers measure the machinery on CPU).
`--worker` is internal: the TRL side, run by this script in the trl venv.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def trl_worker(args: argparse.Namespace) -> None:
    """The TRL side: `steps` GRPO steps; prints per-step seconds and sampled tokens as JSON."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from r1ci_env.integrations.episode import EnvSettings
    from r1ci_env.integrations.trl import R1CIRollout, make_dataset, r1ci_reward_func

    torch.set_num_threads(1)
    settings = EnvSettings(max_code_calls=args.max_code_calls)
    dataset = make_dataset([args.task], 64, seed=0, settings=settings)
    rollout = R1CIRollout(dataset, settings, max_new_tokens=args.max_new_tokens)
    times, tokens = [], []

    class Timer(TrainerCallback):
        def on_step_begin(self, *_, **__):
            self.start = time.perf_counter()

        def on_step_end(self, *_, **__):
            times.append(time.perf_counter() - self.start)
            tokens.append(sum(p.record.num_sampled for p in rollout.last_played))

    budget = args.max_new_tokens * (args.max_code_calls + 1)  # every turn may use its cap, as in train_grpo.py
    config = GRPOConfig(
        output_dir=args.out,
        per_device_train_batch_size=args.group * args.questions,
        num_generations=args.group,
        max_completion_length=budget,
        max_steps=args.steps,
        learning_rate=1e-6,
        beta=0.0,
        report_to=[],
        save_strategy="no",
        use_cpu=args.device == "cpu",
        bf16=False,
        temperature=1.0,
        logging_steps=1,
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(args.model),
        args=config,
        processing_class=AutoTokenizer.from_pretrained(args.model),
        train_dataset=dataset,
        reward_funcs=[r1ci_reward_func],
        rollout_func=rollout,
        callbacks=[Timer()],
    )
    trainer.train()
    print(json.dumps({"step_s": times, "sampled_tokens": tokens}))


def run_train_grpo(args: argparse.Namespace, out: Path) -> dict:
    command = [
        sys.executable,
        str(REPO / "train_grpo.py"),
        "--model",
        args.model,
        "--tasks",
        args.task,
        "--group-size",
        str(args.group),
        "--questions-per-step",
        str(args.questions),
        "--max-new-tokens",
        str(args.max_new_tokens),
        "--max-code-calls",
        str(args.max_code_calls),
        "--max-total-tokens",
        "100000",
        "--steps",
        str(args.steps),
        "--no-eval",
        "--lr",
        "1e-6",
        "--threads",
        "1",
        "--device",
        args.device,
        "--output-dir",
        str(out),
        "--save-every",
        "0",
    ]
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rows = [row for row in rows if "time/step_s" in row]
    return {
        "step_s": [row["time/step_s"] for row in rows],
        "sampled_tokens": [row["time/gen_tokens_per_s"] * row["time/rollout_s"] for row in rows],
    }


def run_trl(args: argparse.Namespace, out: Path) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from engine_venvs import build

    python, _ = build("trl")
    command = [
        str(python),
        __file__,
        "--worker",
        "--model",
        args.model,
        "--task",
        args.task,
        "--group",
        str(args.group),
        "--questions",
        str(args.questions),
        "--max-new-tokens",
        str(args.max_new_tokens),
        "--max-code-calls",
        str(args.max_code_calls),
        "--steps",
        str(args.steps),
        "--device",
        args.device,
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRL_EXPERIMENTAL_SILENCE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(command, check=True, cwd=REPO, env=env, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--task", default="bbh.web_of_lies")
    parser.add_argument("--group", type=int, default=4)
    parser.add_argument("--questions", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--max-code-calls", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        trl_worker(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.model is None:
            sys.path.insert(0, str(REPO / "tests" / "engine_scripts"))
            from warm_tiny import warm_start

            args.model = str(warm_start(tmp / "model", args.task))
        ours, theirs = run_train_grpo(args, tmp / "grpo"), run_trl(args, tmp / "trl")
    print(
        f"model {args.model}, task {args.task}, G={args.group}, questions/step={args.questions}, "
        f"max new tokens/turn={args.max_new_tokens}, steps={args.steps}, device={args.device}"
    )
    print("| trainer | step s (each) | median step s (after the first) | sampled tokens/step |")
    print("|---|---|---|---|")
    medians = {}
    for name, result in (("train_grpo.py", ours), ("TRL GRPOTrainer + R1CIRollout", theirs)):
        later = result["step_s"][1:] or result["step_s"]
        medians[name] = statistics.median(later)
        print(
            f"| {name} | {', '.join(f'{s:.2f}' for s in result['step_s'])} | {medians[name]:.2f} | "
            f"{', '.join(str(int(t)) for t in result['sampled_tokens'])} |"
        )
    ratio = medians["TRL GRPOTrainer + R1CIRollout"] / medians["train_grpo.py"]
    print(f"ratio TRL / train_grpo.py (median step time): {ratio:.2f}")


if __name__ == "__main__":
    main()
