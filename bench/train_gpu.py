"""Trainer throughput on one GPU: a Qwen2.5-0.5B-shaped model with random weights (no download).

Reports
  * generation tokens/s of the HF rollout backend (`agents.hf.HFBackend`: batched sampling with KV
    cache, per-row stop rules) at a few batch sizes;
  * one GRPO optimizer step on synthetic multi-turn records (prompt, model turn, observation, model
    turn; loss on sampled tokens only) with the time split into collate / forward (chunked
    log-probs) / loss / backward / all-reduce+clip / optimizer, and training tokens/s;
  * the same GRPO configuration run by TRL's `GRPOTrainer` (single-turn: TRL has no ```python
    interpreter loop; imported only if trl is installed), and the ratio of our step time to TRL's.

Writes a JSON report (--out) and prints a table. `--config tiny` runs the same code on CPU with the
test model (a smoke test; the numbers mean nothing there).

NOT RUN in the session that wrote it: no GPU was lent and trl is not installed. Expected use:
  python bench/train_gpu.py --device cuda --dtype bfloat16 --out runs/train_gpu.json
  python bench/train_gpu.py --tokenizer /path/to/Qwen2.5-0.5B-Instruct   (real vocabulary; else a padded test tokenizer)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from agents.hf import GenerationRequest, HFBackend  # noqa: E402
from agents.train.checkpoint import add_lora, trainable_parameters  # noqa: E402
from agents.train.logprobs import collate, micro_batches, token_logprobs, unwrap_model  # noqa: E402
from agents.train.losses import clipped_policy_loss, group_advantages  # noqa: E402
from r1ci_env.tokens import EpisodeRecord, TrajectoryBuilder  # noqa: E402

QWEN25_05B = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    vocab_size=151936,
    tie_word_embeddings=True,
    max_position_embeddings=32768,
    rope_theta=1000000.0,
    rms_norm_eps=1e-6,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", choices=["qwen2.5-0.5b", "tiny"], default="qwen2.5-0.5b", help="model shape")
    p.add_argument(
        "--tokenizer",
        default=None,
        help="a local Qwen tokenizer directory (default: the test tokenizer, padded to the vocab)",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cuda or cpu")
    p.add_argument("--dtype", default="bfloat16", help="model dtype")
    p.add_argument("--gen-batch-sizes", default="8,32,128", help="comma-separated generation batch sizes")
    p.add_argument("--prompt-tokens", type=int, default=512, help="prompt length")
    p.add_argument("--new-tokens", type=int, default=512, help="tokens sampled per model turn")
    p.add_argument("--obs-tokens", type=int, default=256, help="observation tokens between the two model turns")
    p.add_argument("--questions", type=int, default=8, help="questions per GRPO step")
    p.add_argument("--group-size", type=int, default=8, help="G")
    p.add_argument("--micro-batch-tokens", type=int, default=32768, help="padded tokens per forward/backward")
    p.add_argument("--lora", action="store_true", help="LoRA r=32 instead of full fine-tuning")
    p.add_argument("--steps", type=int, default=3, help="timed steps (after one warm-up)")
    p.add_argument("--skip-trl", action="store_true", help="do not run the TRL comparison")
    p.add_argument("--out", default=None, help="write the JSON report here")
    return p


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def make_tokenizer(args, vocab_size: int):
    if args.tokenizer:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(args.tokenizer)
    import tiny_qwen

    tokenizer = tiny_qwen.build_tokenizer()
    if len(tokenizer) < vocab_size:  # every id the random model samples must decode
        tokenizer.add_tokens([f"<x{i}>" for i in range(vocab_size - len(tokenizer))])
    return tokenizer


def bench_generation(backend, args, vocab: int) -> list[dict]:
    rows = []
    rng = random.Random(0)
    for batch in [int(b) for b in args.gen_batch_sizes.split(",")]:
        requests = [
            GenerationRequest(
                [rng.randrange(300, vocab) for _ in range(args.prompt_tokens)],
                args.new_tokens,
                temperature=1.0,
                seed=i,
                stop_at_fence=False,
            )
            for i in range(batch)
        ]
        backend.generate(requests[:2])  # warm-up
        sync(args.device)
        started = time.perf_counter()
        results = backend.generate(requests)
        sync(args.device)
        seconds = time.perf_counter() - started
        tokens = sum(len(r.token_ids) for r in results)
        rows.append({"batch": batch, "new_tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds})
    return rows


def synthetic_records(args, vocab: int) -> list[EpisodeRecord]:
    rng = random.Random(1)
    records = []
    for i in range(args.questions * args.group_size):
        builder = TrajectoryBuilder([rng.randrange(300, vocab) for _ in range(args.prompt_tokens)])
        n1 = rng.randrange(args.new_tokens // 2, args.new_tokens + 1)
        builder.add_model([rng.randrange(300, vocab) for _ in range(n1)], [-1.0] * n1)
        builder.add_observation([rng.randrange(300, vocab) for _ in range(args.obs_tokens)])
        n2 = rng.randrange(args.new_tokens // 4, args.new_tokens // 2 + 1)
        builder.add_model([rng.randrange(300, vocab) for _ in range(n2)], [-1.0] * n2)
        records.append(builder.record(reward=float(rng.random() < 0.5)))
    return records


def bench_train_step(model, records, args) -> dict:
    """One optimizer step of our GRPO loss with a per-phase timing breakdown."""
    params = trainable_parameters(model)
    optimizer = torch.optim.AdamW(params, lr=1e-6)
    advantages, _ = group_advantages([r.reward for r in records], args.group_size)
    normalizer = sum(r.num_sampled for r in records)
    timings = []
    for step in range(args.steps + 1):
        phases = dict.fromkeys(["collate", "forward", "loss", "backward", "clip", "optimizer"], 0.0)
        sync(args.device)
        started = time.perf_counter()
        lengths = [len(r) for r in records]
        for index in micro_batches(range(len(records)), lengths, args.micro_batch_tokens):
            t0 = time.perf_counter()
            batch = collate([records[i] for i in index], 0, args.device)
            sync(args.device)
            t1 = time.perf_counter()
            logprobs = token_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["position_ids"])
            sync(args.device)
            t2 = time.perf_counter()
            adv = torch.tensor([advantages[i] for i in index], device=logprobs.device)
            loss, _ = clipped_policy_loss(logprobs, logprobs.detach(), adv, batch["loss_mask"], normalizer=normalizer)
            sync(args.device)
            t3 = time.perf_counter()
            loss.backward()
            sync(args.device)
            t4 = time.perf_counter()
            for key, value in zip(["collate", "forward", "loss", "backward"], [t1 - t0, t2 - t1, t3 - t2, t4 - t3]):
                phases[key] += value
        t5 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        sync(args.device)
        t6 = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        sync(args.device)
        phases["clip"], phases["optimizer"] = t6 - t5, time.perf_counter() - t6
        phases["total"] = time.perf_counter() - started
        if step:  # step 0 is the warm-up
            timings.append(phases)
    mean = {k: sum(t[k] for t in timings) / len(timings) for k in timings[0]}
    tokens = sum(len(r) for r in records)
    return {
        "phases_s": mean,
        "tokens": tokens,
        "train_tokens_per_s": tokens / mean["total"],
        "peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30
        if torch.device(args.device).type == "cuda"
        else None,
    }


def bench_trl(model_dir: str, tokenizer, args) -> dict:
    """TRL's GRPOTrainer on the same model and sizes (single-turn; random 0/1 reward). Seconds per step."""
    try:
        from datasets import Dataset
        from transformers import TrainerCallback
        from trl import GRPOConfig, GRPOTrainer
    except ImportError as exc:
        return {"skipped": f"trl not installed ({exc}); pip install 'trl>=1.16,<1.17' to compare"}

    class Timer(TrainerCallback):
        def __init__(self):
            self.times, self._t = [], None

        def on_step_begin(self, *a, **k):
            sync(args.device)
            self._t = time.perf_counter()

        def on_step_end(self, *a, **k):
            sync(args.device)
            self.times.append(time.perf_counter() - self._t)

    prompt = " ".join(["word"] * args.prompt_tokens)
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": prompt}]}] * (args.questions * (args.steps + 2)))
    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=args.questions * args.group_size,
        num_generations=args.group_size,
        max_completion_length=args.new_tokens,
        learning_rate=1e-6,
        beta=0.0,
        loss_type="dapo",
        temperature=1.0,
        logging_steps=1,
        max_steps=args.steps + 1,
        report_to=[],
        bf16=args.dtype == "bfloat16",
        use_cpu=torch.device(args.device).type == "cpu",
        save_strategy="no",
    )
    timer = Timer()
    trainer = GRPOTrainer(
        model=model_dir,
        reward_funcs=lambda completions, **kw: [float(random.random() < 0.5) for _ in completions],
        args=config,
        train_dataset=data,
        processing_class=tokenizer,
        callbacks=[timer],
    )
    trainer.train()
    steps = timer.times[1:] or timer.times
    return {"seconds_per_step": sum(steps) / len(steps), "steps": len(steps)}


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    from transformers import Qwen2Config, Qwen2ForCausalLM

    if args.config == "tiny":
        args.prompt_tokens, args.new_tokens, args.obs_tokens = min(args.prompt_tokens, 32), min(args.new_tokens, 16), 8
        args.gen_batch_sizes, args.questions, args.group_size, args.steps = "2,4", 2, 2, 1
        shape = dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=True,
            vocab_size=512,
        )
    else:
        shape = dict(QWEN25_05B)
    tokenizer = make_tokenizer(args, shape["vocab_size"])
    shape["vocab_size"] = max(shape["vocab_size"], len(tokenizer))
    dtype = getattr(torch, args.dtype) if args.device != "cpu" else torch.float32
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(
        Qwen2Config(**shape, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    )
    model = model.to(device=args.device, dtype=dtype)
    report = {
        "config": args.config,
        "device": args.device,
        "dtype": str(dtype),
        "parameters": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    backend = HFBackend(model, tokenizer, max_batch_size=max(int(b) for b in args.gen_batch_sizes.split(",")))
    report["generation"] = bench_generation(backend, args, shape["vocab_size"])
    if args.lora:
        model = add_lora(model)
    model.train()
    report["train_step"] = bench_train_step(model, synthetic_records(args, shape["vocab_size"]), args)
    # our GRPO step at the TRL-comparable size: B*G single-turn generations + one update
    gen = next(
        (g for g in report["generation"] if g["batch"] >= args.questions * args.group_size), report["generation"][-1]
    )
    ours = (
        gen["seconds"] * (args.questions * args.group_size / gen["batch"]) + report["train_step"]["phases_s"]["total"]
    )
    report["ours_seconds_per_step_estimate"] = ours
    if not args.skip_trl:
        with tempfile.TemporaryDirectory() as directory:
            unwrap_model(model).save_pretrained(directory)
            tokenizer.save_pretrained(directory)
            report["trl"] = bench_trl(directory, tokenizer, args)
        if "seconds_per_step" in report["trl"]:
            report["ratio_ours_over_trl"] = ours / report["trl"]["seconds_per_step"]
    print(json.dumps(report, indent=2, default=str))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    return report


if __name__ == "__main__":
    main()
