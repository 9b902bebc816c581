"""R1-CI in miniature: the paper's pipeline on a real small model on a CPU, every stage measured.

    base model -> SFT on oracle transcripts of a few tasks where code computes the answer
               -> GRPO from the SFT model (execution output masked from the loss, as the paper)
               -> the ablation: the same GRPO with the execution output NOT masked

Every stage is evaluated the same way: held-out questions of the trained tasks and questions of tasks
no stage trained on, played by the HF policy through the environments (`agents.train.rollout`, the
loop the benchmark and the trainers share): pass@1 with its standard error, code-use health (episodes
using code, code errors, timeouts, calls per episode) and tokens per episode. Training is
`train_sft.main` and `train_grpo.main` called with their own flags; the transcripts come from the
oracle agent (`agents.OracleAgent`) recorded turn by turn.

The work is fixed by --budget-minutes (a deterministic plan of episode and step counts, derived from
per-unit costs measured on this project's 2-core CPU; the plan and every seed are in the JSON), so a
rerun with the same flags repeats the same questions, sampling seeds and steps. Writes
OUT/results.json, OUT/results.md (the table) and OUT/results.png (the plot).

  python bench/mini_r1ci.py --out runs/mini                      # SmolLM2-135M-Instruct, 45 minutes
  python bench/mini_r1ci.py --out runs/mini --budget-minutes 15  # a shorter plan
  python bench/mini_r1ci.py --compare runs/mini runs/mini-rerun  # two runs side by side
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the trainer scripts

# Trained: procedural NumberMultiply and two BBH tasks whose oracle program computes the answer from the
# question (copy the expression into Python, print it) -- within reach of a 135M model.
TRAIN_TASKS = ("NumberMultiply", "bbh.multistep_arithmetic_two", "bbh.boolean_expressions")
# Never trained on by any stage; code helps on both.
UNSEEN_TASKS = ("bbh.word_sorting", "Letters")
STAGES = ("base", "sft", "grpo", "grpo_unmasked")
STAGE_TITLES = {"base": "base", "sft": "SFT", "grpo": "GRPO (obs. masked)", "grpo_unmasked": "GRPO (obs. NOT masked)"}
PLOT_LABELS = {"base": "base", "sft": "SFT", "grpo": "GRPO\nobs. masked", "grpo_unmasked": "GRPO\nobs. NOT masked"}
# Seeds: evaluation questions use EVAL_SEED_BASE + i (BBH: example i, as seed % 250), oracle transcripts
# TEACHER_SEED_BASE + i (BBH: example 125 + i), so they never share a question while both counts are <= 125.
# GRPO draws its own questions (train_grpo.py: seeds below 10**9); on BBH they can repeat held-out examples.
EVAL_SEED_BASE = 10**9
TEACHER_SEED_BASE = 2 * 10**9 + 125
# Seconds per unit measured on this project's 2-core CPU, idle (SmolLM2-135M, fp32, LoRA r=32, the defaults
# below): an evaluation episode of the base model (trained stages cost about TRAINED_EVAL_SHARE of it: a
# batch of 16 episodes lasts as long as its longest), an SFT step of 4 transcripts, a GRPO episode (rollout
# and update). The run rescales them by the speed it measures on the base evaluation.
UNIT_COSTS = {"eval_episode": 1.95, "sft_step": 4.3, "grpo_episode": 2.0, "teacher_episode": 0.2, "overhead": 60.0}
TRAINED_EVAL_SHARE = 0.85
PLAN_MARGIN = 0.9  # training fills this share of the time left after the base evaluation (model loads, noise)
SFT_SHARE = 0.25  # of the training time; SFT reaches ~90 % held-out in 30 steps, GRPO gets the rest


@dataclass
class Plan:
    """The work of one run: counts only (results.json records them with the flags that repeat them)."""

    teacher_n: int  # oracle episodes per trained task
    eval_n: int  # held-out questions per trained task, per stage
    unseen_n: int  # questions per unseen task, per stage
    sft_steps: int
    sft_batch: int
    grpo_steps: int  # per GRPO run (masked and unmasked run the same steps, seeds and questions)
    questions_per_step: int
    group_size: int

    def eval_episodes(self, n_train: int, n_unseen: int) -> int:
        """Episodes of one stage's evaluation."""
        return self.eval_n * n_train + self.unseen_n * n_unseen

    def fit_training(self, seconds: float, speed: float = 1.0) -> None:
        """SFT and GRPO steps that fill `seconds` (SFT_SHARE of it, the two GRPO runs the rest) at `speed`
        times the UNIT_COSTS (2.0 = this machine is twice as slow as when they were measured)."""
        self.sft_steps = max(1, int(seconds * SFT_SHARE / (UNIT_COSTS["sft_step"] * speed)))
        per_grpo_step = 2 * UNIT_COSTS["grpo_episode"] * speed * self.questions_per_step * self.group_size
        self.grpo_steps = max(1, int(seconds * (1 - SFT_SHARE) / per_grpo_step))

    def estimated_seconds(self, n_train: int, n_unseen: int) -> float:
        evals = (1 + (len(STAGES) - 1) * TRAINED_EVAL_SHARE) * self.eval_episodes(n_train, n_unseen)
        return (
            UNIT_COSTS["overhead"]
            + UNIT_COSTS["teacher_episode"] * n_train * self.teacher_n
            + UNIT_COSTS["eval_episode"] * evals
            + UNIT_COSTS["sft_step"] * self.sft_steps
            + 2 * UNIT_COSTS["grpo_episode"] * self.grpo_steps * self.questions_per_step * self.group_size
        )


