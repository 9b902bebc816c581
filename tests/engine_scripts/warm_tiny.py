"""The tiny Qwen2 of tests/tiny_qwen.py, warm-started to play r1ci episodes of a Yes/No task: its code block
and its two answers are single tokens, and 100 SFT steps on r1ci-format episodes teach the format (half run
the program first; the answer is Yes or No at random), so sampled episodes both run code and earn rewards
that differ within a group. Used by the TRL integration test and bench/trl_rollout_step.py."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import torch

from r1ci_env.integrations.episode import EnvSettings
from r1ci_env.tokens import assemble_turns, end_of_turn_id

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tiny_qwen  # noqa: E402

CODE = "```python\nprint(sum(range(10)))\n```"
ANSWERS = ["<<<Yes>>>", "<<<No>>>"]


def warm_start(directory: Path, task: str) -> Path:
    """Save the warm-started model and tokenizer for `task` into `directory`; returns it."""
    torch.manual_seed(0)
    tokenizer = tiny_qwen.build_tokenizer(extra_tokens=[CODE, *ANSWERS])
    model = tiny_qwen.build_model(tokenizer, seed=0)
    eot = end_of_turn_id(tokenizer)
    env = EnvSettings().make(task)
    prompts = [env.reset(seed=s)[0] for s in range(8)]
    rng = random.Random(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(100):
        batch = []
        for _ in range(8):
            answer = rng.choice(ANSWERS)
            turns = (
                [(CODE, "\nCode Execution Results:\n45\n"), (answer, None)] if rng.random() < 0.5 else [(answer, None)]
            )
            batch.append(assemble_turns(tokenizer, rng.choice(prompts), turns, stop_token_id=eot))
        loss = 0.0
        for record in batch:
            ids = torch.tensor([record.input_ids])
            logits = model(input_ids=ids).logits[0, :-1]
            mask = torch.tensor(record.loss_mask[1:], dtype=torch.float)
            nll = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="none")
            loss = loss + (nll * mask).sum() / mask.sum() / len(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
