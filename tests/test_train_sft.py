"""train_sft.py end to end on CPU: oracle transcripts of the toy task (agents.OracleAgent through
agents.run_episode, the `local` sandbox), written as `r1ci bench`-style JSONL (Episode.to_dict()),
recorded as turns, trained on with the loss only on the model's own tokens; the trained tiny model
then plays the environment and gets episodes right."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import tiny_qwen as q  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SEEDS = range(6)


@pytest.fixture(scope="module")
def oracle_jsonl(tmp_path_factory) -> Path:
    """Six oracle episodes of the toy task as bench-style JSONL lines, plus two failed ones."""
    from agents import NullAgent, OracleAgent, run_episode

    path = tmp_path_factory.mktemp("oracle") / "oracle.jsonl"
    lines = []
    for agent, seeds in ((OracleAgent(), SEEDS), (NullAgent(), range(2))):
        for seed in seeds:
            env = q.make_toy_env(max_code_calls=2)
            lines.append(json.dumps(run_episode(env, agent, seed).to_dict()))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("tiny")
    tokenizer = q.toy_tokenizer()
    q.build_model(tokenizer, seed=1).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def sft_args(data: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--data",
        str(data),
        "--model",
        str(model),
        "--env-factory",
        "tiny_qwen:make_toy_env",
        "--sandbox",
        "local",
        "--max-code-calls",
        "2",
        "--batch-size",
        "6",
        "--lr",
        "3e-3",
        "--threads",
        "1",
        "--log-every",
        "50",
        "--output-dir",
        str(out),
        *extra,
    ]


def test_sft_reads_recorded_turns_without_a_sandbox_and_rejects_transcript_only_lines(
    oracle_jsonl, tmp_path, monkeypatch
):
    import train_sft

    rows = [json.loads(line) for line in oracle_jsonl.read_text().splitlines()]
    assert [r["reward"] for r in rows] == [1.0] * 6 + [0.0, 0.0]
    turns = rows[0]["turns"]
    assert len(turns) == 2 and turns[0]["model"].endswith("```") and turns[1]["observation"] is None
    assert rows[0]["prompt"] + turns[0]["model"] + turns[0]["observation"] + turns[1]["model"] == rows[0]["transcript"]
    # loading never builds an env (no sandbox): make every env constructor fail
    monkeypatch.setattr("r1ci_env.env.CodeInterpreterEnv.__init__", lambda *a, **k: pytest.fail("env built"))
    episodes, counts = train_sft.load_episodes([oracle_jsonl], min_reward=1.0, max_per_task=1)
    assert counts == {"lines": 8, "low_reward": 2, "capped": 5, "kept": 1}
    tokenizer = q.toy_tokenizer()
    record = train_sft.build_records(episodes, tokenizer)[0]
    assert record.input_ids[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>") and record.loss_mask[-1] == 1
    assert [k for k, _, _ in record.spans] == ["model", "observation", "model"]
    old = tmp_path / "old.jsonl"
    old.write_text(json.dumps({k: v for k, v in rows[0].items() if k not in ("turns", "prompt")}) + "\n")
    with pytest.raises(SystemExit, match=r"old.jsonl:1: .*re-run the benchmark"):
        train_sft.load_episodes([old], min_reward=1.0, max_per_task=0)


def test_sft_drives_masked_loss_near_zero_and_the_model_then_solves_episodes(oracle_jsonl, tiny_dir, tmp_path, capsys):
    import train_sft

    result = train_sft.main(
        sft_args(
            oracle_jsonl,
            tiny_dir,
            tmp_path / "sft",
            "--steps",
            "150",
            "--eval-tasks",
            q.TOY_TASK,
            "--eval-n",
            "6",
            "--eval-seed-base",
            "0",
            "--eval-temperature",
            "0",
            "--max-new-tokens",
            "40",
            "--max-total-tokens",
            "256",
        )
    )
    losses = [row["loss"] for row in result["history"]]
    with capsys.disabled():
        print(
            f"\nSFT masked loss: first {losses[0]:.3f}, step 50 {losses[49]:.4f}, last {losses[-1]:.5f}; "
            f"eval reward on the training seeds (greedy): {result['eval']['eval/reward']:.3f}"
        )
    assert result["records"] == 6
    assert losses[0] > 3.0 and losses[-1] < 0.05
    assert result["eval"]["eval/reward"] > 0  # at least one correct episode in the environment
    assert result["eval"]["eval/code_share"] == 1.0
    assert (tmp_path / "sft" / "final" / "model.safetensors").exists()


def test_sft_lora_resume(oracle_jsonl, tiny_dir, tmp_path):
    import train_sft

    args = sft_args(
        oracle_jsonl,
        tiny_dir,
        tmp_path / "run",
        "--lora",
        "--lora-r",
        "4",
        "--lora-alpha",
        "8",
        "--save-every",
        "1",
        "--merge-lora",
    )
    first = train_sft.main(args + ["--steps", "2"])["history"]
    assert [row["step"] for row in first] == [1, 2]
    assert (tmp_path / "run" / "checkpoints" / "step-2" / "adapter_model.safetensors").exists()
    again = train_sft.main(args + ["--steps", "3", "--resume"])["history"]
    assert [row["step"] for row in again] == [3]
    assert (tmp_path / "run" / "final" / "model.safetensors").exists()  # merged


def test_sft_help_documents_every_flag():
    import train_sft

    for action in train_sft.build_parser()._actions:
        if action.option_strings:
            assert action.help, f"{action.option_strings} has no help"
    with pytest.raises(SystemExit) as exit_info:
        train_sft.main(["--help"])
    assert exit_info.value.code == 0
    help_text = train_sft.build_parser().format_help()
    assert "--min-reward" in help_text and "--max-per-task" in help_text and "re-run the benchmark" in train_sft.__doc__
