"""Run inside the verl venv: export r1ci rows with `r1ci export verl`'s writer, read them with verl's own
RLHFDataset, register `R1CIAgentLoop` from the YAML the docs show (the way verl's AgentLoopWorker does),
instantiate it with hydra as verl does, and play every row against a stand-in generation server that
returns token ids (vLLM cannot run here). Alongside, play the same scripted turns in-process and assemble
r1ci's own trajectory. Prints JSON with both per row.

argv: output dir, then task names (one row each).
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import hydra
import verl
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from transformers import AutoTokenizer
from verl.experimental.agent_loop.agent_loop import DictConfigWrap, ToolListWrap
from verl.utils.dataset.rl_dataset import RLHFDataset
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
        return TokenOutput(token_ids=out, log_probs=[-0.5 - (i % 7) / 10 for i in range(len(out))],
                           stop_reason="completed")


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


async def play_rows(registry, cfg, tokenizer, server, rows) -> list:
    outputs = []
    for row in rows:
        kwargs = {k: v for k, v in row.items() if k != "dummy_tensor"}
        loop_cfg = registry[kwargs.pop("agent_name")]
        agent_loop = hydra.utils.instantiate(
            config=loop_cfg, trainer_config=DictConfigWrap(config=cfg), server_manager=server,
            tokenizer=tokenizer, processor=None, hf_model_type=None, dataset_cls=RLHFDataset,
            data_config=DictConfigWrap(cfg.data), tools=ToolListWrap([]))
        outputs.append((type(agent_loop).__name__, await agent_loop.run({"temperature": 1.0}, **kwargs)))
    return outputs


def main() -> None:
    out_dir, tasks = Path(sys.argv[1]), sys.argv[2:]
    model_dir = out_dir / "tiny"
    save_tiny_model(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    rows = [build_rows([task], 1, seed=i, split="train", settings=EnvSettings())[0] for i, task in enumerate(tasks)]
    data_file = write_parquet(rows, out_dir / "train.parquet")

    config_dir = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        cfg = compose(config_name="ppo_trainer", overrides=[
            f"actor_rollout_ref.rollout.response_length={RESPONSE_LENGTH}",
            f"actor_rollout_ref.rollout.agent.agent_loop_config_path={YAML}",
            "data.max_prompt_length=4096"])
    dataset = RLHFDataset(data_files=[str(data_file)], tokenizer=tokenizer, config=cfg.data)
    dataset_rows = [dataset[i] for i in range(len(dataset))]
    # What verl's AgentLoopWorker does with agent_loop_config_path: a registry entry per YAML item.
    registry = {item.name: item for item in OmegaConf.load(cfg.actor_rollout_ref.rollout.agent.agent_loop_config_path)}

    references, scripts = [], {}
    eot = end_of_turn_id(tokenizer)
    for row in dataset_rows:
        task, seed = row["extra_info"]["task"], int(row["extra_info"]["seed"])
        prompt, turns, observations, reward = scripted_turns(task, seed)
        record = assemble_turns(tokenizer, prompt, zip(turns, observations), stop_token_id=eot, reward=reward)
        references.append(record.to_dict())
        scripts[prompt] = [i for turn in turns for i in encode_text(tokenizer, turn)] + [eot]

    server = StandInTokenServer(tokenizer, scripts)
    played = asyncio.run(play_rows(registry, cfg, tokenizer, server, dataset_rows))
    result = {"rows": [], "dataset_len": len(dataset), "agent_names": [str(r["agent_name"]) for r in dataset_rows]}
    for (loop_class, output), reference in zip(played, references):
        result["rows"].append({"loop_class": loop_class, "output": output.model_dump(exclude={"metrics"}),
                               "reference": reference})
    result["calls"] = list(server.calls.values())
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
