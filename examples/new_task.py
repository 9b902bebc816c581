"""Write a new task and benchmark it.

A task is a config dataclass (its generator knobs) and a `Task` subclass with three methods:
`generate(seed)` (deterministic), `score(answer, instance)` and `reference_solution(instance)` (Python
that prints a correct answer; the oracle agent runs it, which proves the checker can reach 1.0). One
`register_task(...)` call makes it a gymnasium env (`r1ci/DigitSum-v0`) and a benchmark task.

    python examples/new_task.py                  # oracle, 10 questions, Docker sandbox
    python examples/new_task.py --sandbox local  # no Docker here (weaker isolation: trusted code only)

In a package of your own, put the task in a module and import it before `gym.make` or `run_bench`; on
the command line, `--import-module` imports it first:

    PYTHONPATH=examples r1ci list --import-module new_task --task DigitSum
    PYTHONPATH=examples r1ci bench --import-module new_task --tasks DigitSum --agent oracle --env-option digits=12
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

import r1ci_env  # noqa: F401 - registers the built-in tasks
from agents.bench import run_bench
from r1ci_env.tasks import Instance, Task, TaskConfig, register_task


@dataclass
class DigitSumConfig(TaskConfig):
    """digits: how many digits the number has (gym.make("r1ci/DigitSum-v0", digits=40) sets it)."""

    digits: int = 30


class DigitSum(Task):
    """What is the sum of the digits of a long number?"""

    name = "DigitSum"
    source = "custom"
    category = "execution"
    checker = "EM"
    config_class = DigitSumConfig
    config: DigitSumConfig

    def validate_config(self) -> None:
        if self.config.digits < 1:
            raise ValueError("DigitSum needs digits >= 1")

    def generate(self, seed: int) -> Instance:
        rng = random.Random(f"{self.name}/{seed}")  # depends on the seed only: same seed, same question
        number = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(self.config.digits - 1))
        return Instance(
            question=f"What is the sum of the digits of {number}? Answer with the integer, e.g. <<<57>>>.",
            gold=sum(map(int, number)),
            instance_id=f"seed-{seed}",
            metadata={"number": number},
        )

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if answer.strip() == str(instance.gold) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        return f"print(sum(int(d) for d in {instance.metadata['number']!r}))"


register_task(DigitSum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="oracle", help="agent spec (default: oracle)")
    parser.add_argument("--n", type=int, default=10, help="questions")
    parser.add_argument("--sandbox", default="docker", choices=("docker", "local"))
    parser.add_argument("--out", default="runs/example-new-task", help="output directory")
    args = parser.parse_args()

    # It is a gymnasium environment now:
    env = gym.make("r1ci/DigitSum-v0", sandbox=args.sandbox, digits=12)
    prompt, info = env.reset(seed=0)
    print(prompt.splitlines()[-1], info["task"], info["split"])
    env.close()

    # ... and a benchmark task. --resume-style reuse of the directory: start fresh each time here.
    out = Path(args.out)
    for name in ("episodes.jsonl", "errors.jsonl", "manifest.json"):
        (out / name).unlink(missing_ok=True)
    result = run_bench(args.agent, out=out, tasks=["DigitSum"], n=args.n, sandbox=args.sandbox, concurrency=4)
    overall = result.summary["overall"]
    print(
        f"{args.agent} on DigitSum: accuracy {100 * overall['accuracy']:.1f} % over {overall['episodes']} episodes "
        f"({result.seconds:.1f} s); see {out / 'summary.md'} and {out / 'plot.png'}"
    )


if __name__ == "__main__":
    main()
