"""Run inside the verl venv: export r1ci rows with `r1ci export verl`'s writer, read them with verl's own
RLHFDataset and collate_fn, and hand the batch to verl's own AgentLoopWorker (configured from verl's
ppo_trainer.yaml with the agent-loop YAML the docs show), whose LLM client is a stand-in generation server
that returns token ids (vLLM cannot run here). The worker registers `R1CIAgentLoop` from the YAML,
instantiates it with hydra, runs it and pads the outputs into verl's batch. Alongside, play the same
scripted turns in-process and assemble r1ci's own trajectory. Prints JSON with both per row.

argv: output dir, then task names (one row each).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import verl
from hydra import compose, initialize_config_dir
from transformers import AutoTokenizer
from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
from verl.protocol import DataProto
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn
from verl.workers.rollout.replica import TokenOutput

from r1ci_env.integrations.episode import EnvSettings
from r1ci_env.integrations.verl_data import build_rows, write_parquet
from r1ci_env.tokens import assemble_turns, encode_text, end_of_turn_id

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from tiny_qwen import save_tiny_model  # noqa: E402

YAML = REPO / "examples" / "integrations" / "verl_agent_loop.yaml"
RESPONSE_LENGTH = 3072


class StandInTokenServer:
    """Stands in for verl's vLLM server manager: `generate(request_id, prompt_ids, sampling_params)` returns
    the next ids of a scripted reply, stopping as vLLM does at a stop string (kept, as with
    include_stop_str_in_output), at the end-of-turn token, or at max_tokens. Log-probs are fixed values.
    Records every call so the test can check each context is the previous context plus what came since."""

    def __init__(self, tokenizer, scripts: dict[str, list[int]]) -> None:
        self.tokenizer, self.scripts = tokenizer, scripts  # prompt text -> the whole reply's ids
        self.cursor: dict[str, tuple[list[int], int]] = {}
        self.calls: dict[str, list[dict]] = {}

    def _script_for(self, prompt_ids: list[int]) -> list[int]:
        text = self.tokenizer.decode(prompt_ids)
        matches = [ids for prompt, ids in self.scripts.items() if prompt in text]
        assert len(matches) == 1, "each episode's prompt selects exactly one script"
        return matches[0]

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs) -> TokenOutput:
        assert sampling_params["include_stop_str_in_output"] is True
        script, position = self.cursor.get(request_id) or (self._script_for(prompt_ids), 0)
        out: list[int] = []
        while position < len(script) and len(out) < sampling_params["max_tokens"]:
            out.append(script[position])
            position += 1
            text = self.tokenizer.decode(out)
            if out[-1] == end_of_turn_id(self.tokenizer) or any(s in text for s in sampling_params["stop"]):
                break
        self.cursor[request_id] = (script, position)
        self.calls.setdefault(request_id, []).append({"context": list(prompt_ids), "ids": out})
        await asyncio.sleep(0)
        return TokenOutput(
            token_ids=out, log_probs=[-0.5 - (i % 7) / 10 for i in range(len(out))], stop_reason="completed"
        )


def scripted_turns(task: str, seed: int) -> tuple[str, list[str], list[str | None], float]:
    """Play the oracle's turns in-process: prompt, turn texts, observations, reward."""
    env = EnvSettings().make(task)
    prompt, _ = env.reset(seed=seed)
    first = f"Let me compute it.\n```python\n{env.task.reference_solution(env.instance)}\n```"
    observation, _, _, _, info = env.step(first)
    final = f"The program printed the answer.\n<<<{info['exec_result']['stdout'].strip()}>>>"
    _, reward, _, _, _ = env.step(final)
    env.close()
    return prompt, [first, final], [observation, None], float(reward)


def unpad(batch, row: int) -> dict:
    """One row of the worker's output batch without padding."""
    prompt_length = batch["prompts"].shape[1]
    attention = batch["attention_mask"][row].bool()
    response_attention = attention[prompt_length:]
    return {
        "prompt_ids": batch["prompts"][row][attention[:prompt_length]].tolist(),
        "response_ids": batch["responses"][row][response_attention].tolist(),
        "response_mask": batch["response_mask"][row][response_attention].tolist(),
        "response_logprobs": batch["rollout_log_probs"][row][response_attention].tolist(),
        "reward_score": batch["rm_scores"][row].sum().item(),
    }


def main() -> None:
    out_dir, tasks = Path(sys.argv[1]), sys.argv[2:]
    model_dir = out_dir / "tiny"
    save_tiny_model(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    rows = [build_rows([task], 1, seed=i, split="train", settings=EnvSettings())[0] for i, task in enumerate(tasks)]
    data_file = write_parquet(rows, out_dir / "train.parquet")

    config_dir = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        cfg = compose(
            config_name="ppo_trainer",
            overrides=[
                f"actor_rollout_ref.model.path={model_dir}",
                "actor_rollout_ref.rollout.name=vllm",
                "actor_rollout_ref.rollout.mode=async",
                "actor_rollout_ref.rollout.calculate_log_probs=true",
                f"actor_rollout_ref.rollout.response_length={RESPONSE_LENGTH}",
                "actor_rollout_ref.rollout.prompt_length=4096",
                "data.max_prompt_length=4096",
                f"actor_rollout_ref.rollout.agent.agent_loop_config_path={YAML}",
            ],
        )
    dataset = RLHFDataset(data_files=[str(data_file)], tokenizer=tokenizer, config=cfg.data)
    dataset_rows = [dataset[i] for i in range(len(dataset))]

    references, scripts = [], {}
    eot = end_of_turn_id(tokenizer)
    for row in dataset_rows:
        task, seed = row["extra_info"]["task"], int(row["extra_info"]["seed"])
        prompt, turns, observations, reward = scripted_turns(task, seed)
        record = assemble_turns(tokenizer, prompt, zip(turns, observations), stop_token_id=eot, reward=reward)
        references.append(record.to_dict())
        scripts[prompt] = [i for turn in turns for i in encode_text(tokenizer, turn)] + [eot]

    server = StandInTokenServer(tokenizer, scripts)
    worker = AgentLoopWorker(cfg, llm_client=server)
    output = asyncio.run(worker.generate_sequences(DataProto.from_single_dict(collate_fn(dataset_rows))))
    result = {
        "dataset_len": len(dataset),
        "agent_names": [str(r["agent_name"]) for r in dataset_rows],
        "response_width": output.batch["responses"].shape[1],
        "rows": [
            {"output": unpad(output.batch, i), "r1ci": output.non_tensor_batch["r1ci"][i], "reference": reference}
            for i, reference in enumerate(references)
        ],
        "calls": list(server.calls.values()),
    }
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
