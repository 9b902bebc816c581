"""verl 0.9.x (its own venv: verl pins transformers < 5.11): rows written by `r1ci export verl` go through
verl's RLHFDataset and collate_fn into verl's own AgentLoopWorker, configured with the agent-loop YAML the
docs show (examples/integrations/verl_agent_loop.yaml), whose LLM client is a stand-in generation server
returning token ids (vLLM needs a GPU). The padded batch verl builds holds ids, mask, log-probs and reward
equal to r1ci's own trajectory for the same scripted turns; every generate call's context extends the
previous one (token in, token out)."""

from __future__ import annotations

import pytest
from engine_venvs import run_script

TASKS = ["Game24", "NumberMultiply", "bbh.web_of_lies"]


@pytest.mark.docker
@pytest.mark.slow
def test_agent_loop_from_yaml_matches_r1ci_trajectory(docker_sandbox, tmp_path):
    result = run_script("verl", "verl_agent_loop.py", str(tmp_path), *TASKS)
    assert result["dataset_len"] == len(TASKS) and result["agent_names"] == ["r1ci"] * len(TASKS)
    assert result["response_width"] == 3072  # rollout.response_length: verl padded our outputs
    for row in result["rows"]:
        out, ref = row["output"], row["reference"]
        start = ref["prompt_length"]
        assert out["prompt_ids"] == ref["input_ids"][:start]
        assert out["response_ids"] == ref["input_ids"][start:]
        assert out["response_mask"] == ref["loss_mask"][start:]
        assert out["reward_score"] == ref["reward"] == 1.0
        assert row["r1ci"]["correct"] is True
        # observation tokens: mask 0 and log-prob 0.0; sampled tokens carry the server's log-probs
        kinds = {i: kind for kind, s, e in ref["spans"] for i in range(s - start, e - start)}
        assert {kinds[i] for i, m in enumerate(out["response_mask"]) if m == 0} == {"observation"}
        assert all(lp == 0.0 for lp, m in zip(out["response_logprobs"], out["response_mask"]) if m == 0)
        assert all(lp <= -0.5 for lp, m in zip(out["response_logprobs"], out["response_mask"]) if m == 1)
        assert 0 < sum(out["response_mask"]) < len(out["response_mask"])
    for calls in result["calls"]:
        # at least: opening fence, closing fence, answer; each context = the last one + what came since
        assert len(calls) >= 3
        for before, after in zip(calls, calls[1:]):
            assert after["context"][: len(before["context"]) + len(before["ids"])] == before["context"] + before["ids"]