def plan_for_budget(minutes: float, n_train: int = len(TRAIN_TASKS), n_unseen: int = len(UNSEEN_TASKS)) -> Plan:
    """The plan for `minutes` at UNIT_COSTS: evaluation takes about 40 % (4 to 48 questions per task and
    stage), SFT and GRPO the rest. Evaluation sizes depend on the budget alone; `main` refits the
    training steps to the speed it measures on the base model's evaluation."""
    budget = minutes * 60.0
    per_question = (1 + (len(STAGES) - 1) * TRAINED_EVAL_SHARE) * UNIT_COSTS["eval_episode"] * (n_train + n_unseen)
    eval_n = int(max(4, min(48, 0.4 * budget / per_question)))
    plan = Plan(
        teacher_n=32,
        eval_n=eval_n,
        unseen_n=eval_n,
        sft_steps=0,
        sft_batch=4,
        grpo_steps=0,
        questions_per_step=2,
        group_size=8,
    )
    plan.fit_training(max(budget - plan.estimated_seconds(n_train, n_unseen), 0.0))
    return plan


# ----------------------------------------------------------------------------------------------
# Stages
# ----------------------------------------------------------------------------------------------


def teacher_transcripts(make_env: Callable[[str], Any], tasks: Sequence[str], n: int, path: Path) -> dict[str, int]:
    """Oracle episodes on seeds TEACHER_SEED_BASE + i, recorded with their turns in the JSONL that
    train_sft.py reads; returns solved episodes per task (train_sft keeps only those)."""
    from agents import OracleAgent, run_episode

    solved: dict[str, int] = {}
    with path.open("w") as handle:
        for task in tasks:
            for i in range(n):
                env = make_env(task)
                try:
                    episode = run_episode(env, OracleAgent(), TEACHER_SEED_BASE + i)
                finally:
                    env.close()
                handle.write(json.dumps(episode.to_dict()) + "\n")
                solved[task] = solved.get(task, 0) + int(episode.reward >= 1.0)
    return solved


def pass_at_1(rewards: Sequence[float]) -> tuple[float, float]:
    """Mean reward (pass@1 of one sample per question) and its standard error sqrt(p(1-p)/n)."""
    n = len(rewards)
    if not n:
        return 0.0, 0.0
    p = sum(rewards) / n
    return p, math.sqrt(max(p * (1 - p), 0.0) / n)


def episode_metrics(results: Sequence[tuple[Any, Any]]) -> dict[str, float]:
    """pass@1 +- SE, code-use health (`code_use_health`, shared with the trainers) and tokens per episode."""
    from agents.train.rollout import code_use_health

    episodes = [e for e, _ in results]
    records = [r for _, r in results]
    p, se = pass_at_1([e.reward for e in episodes])
    n = max(len(results), 1)
    return {
        "pass@1": p,
        "se": se,
        **code_use_health(episodes),
        "code_calls": float(sum(e.code_calls for e in episodes)),
        "code_errors": float(sum(e.exec_errors for e in episodes)),
        "code_timeouts": float(sum(e.exec_timeouts for e in episodes)),
        "model_tokens_per_episode": sum(r.num_sampled for r in records) / n,
        "observation_tokens_per_episode": sum(r.num_observation for r in records) / n,
        "episode_tokens": sum(len(r) for r in records) / n,
    }


