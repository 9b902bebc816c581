"""agents/vllm_backend.py (the one token-in-token-out vLLM backend of the `vllm:` agent and of
`train_grpo.py --backend vllm`) on CPU, against `StandInVLLMEngine`: vLLM cannot run here (no GPU), so a
stand-in implements the part of `vllm.LLM` the backend uses (token-id prompts, stop strings on the new
text, stop token ids, max_tokens, per-request seeds, sampled-token log-probs, finish_reason, the
in-process model's `load_weights`) on top of a transformers model or a scripted next-token rule."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import tiny_qwen as q  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)

from agents import fresh_agent, run_episode  # noqa: E402
from agents.backend import GenerationRequest  # noqa: E402
from agents.vllm_agent import VLLMAgent  # noqa: E402
from agents.vllm_backend import VLLMBackend  # noqa: E402
from r1ci_env.tokens import encode_prompt  # noqa: E402


class _ModelRunner:
    def __init__(self, model) -> None:
        self.model = SimpleNamespace(load_weights=lambda items: model.load_state_dict(dict(items), strict=True))


class StandInVLLMEngine:
    """Stands in for an in-process `vllm.LLM`. `next_logits(ids) -> [V] tensor` gives the next-token logits
    (a transformers model's, or a scripted rule); sampling is seeded per request."""

    def __init__(self, tokenizer, next_logits, model=None) -> None:
        self.tokenizer, self.next_logits = tokenizer, next_logits
        self.calls: list[list[list[int]]] = []
        self.prefix_resets = 0
        worker = SimpleNamespace(model_runner=_ModelRunner(model)) if model is not None else SimpleNamespace()
        self.llm_engine = SimpleNamespace(model_executor=SimpleNamespace(driver_worker=SimpleNamespace(worker=worker)))

    def generate(self, prompts, params, use_tqdm=False):
        self.calls.append([list(p["prompt_token_ids"]) for p in prompts])
        return [self._one(list(p["prompt_token_ids"]), sp) for p, sp in zip(prompts, params)]

    @torch.no_grad()
    def _one(self, ids, sp):
        generator = torch.Generator().manual_seed(sp.seed or 0)
        new, logprobs, finish = [], [], "length"
        while len(new) < sp.max_tokens:
            logp = torch.log_softmax(self.next_logits(ids + new).float() / max(sp.temperature, 1e-6), -1)
            token = int(torch.multinomial(logp.exp(), 1, generator=generator))
            new.append(token)
            logprobs.append({token: SimpleNamespace(logprob=float(logp[token]))})
            if token in sp.stop_token_ids or any(s in self.tokenizer.decode(new) for s in sp.stop):
                finish = "stop"
                break
        return SimpleNamespace(outputs=[SimpleNamespace(token_ids=new, logprobs=logprobs, finish_reason=finish)])

    def reset_prefix_cache(self):
        self.prefix_resets += 1


def scripted(tokenizer, replies: dict[str, str]):
    """A next-token rule that writes `replies[key]` (the first key found in the context's text), one
    token per step from a fixed tokenization, then <|im_end|>."""
    stop = tokenizer.convert_tokens_to_ids("<|im_end|>")

    def next_logits(ids):
        text = tokenizer.decode(ids)
        head = text.rsplit("<|im_start|>assistant\n", 1)[-1]
        key = next(k for k in replies if k in text.split("<|im_start|>assistant\n")[-1] or k == "")
        reply = [int(t) for t in tokenizer(replies[key], add_special_tokens=False)["input_ids"]] + [stop]
        done = (
            len(tokenizer(head, add_special_tokens=False)["input_ids"])
            if key == ""
            else len(tokenizer(head.split(key, 1)[1], add_special_tokens=False)["input_ids"])
        )
        logits = torch.full((len(tokenizer),), -30.0)
        logits[reply[min(done, len(reply) - 1)]] = 30.0
        return logits

    return next_logits


def test_backend_continues_past_an_opening_fence_and_batches_concurrent_episodes():
    tok = q.build_tokenizer()
    first = "Let me check.\n```python\nprint(SECRET)\n```"
    engine = StandInVLLMEngine(tok, scripted(tok, {"Code Execution Results:": "\n<<<{}>>>", "": first}))
    backend = VLLMBackend("stand-in", tok, llm=engine, sampling_params=SimpleNamespace, gather_timeout_s=0.3)
    prompt = encode_prompt(tok, "hello")
    result = backend.generate([GenerationRequest(prompt, 64, seed=1)])[0]
    # vLLM stops at the opening fence ("```"); the backend continues the same row to the closing fence
    assert result.stop_reason == "fence" and tok.decode(result.token_ids) == first
    assert engine.calls[0][0] == prompt and len(engine.calls) == 2 and engine.calls[1][0][: len(prompt)] == prompt
    assert all(lp == pytest.approx(0.0, abs=1e-6) for lp in result.logprobs)  # the sampler's, as returned

    # the vllm agent = HFAgent over the backend: concurrent episodes share engine calls, one message each
    base = VLLMAgent("stand-in", engine=backend, temperature=1.0, max_tokens=64)
    records = {}

    def play(seed):
        agent = fresh_agent(base)
        episode = run_episode(q.make_toy_env(max_code_calls=2), agent, seed)
        records[seed] = (episode, agent.episode_record(episode))

    engine.calls.clear()
    threads = [threading.Thread(target=play, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(e.code_calls == 1 and e.transcript.count("Code Execution Results:") == 1 for e, _ in records.values())
    assert max(len(c) for c in engine.calls) > 1  # batched
    for episode, record in records.values():
        assert record.input_ids[-1] == tok.convert_tokens_to_ids("<|im_end|>") and record.loss_mask[-1] == 1
        assert [k for k, _, _ in record.spans] == ["model", "observation", "model"]
        # token-in-token-out: the second turn's context is exactly the record up to that turn
        second = next(
            c
            for call in engine.calls
            for c in call
            if c[: record.spans[1][2]] == record.input_ids[: record.spans[1][2]] and len(c) >= record.spans[1][2]
        )
        assert second[: record.prompt_length] == record.input_ids[: record.prompt_length]


def test_backend_samples_like_the_model_and_sync_weights_loads_the_trainer_weights():
    tok = q.build_tokenizer()
    served, trained = q.build_model(tok, seed=0), q.build_model(tok, seed=5)
    engine = StandInVLLMEngine(tok, lambda ids: served(torch.tensor([ids])).logits[0, -1], model=served)
    backend = VLLMBackend("stand-in", tok, llm=engine, sampling_params=SimpleNamespace)
    request = GenerationRequest(encode_prompt(tok, "What is 12 + 30?"), 12, seed=3, stop_at_fence=False)
    before = backend.generate([request])[0]
    # the recorded log-probs are the model's at temperature 1 (what the trainer recomputes)
    with torch.no_grad():
        full = torch.log_softmax(served(torch.tensor([request.context + before.token_ids])).logits[0].float(), -1)
    start = len(request.context)
    expected = [float(full[start - 1 + i, t]) for i, t in enumerate(before.token_ids)]
    assert before.logprobs == pytest.approx(expected, abs=1e-5)
    backend.sync_weights(trained)
    assert engine.prefix_resets == 1
    assert all(torch.equal(a, b) for a, b in zip(served.state_dict().values(), trained.state_dict().values()))
    assert backend.generate([request])[0].token_ids != before.token_ids


def test_grpo_with_the_vllm_backend_starts_from_the_sft_weights_and_trains(tmp_path, monkeypatch):
    """train_grpo --backend vllm on the toy task: the engine gets the policy's (SFT-merged) weights before
    the first rollout and after every update; rollouts run through the backend's batcher."""
    import train_grpo

    tok = q.toy_tokenizer()
    model_dir = tmp_path / "tiny"
    q.build_model(tok, seed=1).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    engines = []

    def stand_in(model, **options):
        from transformers import AutoModelForCausalLM

        served = AutoModelForCausalLM.from_pretrained(model).eval()
        engines.append(StandInVLLMEngine(tok, lambda ids: served(torch.tensor([ids])).logits[0, -1], model=served))
        engines[-1].served = served
        return engines[-1], SimpleNamespace

    monkeypatch.setattr("agents.vllm_backend.new_llm", stand_in)
    out = train_grpo.main(
        [
            "--model",
            str(model_dir),
            "--tasks",
            q.TOY_TASK,
            "--env-factory",
            "tiny_qwen:make_toy_env",
            "--sandbox",
            "local",
            "--max-code-calls",
            "1",
            "--backend",
            "vllm",
            "--questions-per-step",
            "2",
            "--group-size",
            "4",
            "--max-new-tokens",
            "8",
            "--max-total-tokens",
            "200",
            "--steps",
            "2",
            "--lr",
            "1e-2",
            "--no-eval",
            "--threads",
            "1",
            "--output-dir",
            str(tmp_path / "run"),
        ]
    )
    engine = engines[0]
    assert engine.prefix_resets == 1 + sum(row["loss/updates"] > 0 for row in out["history"])
    assert sum(len(call) for call in engine.calls) >= 16 and max(len(call) for call in engine.calls) > 1
    final = train_grpo.C.load_model(tmp_path / "run" / "final")[0]
    served = engine.served.state_dict()
    assert all(torch.equal(v, served[k]) for k, v in final.state_dict().items())
