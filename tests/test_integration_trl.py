"""TRL 1.16.x (its own venv): GRPOTrainer with r1ci's rollout_func trains 3 steps on CPU on a real r1ci task
(bbh.web_of_lies) through the Docker sandbox, with the tiny Qwen2. What TRL trained on is captured by spies
that call through: env mask exactly 0 on observation tokens and 1 on sampled ones, ids equal r1ci's own
trajectory for the same sampled turns (replayed in-process), the ratio of the policy before each update to
the sampler's log-probs is 1, the loss is finite, rewards come from the env."""

from __future__ import annotations

import pytest
from engine_venvs import run_script

STEPS = 3


@pytest.mark.docker
@pytest.mark.slow
def test_grpo_trainer_with_r1ci_rollout_func(docker_sandbox, tmp_path):
    result = run_script("trl", "trl_grpo.py", str(tmp_path), "bbh.web_of_lies", str(STEPS))
    assert result["prompt_counts"] == [4] * STEPS and len(result["steps"]) == STEPS
    assert result["finite"] and [row["step"] for row in result["log_history"] if "loss" in row] == [1, 2, 3]
    observations = 0
    for step in result["steps"]:
        lo, hi = step["ratio"]
        assert 1 - 1e-4 < lo <= hi < 1 + 1e-4
        rollout = step["rollout"]
        for i, (played, reference) in enumerate(zip(step["played"], step["reference"])):
            prompt_ids, completion_ids = rollout["prompt_ids"][i], rollout["completion_ids"][i]
            mask, logprobs = rollout["env_mask"][i], rollout["logprobs"][i]
            assert prompt_ids + completion_ids == reference["input_ids"]
            assert mask == reference["loss_mask"][len(prompt_ids) :]
            assert rollout["r1ci_reward"][i] == reference["reward"]
            start = played["prompt_length"]
            for kind, s, e in played["spans"]:
                assert set(mask[s - start : e - start]) == ({1} if kind == "model" else {0})
                if kind == "observation":
                    observations += 1
                    assert set(logprobs[s - start : e - start]) == {0.0}
            # what TRL trained on: its padded tensors start with our ids and mask, padding is masked out
            n = len(completion_ids)
            assert step["trained_completion_ids"][i][:n] == completion_ids
            assert step["trained_mask"][i][:n] == mask and not any(step["trained_mask"][i][n:])
            assert step["trained_prompt_ids"][i][-len(prompt_ids) :] == prompt_ids
    assert observations > 0, "some episodes ran code, so observation masking was exercised"
    assert any(any(a != 0 for a in step["advantages"]) for step in result["steps"])
    assert any(loss != 0 for step in result["steps"] for loss in step["losses"])


@pytest.mark.docker
def test_tool_env_protocol_runs_code_and_scores_the_final_text(docker_sandbox):
    result = run_script("trl", "trl_tool_env.py", "Game24")
    for name, case in result.items():
        assert case["prompt_ok"] and case["output"].startswith("\nCode Execution Results:\n"), name
        assert case["after_end"] == "The episode has ended."
    assert result["right"]["reward"] == [1.0] and result["code_in_final"]["reward"] == [1.0]
    assert result["wrong"]["reward"] == [0.0]