def evaluate(
    model_dir: str,
    make_env: Callable[[str], Any],
    groups: dict[str, Sequence[str]],
    n: dict[str, int],
    *,
    seed: int,
    temperature: float,
    max_new_tokens: int,
    max_total_tokens: int,
    concurrency: int,
    episodes_path: Path,
    device: str = "cpu",
) -> dict[str, Any]:
    """Play `n[group]` questions (seeds EVAL_SEED_BASE + i) of every task of every group with the model in
    `model_dir` (an adapter directory is merged into its base); metrics per task and per group. The
    episodes (transcripts included) go to `episodes_path` as JSON lines."""
    from agents.hf import HFBackend
    from agents.train.checkpoint import load_model
    from agents.train.rollout import Job, rollout

    model, tokenizer = load_model(model_dir, device=device)
    backend = HFBackend(model, tokenizer, max_batch_size=concurrency, device=device)
    started = time.perf_counter()
    try:
        jobs = [
            Job(task, EVAL_SEED_BASE + i, seed * 1_000_003 + 7_000_000 + 1000 * t + i)
            for group, tasks in groups.items()
            for t, task in enumerate(tasks)
            for i in range(n[group])
        ]
        results = rollout(
            backend,
            make_env,
            jobs,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            max_total_tokens=max_total_tokens,
            concurrency=concurrency,
        )  # one batch over all groups
        episodes_path.write_text("".join(json.dumps(e.to_dict(), default=str) + "\n" for e, _ in results))
        out: dict[str, Any] = {"groups": {"all": episode_metrics(results)}, "tasks": {}}
        for group, tasks in groups.items():
            out["groups"][group] = episode_metrics([pair for pair in results if pair[0].task in tasks])
            for task in tasks:
                out["tasks"][task] = episode_metrics([pair for pair in results if pair[0].task == task])
        seconds = time.perf_counter() - started
        out["seconds"] = seconds
        out["gen_tokens_per_s"] = backend.stats["generated_tokens"] / max(backend.stats["seconds"], 1e-9)
        return out
    finally:
        backend.close()
        del model


def common_flags(args: argparse.Namespace) -> list[str]:
    """Flags both trainers take with the same values (environment, dtype, device, LoRA)."""
    flags = [
        "--sandbox",
        args.sandbox,
        "--max-code-calls",
        str(args.max_code_calls),
        "--prompt",
        args.prompt,
        "--dtype",
        "float32",
        "--device",
        args.device,
        "--lora",
        "--lora-r",
        str(args.lora_r),
        "--lora-alpha",
        str(2 * args.lora_r),
    ]
    if args.threads:
        flags += ["--threads", str(args.threads)]
    return flags


def run_sft(args: argparse.Namespace, plan: Plan, model: str, data: Path, out: Path) -> dict[str, Any]:
    """train_sft.main on the oracle transcripts; returns its loss curve. The adapter is in out/final."""
    import train_sft

    result = train_sft.main(
        [
            "--model",
            model,
            "--data",
            str(data),
            "--output-dir",
            str(out),
            "--steps",
            str(plan.sft_steps),
            "--batch-size",
            str(plan.sft_batch),
            "--lr",
            str(args.sft_lr),
            "--seed",
            str(args.seed),
            "--log-every",
            "5",
            *common_flags(args),
        ]
    )
    return {
        "loss": [round(row["loss"], 4) for row in result["history"]],
        "records": result["records"],
        "data": result["counts"],
    }


