"""The HF path before and after its three speed-ups, measured in one run on the same model and data:

  * generation (`agents.hf.HFBackend.generate`): rows whose turn ended keep decoding padding until the
    whole batch is done (before, `drop_finished=False`) vs leave the batch and its KV cache at once
    (after). Requests get different turn budgets, as concurrent episodes do.
  * a second turn: its whole context prefilled again (before, `reuse_cache=False`) vs started from the KV
    cache kept from the first turn (after). Turn 1 ends at its budget as if at a closing fence (so the
    episode goes on), then an observation is appended; tokens/s over both turns.
  * the log-prob pass of training (`agents.train.logprobs.token_logprobs`): the vocabulary projection on
    every position (before, `only=None`) vs only on the sampled positions (after), on multi-turn records
    shaped like real episodes (long prompt, two model turns, an observation), forward + backward.

Prints a table (tokens/s; higher is better) and writes JSON with --out. Default model: SmolLM2-135M
(`r1ci model prepare smollm2`); `--model` takes any local directory. Timings on a shared CPU are noisy:
compare the two columns of one run, not runs.

  python bench/hf_speed.py --threads 1 --batch 8 --new-tokens 64
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agents.backend import GenerationRequest  # noqa: E402
from agents.hf import HFBackend  # noqa: E402
from agents.train.logprobs import collate, token_logprobs  # noqa: E402
from r1ci_env.tokens import TrajectoryBuilder  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model directory (default: the prepared smollm2)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--batch", type=int, default=8, help="rows per generation batch and per log-prob batch")
    p.add_argument("--prompt-tokens", type=int, default=256, help="prompt length")
    p.add_argument("--new-tokens", type=int, default=64, help="the longest turn budget (others: 1/8 .. 1 of it)")
    p.add_argument("--obs-tokens", type=int, default=128, help="observation length in the training records")
    p.add_argument("--repeats", type=int, default=2, help="timed repeats per variant (alternating)")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    return p


def time_generation(backend: HFBackend, requests: list[GenerationRequest], drop: bool) -> tuple[float, int]:
    backend.drop_finished = drop
    started = time.perf_counter()
    results = backend.generate(requests)
    return time.perf_counter() - started, sum(len(r.token_ids) for r in results)


def time_two_turns(
    backend: HFBackend, requests: list[GenerationRequest], observation: list[int], reuse: bool
) -> tuple[float, int]:
    backend.reuse_cache = reuse
    started = time.perf_counter()
    first = backend.generate(requests)
    second = backend.generate(
        [
            GenerationRequest(
                r.context + f.token_ids + observation,
                r.max_new_tokens,
                temperature=1.0,
                seed=r.seed,
                cache_key=r.cache_key,
            )
            for r, f in zip(requests, first)
        ]
    )
    for r in requests:
        backend.release(r.cache_key)
    return time.perf_counter() - started, sum(len(r.token_ids) for r in first + second)


def time_logprobs(model, batch: dict, only: bool) -> float:
    started = time.perf_counter()
    logprobs = token_logprobs(
        model,
        batch["input_ids"],
        batch["attention_mask"],
        batch["position_ids"],
        only=batch["loss_mask"] > 0 if only else None,
    )
    (-(logprobs * batch["loss_mask"]).sum()).backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if args.model is None:
        from agents.models import prepare

        args.model = str(prepare("smollm2"))
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    rng = random.Random(0)
    vocab = len(tokenizer)

    def ids(n: int) -> list[int]:
        return [rng.randrange(100, vocab) for _ in range(n)]

    budgets = [max(1, args.new_tokens * (i % 8 + 1) // 8) for i in range(args.batch)]
    requests = [
        GenerationRequest(ids(args.prompt_tokens), b, temperature=1.0, seed=i, stop_at_fence=False)
        for i, b in enumerate(budgets)
    ]
    backend = HFBackend(model, tokenizer)
    turns = HFBackend(model, tokenizer)  # its turns end at their budget as at a closing fence: episodes go on
    turns._stop_reason = lambda token, turn, budget, stop_at_fence: "fence" if len(turn) >= budget else None
    two_turn = [
        GenerationRequest(r.context, r.max_new_tokens, temperature=1.0, seed=r.seed, cache_key=i)
        for i, r in enumerate(requests)
    ]
    observation = ids(args.obs_tokens)
    records = []
    for b in budgets:
        builder = TrajectoryBuilder(ids(args.prompt_tokens))
        builder.add_model(ids(b))
        builder.add_observation(ids(args.obs_tokens))
        builder.add_model(ids(b))
        records.append(builder.record())
    batch = collate(records, tokenizer.pad_token_id or 0)
    model.train()
    time_logprobs(model, batch, only=True)  # warm-up
    gen, two, lp = ({False: [], True: []} for _ in range(3))
    for _ in range(args.repeats):
        for flag in (False, True):
            gen[flag].append(time_generation(backend, requests, drop=flag))
            two[flag].append(time_two_turns(turns, two_turn, observation, reuse=flag))
            lp[flag].append(time_logprobs(model, batch, only=flag))
    sampled = sum(r.num_sampled for r in records)
    rows = {
        "generation tokens/s": {k: sum(n for _, n in v) / sum(s for s, _ in v) for k, v in gen.items()},
        "two-turn generation tokens/s": {k: sum(n for _, n in v) / sum(s for s, _ in v) for k, v in two.items()},
        "log-prob fwd+bwd sampled tokens/s": {k: len(v) * sampled / sum(v) for k, v in lp.items()},
    }
    print(
        f"# HF path speed: {args.model} ({args.threads} thread(s), batch {args.batch}, prompt {args.prompt_tokens}, "
        f"turn budgets {min(budgets)}..{max(budgets)})\n"
    )
    print("| measure | before | after | after / before |\n|---|---|---|---|")
    for name, value in rows.items():
        print(f"| {name} | {value[False]:.1f} | {value[True]:.1f} | {value[True] / value[False]:.2f} |")
    result = {"args": vars(args), **{k: {"before": v[False], "after": v[True]} for k, v in rows.items()}}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
