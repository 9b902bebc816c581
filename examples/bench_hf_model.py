"""Benchmark a local Hugging Face model in this process (the `hf:` agent: transformers generation, batched
across the episodes that run at once, the model's chat template, generation stopped at each closing
code fence).

    python examples/bench_hf_model.py /path/to/Qwen2.5-7B-Instruct --suite test --n 5
    python examples/bench_hf_model.py --demo     # builds the tiny random test model (tests/tiny_qwen.py)

The same run from the command line:

    r1ci bench --agent hf:/path/to/model --suite test --n 5 --samples-per-question 4 --concurrency 16 \
        --temperature 0.6 --max-tokens 1024

A random tiny model answers nothing right; the demo shows the machinery (files, counts, health numbers).
On a GPU, `vllm:<model path>` (optional extra) is much faster for the same job.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agents.bench import run_bench

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "model", nargs="?", help="model directory (AutoModelForCausalLM + tokenizer with a chat template)"
    )
    parser.add_argument("--demo", action="store_true", help="build and use the tiny test model")
    parser.add_argument("--suite", default=None, help="suite (default: two tasks for --demo, else test)")
    parser.add_argument("--n", type=int, default=2, help="questions per task")
    parser.add_argument("--samples-per-question", type=int, default=1, help="episodes per question (pass@k)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--max-tokens", type=int, default=1024, help="new tokens per turn")
    parser.add_argument("--sandbox", default="docker", choices=("docker", "local"))
    parser.add_argument("--out", default="runs/example-hf", help="output directory")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(min(4, torch.get_num_threads()))
    tasks = None
    if args.demo:
        sys.path.insert(0, str(REPO / "tests"))
        from tiny_qwen import save_tiny_model

        for name in ("episodes.jsonl", "errors.jsonl", "manifest.json"):  # the demo starts afresh each time
            (Path(args.out) / name).unlink(missing_ok=True)
        args.model = str(save_tiny_model(Path(args.out) / "tiny-qwen2"))
        args.max_tokens = min(args.max_tokens, 32)
        tasks = None if args.suite else ["NumberMultiply", "Game24"]
    if not args.model:
        parser.error("give a model directory, or --demo")
    suite = args.suite or (None if tasks else "test")
    result = run_bench(
        f"hf:{args.model}",
        out=args.out,
        suite=suite,
        tasks=tasks,
        n=args.n,
        samples=args.samples_per_question,
        concurrency=args.concurrency,
        sandbox=args.sandbox,
        resume=args.resume,
        agent_options={"temperature": args.temperature, "max_tokens": args.max_tokens},
    )
    overall, health = result.summary["overall"], result.summary["health"]
    stderr = "" if overall["stderr"] is None else f" ± {100 * overall['stderr']:.1f}"
    print(
        f"hf:{args.model}: pass@1 {100 * (overall['accuracy'] or 0):.1f}{stderr} % over {overall['episodes']} episodes "
        f"in {result.seconds:.1f} s; episodes that ran code {100 * (health['code_use'] or 0):.0f} %; "
        f"infra errors {result.summary['errors']['infra_events']}"
    )
    print(
        f"results: {Path(args.out) / 'summary.md'}, {Path(args.out) / 'plot.png'}, {Path(args.out) / 'episodes.jsonl'}"
    )


if __name__ == "__main__":
    main()