def run_grpo(args: argparse.Namespace, plan: Plan, model: str, out: Path, masked: bool) -> dict[str, Any]:
    """train_grpo.main from the SFT adapter (merged) with a fresh LoRA; `masked=False` is the ablation
    (--no-mask-observations). Returns the per-step training curves; merged weights are in out/final."""
    import train_grpo

    result = train_grpo.main(
        [
            "--model",
            model,
            "--tasks",
            ",".join(args.train_tasks),
            "--output-dir",
            str(out),
            "--steps",
            str(plan.grpo_steps),
            "--questions-per-step",
            str(plan.questions_per_step),
            "--group-size",
            str(plan.group_size),
            "--lr",
            str(args.grpo_lr),
            "--seed",
            str(args.seed),
            "--temperature",
            "1.0",
            "--max-new-tokens",
            str(args.max_new_tokens),
            "--max-total-tokens",
            str(args.max_total_tokens),
            "--concurrency",
            str(args.concurrency),
            "--max-batch-size",
            str(args.concurrency),
            "--no-eval",
            "--save-every",
            "0",
            *common_flags(args),
            *([] if masked else ["--no-mask-observations"]),
        ]
    )
    keys = (
        "rollout/reward",
        "rollout/code_share",
        "groups/zero_variance_frac",
        "loss/tokens",
        "time/step_s",
        "time/gen_tokens_per_s",
    )
    return {key: [round(float(row[key]), 4) for row in result["history"]] for key in keys}


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def _pm(metrics: dict[str, float]) -> str:
    return f"{100 * metrics['pass@1']:.1f} ± {100 * metrics['se']:.1f}"


