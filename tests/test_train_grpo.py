"""train_grpo.py end to end on CPU with the tiny Qwen2 and the toy task of tests/tiny_qwen.py.

The learning test (design in tiny_qwen.py, "A toy task"): every prompt asks for a secret colour that
only a program's output shows (1 in 32 by guessing). A short SFT warm start (a fixture, below) teaches
the format: phase A on code-using transcripts only (the model learns to write the program and to
copy the printed colour), phase B (lower lr) on a 10/90 mix of those and "give up at once" episodes (the reply
is just <|im_end|>), so the warm-started policy rarely uses code and starts near reward 0. GRPO must
then discover that code pays. The same run with the loss mask inverted (loss on prompt and
observation tokens, none on sampled tokens) must not learn: that proves the reward rises through
the sampled tokens' gradient and nothing else.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import tiny_qwen as q  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def warm_model(tmp_path_factory) -> Path:
    """The toy policy after a two-phase SFT warm start, saved as a model directory (~15 s)."""
    from agents.train.losses import sft_gradient
    from r1ci_env.tokens import assemble_turns

    torch.set_num_threads(1)
    tokenizer = q.toy_tokenizer()
    model = q.build_model(tokenizer, seed=0)
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")
    rng = random.Random(0)

    def example(use_code: bool):
        colour = rng.choice(q.TOY_VALUES)
        turns = (
            [(q.TOY_PROGRAM, f"\nCode Execution Results:\n{colour}\n"), (f"<<<{colour}>>>", None)]
            if use_code
            else [("", None)]
        )
        return assemble_turns(tokenizer, q.TOY_QUESTION, turns, stop_token_id=stop)

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for step in range(180):
        share = 1.0 if step < 120 else 0.1  # phase A: code only; phase B: mostly "give up"
        if step == 120:
            optimizer.param_groups[0]["lr"] = 1e-3  # gentler, so phase B keeps the copying skill
        batch = [example(rng.random() < share) for _ in range(16)]
        sft_gradient(model, batch, pad_token_id=tokenizer.pad_token_id, normalizer=sum(r.num_sampled for r in batch))
        optimizer.step()
        optimizer.zero_grad()
    directory = tmp_path_factory.mktemp("toy-warm")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def grpo_args(model: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--model",
        str(model),
        "--tasks",
        q.TOY_TASK,
        "--env-factory",
        "tiny_qwen:make_toy_env",
        "--sandbox",
        "local",
        "--max-code-calls",
        "1",
        "--questions-per-step",
        "8",
        "--group-size",
        "8",
        "--max-new-tokens",
        "12",
        "--max-total-tokens",
        "128",
        "--concurrency",
        "64",
        "--lr",
        "1e-3",
        "--threads",
        "1",
        "--eval-tasks",
        q.TOY_TASK,
        "--eval-n",
        "64",
        "--eval-every",
        "0",
        "--output-dir",
        str(out),
        "--save-every",
        "0",
        *extra,
    ]


def test_grpo_learns_to_use_code_and_inverted_mask_does_not(warm_model, tmp_path, capsys):
    import train_grpo

    runs = {}
    for name, extra in (("normal", []), ("inverted", ["--invert-loss-mask"])):
        result = train_grpo.main(grpo_args(warm_model, tmp_path / name, "--steps", "30", "--seed", "0", *extra))
        curve = [round(row["rollout/reward"], 3) for row in result["history"]]
        runs[name] = (curve, result["eval"]["eval/reward"], result["history"])
    with capsys.disabled():
        for name, (curve, final, _) in runs.items():
            print(
                f"\nGRPO toy reward curve ({name} loss mask): {curve}\n  final eval (T=0.6, 64 episodes): {final:.3f}"
            )
    normal, inverted = runs["normal"], runs["inverted"]
    assert normal[0][0] < 0.15 and inverted[0][0] < 0.15  # the first rollouts (before any update): near 0
    assert sum(normal[0][-5:]) / 5 >= 0.8
    assert normal[1] >= 0.8
    assert max(inverted[0][-10:]) < 0.3 and inverted[1] < 0.3
    first = normal[2][0]
    assert first["loss/ratio_min"] == 1.0 and first["loss/ratio_max"] == 1.0  # exactly 1 at the first step
    assert first["loss/sampler_logprob_abs_diff"] < 1e-4  # the sampler's log-probs match the trainer's
    last = normal[2][-1]
    assert last["rollout/code_share"] > 0.8 and last["rollout/error_rate"] == 0.0
    metrics = [json.loads(line) for line in (tmp_path / "normal" / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 31 and "eval/reward" in metrics[-1]
    assert (tmp_path / "normal" / "final" / "model.safetensors").exists()


def test_grpo_resume_is_bit_exact_with_lora_kl_and_two_updates_per_batch(warm_model, tmp_path):
    """2 steps + --resume 1 step = 3 steps straight, to the bit (rollouts at concurrency 64 included: the
    tokenizer race made them differ), with LoRA, KL, the potential curriculum and --updates-per-batch 2."""
    from safetensors.torch import load_file

    import train_grpo

    def args(out):
        return grpo_args(
            warm_model,
            out,
            "--questions-per-step",
            "2",
            "--group-size",
            "4",
            "--lora",
            "--lora-r",
            "4",
            "--lora-alpha",
            "8",
            "--kl-coef",
            "0.1",
            "--lr",
            "1e-2",
            "--no-eval",
            "--save-every",
            "1",
            "--curriculum",
            "potential",
            "--loss-aggregation",
            "sequence",
            "--updates-per-batch",
            "2",
        )

    first = train_grpo.main(args(tmp_path / "run") + ["--steps", "2"])["history"]
    assert [row["step"] for row in first] == [1, 2]
    assert first[0]["loss/kl"] == 0.0  # fresh LoRA: the policy equals the reference at the first step
    for key in (
        "rollout/reward",
        "rollout/code_share",
        "rollout/calls_per_episode",
        "rollout/error_rate",
        "rollout/timeout_rate",
        "rollout/mean_observation_tokens",
        "groups/zero_variance",
        "groups/skipped_steps",
        "loss/clip_low_frac",
        "loss/clip_high_frac",
        "loss/kl",
        "loss/entropy",
        "loss/updates",
        "time/rollout_s",
        "time/generate_s",
        "time/env_s_per_episode",
        "time/train_s",
        "time/gen_tokens_per_s",
        "time/train_tokens_per_s",
    ):
        assert key in first[0], key
    assert 0 < first[0]["time/generate_s"] <= first[0]["time/rollout_s"]
    assert (tmp_path / "run" / "checkpoints" / "step-2" / "adapter_model.safetensors").exists()
    resumed = train_grpo.main(args(tmp_path / "run") + ["--steps", "3", "--resume"])["history"]
    straight = train_grpo.main(args(tmp_path / "straight") + ["--steps", "3"])["history"]
    assert [row["step"] for row in resumed] == [3]
    assert any(row["loss/updates"] == 2 for row in straight)  # the two-update path ran
    for key in ("rollout/reward", "loss/loss", "loss/kl", "rollout/mean_episode_tokens"):
        assert resumed[0][key] == straight[2][key], key
    a = load_file(tmp_path / "run" / "final" / "adapter_model.safetensors")
    b = load_file(tmp_path / "straight" / "final" / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_step_without_reward_variance_says_so_and_is_counted(tmp_path, capsys):
    """Fix 5: one-token turns can never answer (no `<<<x>>>` in one token), so every group is flat: no update,
    a loud line, and `groups/skipped_steps` counts it."""
    import train_grpo

    tokenizer = q.toy_tokenizer()
    model_dir = tmp_path / "tiny"
    q.build_model(tokenizer, seed=3).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    history = train_grpo.main(
        grpo_args(
            model_dir,
            tmp_path / "run",
            "--questions-per-step",
            "2",
            "--group-size",
            "2",
            "--max-new-tokens",
            "1",
            "--no-eval",
            "--steps",
            "2",
        )
    )["history"]
    assert [row["groups/skipped_steps"] for row in history] == [1, 2]
    assert all(row["loss/updates"] == 0 and row["groups/zero_variance_frac"] == 1.0 for row in history)
    assert capsys.readouterr().out.count("NO UPDATE: every group has zero reward variance") == 2


def test_grpo_help_documents_every_flag():
    import train_grpo

    help_text = train_grpo.build_parser().format_help()

    for action in train_grpo.build_parser()._actions:
        if action.option_strings and action.help != train_grpo.argparse.SUPPRESS:
            assert action.help, f"{action.option_strings} has no help"
    for flag in (
        "--model",
        "--group-size",
        "--eps-low",
        "--eps-high",
        "--adv-scale",
        "--loss-aggregation",
        "--kl-coef",
        "--lora",
        "--curriculum",
        "--backend",
        "--resume",
        "--eval-temperature",
        "--max-code-calls",
        "--max-observation-chars",
        "--micro-batch-tokens",
        "--updates-per-batch",
    ):
        assert flag in help_text
