"""The engine-neutral episode driver (`r1ci_env.integrations.episode.play_episode`) with a scripted generate
call that behaves like an engine with stop strings: a stop at an opening fence is continued, the response
budget ends the episode through the env, the cut at the budget drops only observation tokens, and a row
whose prompt differs from the env's is refused."""

from __future__ import annotations

import asyncio

import pytest
from tiny_qwen import build_tokenizer

from r1ci_env.integrations.episode import EnvSettings, play_episode
from r1ci_env.tokens import OBSERVATION, encode_text, end_of_turn_id

TURN = "Check it.\n```python\nprint(6 * 7)\n```"


def scripted(tokenizer, texts, calls):
    """A generate call over the concatenated ids of `texts`, stopping after any "```" or at max_tokens."""
    script = [i for text in texts for i in encode_text(tokenizer, text)] + [end_of_turn_id(tokenizer)]
    position = [0]

    async def generate(context, max_tokens):
        out = []
        while position[0] < len(script) and len(out) < max_tokens:
            out.append(script[position[0]])
            position[0] += 1
            if out[-1] == end_of_turn_id(tokenizer) or "```" in tokenizer.decode(out):
                break
        calls.append((list(context), list(out)))
        return out, [-1.0] * len(out)

    return generate


def test_turns_continue_past_opening_fences_and_observations_are_masked():
    tokenizer, calls = build_tokenizer(), []
    env = EnvSettings(sandbox="local").make("Game24")
    played = asyncio.run(
        play_episode(
            env, 3, tokenizer, scripted(tokenizer, [TURN, "<<<1+2+3+18 = 24>>>"], calls), max_response_tokens=500
        )
    )
    assert played.turns == [TURN, "<<<1+2+3+18 = 24>>>"]
    assert len(calls) == 3  # opening fence, closing fence, answer
    record = played.record
    assert [kind for kind, _, _ in record.spans] == ["model", OBSERVATION, "model"]
    for kind, start, end in record.spans:
        assert set(record.loss_mask[start:end]) == {0 if kind == OBSERVATION else 1}
    assert tokenizer.decode(record.segments(OBSERVATION)[0]) == "\nCode Execution Results:\n42\n"
    assert calls[2][0] == record.input_ids[: record.spans[2][1]]  # the answer turn saw everything before it


def test_budget_ends_the_episode_and_the_cut_drops_only_observation_tokens():
    tokenizer, calls = build_tokenizer(), []
    turn_ids = len(encode_text(tokenizer, TURN))
    env = EnvSettings(sandbox="local").make("Game24")
    played = asyncio.run(
        play_episode(env, 3, tokenizer, scripted(tokenizer, [TURN, TURN], calls), max_response_tokens=turn_ids + 2)
    )
    record = played.record
    assert played.turns == [TURN, ""] and record.stop_reason == "context" and record.reward == 0.0
    prompt_ids, response, mask, logprobs = played.split(turn_ids + 2)
    assert len(response) == turn_ids + 2 and mask == [1] * turn_ids + [0, 0]
    assert logprobs == [-1.0] * turn_ids + [0.0, 0.0] and prompt_ids == record.input_ids[: record.prompt_length]


def test_a_row_with_another_prompt_is_refused():
    tokenizer = build_tokenizer()
    env = EnvSettings(sandbox="local").make("Game24")
    with pytest.raises(ValueError, match="re-export"):
        asyncio.run(
            play_episode(
                env,
                3,
                tokenizer,
                scripted(tokenizer, [TURN], []),
                max_response_tokens=50,
                expected_prompt="a prompt from another r1ci version",
            )
        )