def render_table(results: dict[str, Any]) -> str:
    """The markdown table: one row per stage."""
    plan = results["plan"]
    lines = [
        (
            f"Held-out: {plan['eval_n']} questions per trained task ({', '.join(results['train_tasks'])}); "
            f"unseen: {plan['unseen_n']} per task ({', '.join(results['unseen_tasks'])}). pass@1 in % ± one "
            "standard error; code health and tokens over held-out and unseen episodes together."
        ),
        "",
        (
            "| stage | held-out pass@1 | unseen pass@1 | episodes using code | code errors / calls | timeouts | "
            "calls / episode | model tokens / episode | obs. tokens / episode | stage minutes |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for stage in STAGES:
        row = results["stages"].get(stage)
        if not row:
            continue
        held, unseen, both = (row["eval"]["groups"][g] for g in ("held_out", "unseen", "all"))
        lines.append(
            f"| {STAGE_TITLES[stage]} | {_pm(held)} | {_pm(unseen)} | {100 * both['code_share']:.0f} % | "
            f"{both['code_errors']:.0f} / {both['code_calls']:.0f} | {both['code_timeouts']:.0f} | "
            f"{both['calls_per_episode']:.2f} | {both['model_tokens_per_episode']:.0f} | "
            f"{both['observation_tokens_per_episode']:.0f} | {row['minutes']:.1f} |"
        )
    lines += [
        "",
        "Per task (pass@1 % ± SE):",
        "",
        "| task | " + " | ".join(STAGE_TITLES[s] for s in STAGES if s in results["stages"]) + " |",
        "|---|" + "---|" * len(results["stages"]),
    ]
    for task in [*results["train_tasks"], *results["unseen_tasks"]]:
        cells = [_pm(results["stages"][s]["eval"]["tasks"][task]) for s in STAGES if s in results["stages"]]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_comparison(first: dict[str, Any], second: dict[str, Any]) -> str:
    """Two runs side by side (a rerun check): each stage's held-out and unseen pass@1 in both, and whether
    they agree up to sampling noise (difference within 2 standard errors of the difference)."""
    lines = [
        "| stage | held-out, run 1 | held-out, run 2 | unseen, run 1 | unseen, run 2 | agree within 2 SE |",
        "|---|---|---|---|---|---|",
    ]
    for stage in STAGES:
        if stage not in first["stages"] or stage not in second["stages"]:
            continue
        cells, agree = [], True
        for group in ("held_out", "unseen"):
            a, b = (run["stages"][stage]["eval"]["groups"][group] for run in (first, second))
            cells += [_pm(a), _pm(b)]
            agree &= abs(a["pass@1"] - b["pass@1"]) <= 2 * math.hypot(a["se"], b["se"]) + 1e-9
        lines.append(f"| {STAGE_TITLES[stage]} | " + " | ".join(cells) + f" | {'yes' if agree else 'NO'} |")
    return "\n".join(lines) + "\n"


def render_plot(results: dict[str, Any], path: Path) -> None:
    """Bars: held-out and unseen pass@1 with standard-error whiskers per stage; the code-use share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = [s for s in STAGES if s in results["stages"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.38
    for offset, group, label in (
        (-width / 2, "held_out", "held-out questions of trained tasks"),
        (width / 2, "unseen", "unseen tasks"),
    ):
        metrics = [results["stages"][s]["eval"]["groups"][group] for s in stages]
        left.bar(
            [i + offset for i in range(len(stages))],
            [100 * m["pass@1"] for m in metrics],
            width,
            yerr=[100 * m["se"] for m in metrics],
            capsize=4,
            label=label,
        )
        right.bar(
            [i + offset for i in range(len(stages))], [100 * m["code_share"] for m in metrics], width, label=label
        )
    for axis, title in ((left, "pass@1 (%) ± 1 SE"), (right, "episodes using code (%)")):
        axis.set_xticks(range(len(stages)), [PLOT_LABELS[s] for s in stages], fontsize=8)
        axis.set_ylim(0, 125)
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=8)
    model = "/".join(Path(results["model"]).parts[-2:])
    fig.suptitle(
        f"R1-CI in miniature: {model}, budget {results['budget_minutes']} min, seed {results['seed']}", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--model", default=None, help="base model directory (default: `r1ci model prepare smollm2`)")
    p.add_argument("--out", default="runs/mini", help="output directory (results.json, results.md, results.png)")
    p.add_argument("--budget-minutes", type=float, default=45.0, help="sizes the plan (see plan_for_budget)")
    p.add_argument("--seed", type=int, default=0, help="seed of SFT order, GRPO questions and all sampling")
    p.add_argument("--train-tasks", default=",".join(TRAIN_TASKS), help="tasks SFT and GRPO train on")
    p.add_argument("--unseen-tasks", default=",".join(UNSEEN_TASKS), help="tasks only evaluated")
    p.add_argument("--sandbox", default="docker", help="sandbox backend: docker or local")
    p.add_argument("--max-code-calls", type=int, default=2, help="code runs per episode (the env's cap)")
    p.add_argument("--prompt", default="code_interpreter", help="prompt style name or a template with {question}")
    p.add_argument("--max-new-tokens", type=int, default=128, help="max sampled tokens per turn")
    p.add_argument("--max-total-tokens", type=int, default=1024, help="max tokens per episode")
    p.add_argument("--eval-temperature", type=float, default=0.6, help="sampling temperature of the evaluations")
    p.add_argument("--concurrency", type=int, default=16, help="episodes played (and rows generated) at once")
    p.add_argument("--sft-lr", type=float, default=5e-4, help="SFT learning rate (LoRA)")
    p.add_argument("--grpo-lr", type=float, default=5e-5, help="GRPO learning rate (LoRA)")
    p.add_argument("--lora-r", type=int, default=32, help="LoRA rank (alpha = 2 r) of both trainers")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--compare",
        nargs=2,
        metavar="DIR",
        default=None,
        help="print two finished runs side by side (a rerun check) and exit; runs nothing",
    )
    g = p.add_argument_group("plan overrides (default: from --budget-minutes)")
    for name in (
        "teacher_n",
        "eval_n",
        "unseen_n",
        "sft_steps",
        "sft_batch",
        "grpo_steps",
        "questions_per_step",
        "group_size",
    ):
        g.add_argument("--" + name.replace("_", "-"), type=int, default=None)
    return p


def prepare_model() -> str:
    """The SmolLM2-135M-Instruct directory, via `r1ci model prepare smollm2` (its last output line)."""
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", "model", "prepare", "smollm2"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"mini_r1ci: r1ci model prepare smollm2 failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    if args.compare:
        try:
            first, second = (json.loads((Path(d) / "results.json").read_text()) for d in args.compare)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"mini_r1ci: --compare needs two run directories with results.json: {exc}") from None
        print(render_comparison(first, second), end="")
        return {"compare": args.compare}
    started = time.perf_counter()
    args.train_tasks = [t for t in args.train_tasks.split(",") if t]
    args.unseen_tasks = [t for t in args.unseen_tasks.split(",") if t]
    plan = plan_for_budget(args.budget_minutes, len(args.train_tasks), len(args.unseen_tasks))
    overrides = {name: getattr(args, name) for name in asdict(plan) if getattr(args, name) is not None}
    for name, value in overrides.items():
        setattr(plan, name, value)
    if max(plan.teacher_n, plan.eval_n, plan.unseen_n) > 125:
        raise SystemExit("mini_r1ci: --teacher-n, --eval-n and --unseen-n must be <= 125 (BBH questions would repeat)")
    from agents.bench import BenchError, resolve_tasks
    from agents.report import git_commit
    from agents.train.rollout import env_factory

    try:
        resolve_tasks(tasks=[*args.train_tasks, *args.unseen_tasks])
    except BenchError as exc:
        raise SystemExit(f"mini_r1ci: {exc}") from None
    model = args.model or prepare_model()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    make_env = env_factory(sandbox=args.sandbox, max_code_calls=args.max_code_calls, prompt=args.prompt)
    results: dict[str, Any] = {
        "model": model,
        "budget_minutes": args.budget_minutes,
        "seed": args.seed,
        "plan": asdict(plan),
        "train_tasks": args.train_tasks,
        "unseen_tasks": args.unseen_tasks,
        "seeds": {
            "eval_questions": f"{EVAL_SEED_BASE} + i",
            "teacher_questions": f"{TEACHER_SEED_BASE} + i",
            "eval_sampling": f"{args.seed} * 1000003 + 7000000 + 1000 * task_index + i",
            "training": args.seed,
        },
        "args": dict(vars(args)),
        "git_commit": git_commit(),
        "stages": {},
    }
    groups = {"held_out": args.train_tasks, "unseen": args.unseen_tasks}
    sizes = {"held_out": plan.eval_n, "unseen": plan.unseen_n}

    def stage(name: str, model_dir: str, train: Callable[[], dict[str, Any]] | None = None) -> str:
        tick = time.perf_counter()
        training = train() if train else None
        row = {"model_dir": model_dir, "train": training}
        print(f"mini_r1ci: evaluating {name} ({model_dir})", flush=True)
        row["eval"] = evaluate(
            model_dir,
            make_env,
            groups,
            sizes,
            seed=args.seed,
            temperature=args.eval_temperature,
            max_new_tokens=args.max_new_tokens,
            max_total_tokens=args.max_total_tokens,
            concurrency=args.concurrency,
            device=args.device,
            episodes_path=out / f"eval_{name}.jsonl",
        )
        row["minutes"] = (time.perf_counter() - tick) / 60
        results["stages"][name] = row
        held = row["eval"]["groups"]["held_out"]
        print(
            f"mini_r1ci: {name}: held-out pass@1 {_pm(held)} %, unseen {_pm(row['eval']['groups']['unseen'])} %, "
            f"code {100 * held['code_share']:.0f} % ({row['minutes']:.1f} min)",
            flush=True,
        )
        write_outputs(results, out, time.perf_counter() - started)
        return model_dir

    teacher = out / "teacher.jsonl"
    results["teacher_solved"] = teacher_transcripts(make_env, args.train_tasks, plan.teacher_n, teacher)
    stage("base", model)
    base_seconds = results["stages"]["base"]["eval"]["seconds"]
    speed = (
        base_seconds
        / max(plan.eval_episodes(len(args.train_tasks), len(args.unseen_tasks)), 1)
        / UNIT_COSTS["eval_episode"]
    )
    later_evals = (len(STAGES) - 1) * TRAINED_EVAL_SHARE * base_seconds
    left = args.budget_minutes * 60 - (time.perf_counter() - started) - later_evals
    plan.fit_training(max(PLAN_MARGIN * left, 0.0), speed)
    for name, value in overrides.items():
        setattr(plan, name, value)
    results.update(
        plan=asdict(plan),
        speed_factor=speed,
        rerun_flags=" ".join(f"--{k.replace('_', '-')} {v}" for k, v in asdict(plan).items()),
    )
    print(f"mini_r1ci: speed {speed:.2f} x UNIT_COSTS; plan {results['rerun_flags']}", flush=True)
    sft = stage("sft", str(out / "sft" / "final"), lambda: run_sft(args, plan, model, teacher, out / "sft"))
    stage("grpo", str(out / "grpo" / "final"), lambda: run_grpo(args, plan, sft, out / "grpo", masked=True))
    stage(
        "grpo_unmasked",
        str(out / "grpo_unmasked" / "final"),
        lambda: run_grpo(args, plan, sft, out / "grpo_unmasked", masked=False),
    )
    write_outputs(results, out, time.perf_counter() - started)
    print(render_table(results))
    print(
        f"mini_r1ci: {results['total_minutes']:.1f} min of a {args.budget_minutes:g} min budget; "
        f"results in {out}/results.json, results.md, results.png",
        flush=True,
    )
    return results


def write_outputs(results: dict[str, Any], out: Path, seconds: float) -> None:
    """results.json, results.md and results.png (rewritten after every stage, so a killed run keeps its stages)."""
    results["total_minutes"] = seconds / 60
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (out / "results.md").write_text(render_table(results))
    render_plot(results, out / "results.png")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
