"""Run inside the trl venv: TRL GRPOTrainer trains a few steps on CPU with r1ci's rollout_func on a real r1ci
task through the Docker sandbox, with the warm-started tiny Qwen2 of warm_tiny.py (episodes both run code
and end with an answer; on a Yes/No task the sampled answers differ within a group, so rewards and
advantages do).
Spies (wrappers that record and call through) capture what TRL trained on. Prints JSON.

argv: output dir, task, steps.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from r1ci_env.integrations.episode import EnvSettings
from r1ci_env.integrations.trl import R1CIRollout, make_dataset, r1ci_reward_func
from r1ci_env.tokens import TrajectoryBuilder, encode_observation, encode_prompt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from warm_tiny import warm_start  # noqa: E402


def main() -> None:
    out, task, steps = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(1)
    model_dir = warm_start(out / "model", task)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    settings = EnvSettings(max_code_calls=2)
    dataset = make_dataset([task], 8, seed=0, settings=settings)
    rollout = R1CIRollout(dataset, settings)
    args = GRPOConfig(
        output_dir=str(out / "run"),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=96,
        max_steps=steps,
        learning_rate=1e-3,
        beta=0.0,
        use_cpu=True,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        temperature=1.0,
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[r1ci_reward_func],
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        rollout_func=rollout,
    )

    record = {"steps": [], "prompt_counts": []}
    original_rollout, original_score, original_loss = (
        rollout.__call__,
        trainer._generate_and_score_completions,
        trainer._compute_loss,
    )

    def rollout_spy(prompts, trainer_):
        result = original_rollout(prompts, trainer_)
        record["prompt_counts"].append(len(prompts))
        record["steps"].append(
            {
                "rollout": result,
                "played": [
                    {
                        "turns": p.turns,
                        "task": p.info["task"],
                        "seed": p.record.meta["seed"],
                        "spans": p.record.spans,
                        "prompt_length": p.record.prompt_length,
                    }
                    for p in rollout.last_played
                ],
            }
        )
        return result

    def score_spy(inputs):
        output = original_score(inputs)
        step = record["steps"][-1]
        step["trained_completion_ids"] = output["completion_ids"].tolist()
        step["trained_prompt_ids"] = output["prompt_ids"].tolist()
        step["trained_mask"] = (output["completion_mask"] * output["tool_mask"]).tolist()
        step["advantages"] = output["advantages"].tolist()
        return output

    def loss_spy(model_, inputs):
        step = record["steps"][-1]
        if "ratio" not in step:  # the policy before this step's update vs the sampler's log-probs
            ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], dim=1)
            attention = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], dim=1)
            with torch.no_grad():
                logps, _, _ = trainer._get_per_token_logps_and_entropies(
                    model_, ids, attention, inputs["completion_ids"].size(1)
                )
            mask = (inputs["completion_mask"] * inputs["tool_mask"]).bool()
            ratio = torch.exp(logps - inputs["sampling_per_token_logps"])[mask]
            step["ratio"] = [ratio.min().item(), ratio.max().item()]
        loss = original_loss(model_, inputs)
        step.setdefault("losses", []).append(loss.item())
        return loss

    trainer.rollout_func = rollout_spy
    trainer._generate_and_score_completions = score_spy
    trainer._compute_loss = loss_spy
    trainer.train()

    # r1ci's own trajectory for the same sampled turns: replay each episode's sampled text in-process and
    # assemble prompt ids + sampled ids + observation ids with r1ci_env.tokens.
    for step in record["steps"]:
        step["reference"] = []
        for index, played in enumerate(step["played"]):
            env = settings.make(played["task"])
            prompt, _ = env.reset(seed=played["seed"])
            builder = TrajectoryBuilder(encode_prompt(tokenizer, prompt))
            full = step["rollout"]["prompt_ids"][index] + step["rollout"]["completion_ids"][index]
            model_spans = [(s, e) for kind, s, e in played["spans"] if kind == "model"]
            rewards = []
            for (s, e), text in zip(model_spans, played["turns"]):
                builder.add_model(full[s:e])
                observation, reward, terminated, truncated, _ = env.step(text)
                rewards.append(reward)
                if not (terminated or truncated):
                    builder.add_observation(encode_observation(tokenizer, observation))
            env.close()
            step["reference"].append(
                {
                    "input_ids": builder.input_ids,
                    "loss_mask": builder.loss_mask,
                    "reward": float(rewards[-1]) if rewards else 0.0,
                }
            )
    record["log_history"] = [
        {k: v for k, v in row.items() if isinstance(v, (int, float))} for row in trainer.state.log_history
    ]
    record["finite"] = all(math.isfinite(x) for s in record["steps"] for x in s.get("losses", []))
    print(json.dumps(record))


if __name__ == "__main__":
    main()
