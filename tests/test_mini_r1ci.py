"""bench/mini_r1ci.py on a tiny budget: the whole pipeline (oracle transcripts, base, SFT, GRPO masked and
unmasked, evaluation of every stage, JSON / table / plot) with the tiny random Qwen2 of tests/tiny_qwen.py
on real tasks (local sandbox), a few steps each, so the script cannot rot."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("matplotlib")

import tiny_qwen as q

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def load_script():
    spec = importlib.util.spec_from_file_location("mini_r1ci", REPO / "bench" / "mini_r1ci.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mini_r1ci"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mini():
    return load_script()


def test_plan_grows_with_the_budget_fits_it_and_shrinks_on_a_slower_machine(mini):
    small, large = mini.plan_for_budget(30), mini.plan_for_budget(60)
    assert small.eval_n < large.eval_n and small.grpo_steps < large.grpo_steps and small.sft_steps < large.sft_steps
    for minutes, plan in ((30, small), (60, large)):
        assert plan.estimated_seconds(len(mini.TRAIN_TASKS), len(mini.UNSEEN_TASKS)) <= minutes * 60
    slow = mini.plan_for_budget(60)
    slow.fit_training(2000, speed=1.0)
    fast_steps = (slow.sft_steps, slow.grpo_steps)
    slow.fit_training(2000, speed=2.0)
    assert slow.sft_steps < fast_steps[0] and slow.grpo_steps < fast_steps[1]


def test_pass_at_1_and_its_standard_error(mini):
    assert mini.pass_at_1([1, 0, 1, 0]) == (0.5, 0.25)
    assert mini.pass_at_1([1, 1]) == (1.0, 0.0) and mini.pass_at_1([]) == (0.0, 0.0)


def test_compare_flags_only_differences_beyond_sampling_noise(mini, tmp_path, capsys):
    def run(held: list[int], unseen: list[int]) -> dict:
        groups = {"held_out": held, "unseen": unseen}
        metrics = {g: dict(zip(("pass@1", "se"), mini.pass_at_1(r))) for g, r in groups.items()}
        return {"stages": {"sft": {"eval": {"groups": metrics}}}}

    for name, rewards in (("a", [1] * 15 + [0] * 5), ("b", [1] * 13 + [0] * 7), ("c", [1] * 2 + [0] * 18)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(run(rewards, [0] * 20)))
    mini.main(["--compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert "| SFT | 75.0 ± 9.7 | 65.0 ± 10.7 | 0.0 ± 0.0 | 0.0 ± 0.0 | yes |" in capsys.readouterr().out
    mini.main(["--compare", str(tmp_path / "a"), str(tmp_path / "c")])
    assert capsys.readouterr().out.rstrip().endswith("| NO |")
    with pytest.raises(SystemExit, match="mini_r1ci: --compare needs two run directories"):
        mini.main(["--compare", str(tmp_path / "a"), str(tmp_path / "missing")])


def test_tiny_budget_run_writes_every_stage(mini, tmp_path):
    torch.set_num_threads(1)
    model = q.save_tiny_model(tmp_path / "tiny")
    out = tmp_path / "run"
    results = mini.main(
        [
            "--model",
            str(model),
            "--out",
            str(out),
            "--sandbox",
            "local",
            "--budget-minutes",
            "1",
            "--teacher-n",
            "3",
            "--eval-n",
            "2",
            "--unseen-n",
            "1",
            "--sft-steps",
            "2",
            "--sft-batch",
            "4",
            "--grpo-steps",
            "1",
            "--questions-per-step",
            "2",
            "--group-size",
            "2",
            "--max-new-tokens",
            "12",
            "--max-total-tokens",
            "640",
            "--concurrency",
            "4",
            "--lora-r",
            "4",
            "--threads",
            "1",
            "--train-tasks",
            "NumberMultiply,bbh.boolean_expressions",
            "--unseen-tasks",
            "Letters",
        ]
    )

    # The oracle transcripts: SFT's data, every one solved, with its turns recorded.
    lines = [json.loads(line) for line in (out / "teacher.jsonl").read_text().splitlines()]
    assert len(lines) == 6 and results["teacher_solved"] == {"NumberMultiply": 3, "bbh.boolean_expressions": 3}
    assert all(line["turns"][0]["observation"] and "```python" in line["turns"][0]["model"] for line in lines)

    assert list(results["stages"]) == ["base", "sft", "grpo", "grpo_unmasked"]
    for name, stage in results["stages"].items():
        groups = stage["eval"]["groups"]
        assert groups["held_out"]["episodes"] == 4 and groups["unseen"]["episodes"] == 1, name
        assert groups["all"]["code_calls"] == groups["held_out"]["code_calls"] + groups["unseen"]["code_calls"]
        assert set(stage["eval"]["tasks"]) == {"NumberMultiply", "bbh.boolean_expressions", "Letters"}
        assert groups["held_out"]["model_tokens_per_episode"] > 0
    assert results["stages"]["sft"]["train"]["records"] == 6 and len(results["stages"]["sft"]["train"]["loss"]) == 2
    # Both GRPO runs start from the SFT adapter and play the same first step (same questions, same seeds).
    masked, unmasked = results["stages"]["grpo"]["train"], results["stages"]["grpo_unmasked"]["train"]
    assert masked["rollout/reward"] == unmasked["rollout/reward"] and len(masked["loss/tokens"]) == 1
    for name in ("sft", "grpo", "grpo_unmasked"):
        assert (out / name / "final").is_dir()
    for name in results["stages"]:
        played = [json.loads(line) for line in (out / f"eval_{name}.jsonl").read_text().splitlines()]
        assert sorted((e["task"], e["seed"]) for e in played) == sorted(
            [(t, mini.EVAL_SEED_BASE + i) for t in ("NumberMultiply", "bbh.boolean_expressions") for i in range(2)]
            + [("Letters", mini.EVAL_SEED_BASE)]
        )

    saved = json.loads((out / "results.json").read_text())
    assert "--grpo-steps 1 " in saved["rerun_flags"] and saved["speed_factor"] > 0
    assert saved["plan"]["grpo_steps"] == 1 and saved["seed"] == 0
    assert saved["stages"].keys() == results["stages"].keys()
    table = (out / "results.md").read_text()
    assert "GRPO (obs. NOT masked)" in table and "| NumberMultiply |" in table
    assert (out / "results.png").stat().st_size > 1000


def test_unknown_task_is_a_one_line_error(mini, tmp_path):
    with pytest.raises(SystemExit, match="mini_r1ci: .*NoSuchTask"):
        mini.main(["--model", str(tmp_path), "--out", str(tmp_path / "x"), "--train-tasks", "NoSuchTask"])
    assert not (tmp_path / "x").exists()


def test_no_mask_observations_adds_exactly_the_observation_spans_to_the_loss():
    sys.path.insert(0, str(REPO))
    import train_grpo
    from r1ci_env.tokens import OBSERVATION, assemble_turns

    tokenizer = q.build_tokenizer()
    turns = [("```python\nprint(12 + 30)\n```", "\nCode Execution Results:\n42\n"), ("<<<42>>>", None)]
    record = assemble_turns(tokenizer, "What is 12 + 30?", turns, stop_token_id=tokenizer.eos_token_id)
    unmasked = train_grpo.unmask_observations(record)
    observed = {i for kind, start, end in record.spans if kind == OBSERVATION for i in range(start, end)}
    assert observed and unmasked.num_sampled == record.num_sampled + len(observed)
    assert all(unmasked.loss_mask[i] == (1 if i in observed else record.loss_mask[i]) for i in range(len(record)))
    assert unmasked.input_ids == record.input_ids and record.loss_mask != unmasked.loss_mask  # the original is kept
