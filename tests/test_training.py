"""agents/training.py and agents/hf.py on CPU with the tiny Qwen2 of tests/tiny_qwen.py: the token-level
episode record, its assembly (token-in, token-out), the masks, log-probs, losses, and data parallelism."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import tiny_qwen as q  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)

from agents import OracleAgent, run_episode  # noqa: E402
from agents import training as T  # noqa: E402
from agents.hf import GenerationRequest, GenerationResult, HFAgent, HFBackend  # noqa: E402


@pytest.fixture(scope="module")
def tok():
    return q.build_tokenizer()


@pytest.fixture(scope="module")
def model(tok):
    return q.build_model(tok, seed=0)


class ScriptedBackend(HFBackend):
    """A backend that 'samples' predetermined ids per turn (and records every context it was given)."""

    def __init__(self, model, tokenizer, turns: list[list[int]]) -> None:
        super().__init__(model, tokenizer)
        self.turns = list(turns)
        self.contexts: list[list[int]] = []

    def submit(self, request: GenerationRequest) -> GenerationResult:
        self.contexts.append(list(request.context))
        ids = self.turns.pop(0)
        return GenerationResult(ids, [-0.5] * len(ids), "eos" if ids[-1] in self.stop_ids else "fence")


def oracle_turns(seed: int):
    """The oracle's turn texts and observations on the toy env (what a scripted policy will replay)."""
    episode = run_episode(q.make_toy_env(max_code_calls=2), OracleAgent(), seed)
    return episode.prompt, [(t["model"], t["observation"]) for t in episode.turns], episode


# ----------------------------------------------------------------------------------------------
# tiny_qwen
# ----------------------------------------------------------------------------------------------


def test_tiny_qwen_builds_fast_and_reloads_with_identical_ids(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2ForCausalLM  # noqa: F401 (import time is not build time)

    q._cache.clear()
    started = time.perf_counter()
    tokenizer = q.build_tokenizer()
    tiny = q.build_model(tokenizer)
    assert time.perf_counter() - started < 2.0
    assert tiny.config.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>") == tokenizer.eos_token_id
    assert tiny.config.pad_token_id == tokenizer.pad_token_id == tokenizer.convert_tokens_to_ids("<|endoftext|>")
    directory = q.save_tiny_model(tmp_path / "tiny")
    auto_tok = AutoTokenizer.from_pretrained(directory)
    auto_model = AutoModelForCausalLM.from_pretrained(directory)
    for text in (
        "```python\nprint(12 + 30)\n```\nCode Execution Results:\n42\n<<<42>>>",
        "héllo\t\r\n ✓ 日本 {x}",
        "<|im_start|>user\nhi<|im_end|>\n",
    ):
        assert auto_tok(text)["input_ids"] == tokenizer(text)["input_ids"]
        assert auto_tok.decode(auto_tok(text)["input_ids"]) == text
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]
    rendered = auto_tok.apply_chat_template(messages, return_assistant_tokens_mask=True, return_dict=True)
    assert sum(rendered["assistant_masks"]) == len(auto_tok("ok<|im_end|>")["input_ids"])
    assert torch.equal(auto_model.model.embed_tokens.weight, q.build_model(tokenizer).model.embed_tokens.weight)


# ----------------------------------------------------------------------------------------------
# assembly: token-in, token-out
# ----------------------------------------------------------------------------------------------


def test_sft_and_grpo_assemble_identical_ids_and_each_turn_extends_the_last(tok, model):
    prompt, turns, episode = oracle_turns(seed=3)
    stop = tok.convert_tokens_to_ids("<|im_end|>")
    sft = T.assemble_turns(tok, prompt, turns, stop_token_id=stop)
    scripted = [T.encode_text(tok, text) for text, _ in turns]
    scripted[-1].append(stop)
    backend = ScriptedBackend(model, tok, scripted)
    agent = HFAgent(backend, seed=0)
    rl_episode = run_episode(q.make_toy_env(max_code_calls=2), agent, 3)
    rl = agent.episode_record(rl_episode)
    assert rl.input_ids == sft.input_ids and rl.loss_mask == sft.loss_mask
    assert rl_episode.transcript == episode.transcript and rl.reward == episode.reward == 1.0
    # the previous turn's ids are always a prefix of the next turn's context and of the final record
    contexts = backend.contexts + [rl.input_ids]
    for before, after in zip(contexts, contexts[1:]):
        assert after[: len(before)] == before and len(after) > len(before)
    # T5: the mask is 1 exactly on sampled tokens, the arrays line up, observations and prompt are 0
    assert len(rl.input_ids) == len(rl.loss_mask) == len(rl.logprobs)
    assert rl.num_sampled == sum(len(ids) for ids in scripted)
    assert [k for k, _, _ in rl.spans] == ["model", "observation", "model"]
    for kind, start, end in rl.spans:
        assert set(rl.loss_mask[start:end]) == {1 if kind == "model" else 0}
    assert set(rl.loss_mask[: rl.prompt_length]) == {0} and rl.loss_mask[-1] == 1 and rl.input_ids[-1] == stop
    assert tok.decode(rl.input_ids[: rl.prompt_length]).endswith("<|im_start|>assistant\n")


def test_sampled_ids_are_never_re_encoded(tok, model, monkeypatch):
    """T2: ids that decode to text which re-encodes differently stay as sampled in the record."""
    unmerged = [tok.convert_tokens_to_ids(c) for c in "<<<blue>>>"]  # one id per character
    assert T.encode_text(tok, "<<<blue>>>") != unmerged
    stop = tok.convert_tokens_to_ids("<|im_end|>")
    backend = ScriptedBackend(model, tok, [unmerged + [stop]])
    agent = HFAgent(backend)
    calls = []
    original = T.encode_observation
    monkeypatch.setattr("agents.hf.encode_observation", lambda t, text: calls.append(text) or original(t, text))
    episode = run_episode(q.make_toy_env(), agent, 0)
    record = agent.episode_record(episode)
    assert record.input_ids[record.prompt_length :] == unmerged + [stop]
    assert episode.answer == "blue" and calls == []  # no observation in this episode, and no encode of model text


def test_fence_stop_inside_a_token_keeps_the_whole_token(tok, model):
    """T3: a token that completes the closing fence and carries more characters ends the turn; the
    ids are kept whole, the env cuts the text after the fence, and the observation follows the token."""
    backend = HFBackend(model, tok)
    head = T.encode_text(tok, "```python\nprint(1)\n")
    fence_newline = tok.convert_tokens_to_ids("```Ċ")
    assert fence_newline is not None and tok.decode([fence_newline]) == "```\n"
    assert backend._stop_reason(fence_newline, head + [fence_newline], 100, True) == "fence"
    assert backend._stop_reason(head[0], head[:1], 100, True) is None  # an opening fence does not stop
    stop = tok.convert_tokens_to_ids("<|im_end|>")
    scripted = ScriptedBackend(model, tok, [head + [fence_newline], T.encode_text(tok, "<<<1>>>") + [stop]])
    agent = HFAgent(scripted)
    env = q.make_toy_env()
    run_episode(env, agent, 0)
    record = agent.episode_record()
    model_ids, obs_ids = record.segments("model")[0], record.segments("observation")[0]
    assert model_ids[-1] == fence_newline
    assert tok.decode(obs_ids) == "\nCode Execution Results:\n1\n"
    assert env.unwrapped.transcript.count("```\n\nCode Execution Results") == 0  # the env dropped the "\n"


def test_real_sampling_what_the_env_sees_is_what_the_trainer_trains_on(tok, model):
    backend = HFBackend(model, tok)
    for seed in range(6):
        agent = HFAgent(backend, temperature=1.0, max_new_tokens=24, seed=seed)
        env = q.make_toy_env()
        episode = run_episode(env, agent, seed)
        record = agent.episode_record(episode)
        texts = [tok.decode(ids, skip_special_tokens=True) for ids in record.segments("model")]
        assert texts == agent.turn_texts
        observations = [tok.decode(ids) for ids in record.segments("observation")]
        rebuilt = env.unwrapped._parts[0]
        for i, text in enumerate(texts):
            kept = env.unwrapped.turns[i].model
            assert text.startswith(kept)  # the env keeps the turn up to its first closed block
            rebuilt += kept + (observations[i] if i < len(observations) else "")
        assert rebuilt == episode.transcript


def test_batched_generation_is_independent_of_batch_composition(tok, model):
    backend = HFBackend(model, tok)
    prompt = T.encode_prompt(tok, "What is 2 + 2?")
    request = GenerationRequest(prompt, 16, temperature=1.0, seed=123)
    alone = backend.generate([request])[0]
    other = GenerationRequest(
        T.encode_prompt(tok, "A much longer prompt with many more words in it, to pad."), 16, seed=9
    )
    together = backend.generate([other, request])[1]
    assert alone.token_ids == together.token_ids
    assert max(abs(a - b) for a, b in zip(alone.logprobs, together.logprobs)) < 1e-4


def test_dropping_finished_rows_samples_the_same_tokens(tok, model):
    """Rows that stopped leave the batch and its KV cache; the other rows' samples do not change."""
    requests = [
        GenerationRequest(
            T.encode_prompt(tok, f"Question {i}: what is {i} + {i}?" + " pad" * i),
            budget,
            temperature=1.0,
            seed=i,
            stop_at_fence=False,
        )
        for i, budget in enumerate((2, 9, 5, 16))
    ]
    kept = HFBackend(model, tok, drop_finished=False).generate(requests)
    dropped = HFBackend(model, tok).generate(requests)
    assert [len(r.token_ids) for r in dropped] == [len(r.token_ids) for r in kept]
    assert len({len(r.token_ids) for r in dropped}) > 1  # rows did finish at different steps
    for a, b in zip(kept, dropped):
        assert a.token_ids == b.token_ids and a.stop_reason == b.stop_reason
        assert max(abs(x - y) for x, y in zip(a.logprobs, b.logprobs)) < 1e-4


def test_next_turn_reuses_the_kept_kv_cache_and_samples_the_same_tokens(tok, model):
    """A turn that stopped at a closing fence keeps its KV cache; the next turn of that episode computes
    only its new tokens, alone or batched with a fresh episode, and samples what a full prefill samples."""

    def backend(reuse, budget=2**31):
        b = HFBackend(model, tok, reuse_cache=reuse, max_kept_bytes=budget)
        # every turn "closes a fence" after its budget, so episodes go on (a random tiny model rarely writes one)
        b._stop_reason = lambda token, turn, budget, stop: "fence" if len(turn) >= budget else None
        return b

    def play(b):
        fed = []
        original = b.model.forward
        b.model.forward = lambda *a, **k: fed.append(k["input_ids"].shape) or original(*a, **k)
        try:
            first = b.generate([GenerationRequest(T.encode_prompt(tok, "What is 2 + 2?"), 6, seed=1, cache_key="A")])[0]
            context = T.encode_prompt(tok, "What is 2 + 2?") + first.token_ids + T.encode_observation(tok, "\n42\n")
            fresh = GenerationRequest(T.encode_prompt(tok, "Hi?"), 5, seed=2, cache_key="B")
            second = b.generate([GenerationRequest(context, 7, seed=3, cache_key="A"), fresh])
        finally:
            b.model.forward = original
        return [first, *second], fed

    full, fed_full = play(backend(False))
    reused, fed_reused = play(backend(True))
    for a, b in zip(full, reused):
        assert a.token_ids == b.token_ids
        assert max(abs(x - y) for x, y in zip(a.logprobs, b.logprobs)) < 1e-4
    prefill_full = [shape for shape in fed_full if shape[1] > 1][1]
    prefill_reused = [shape for shape in fed_reused if shape[1] > 1][1]
    assert prefill_reused[1] < prefill_full[1]  # the second prefill skipped episode A's kept prefix
    over_budget = backend(True, budget=0)
    assert [r.token_ids for r in play(over_budget)[0]] == [r.token_ids for r in full]
    assert [s for s in play(over_budget)[1] if s[1] > 1][1] == prefill_full and over_budget._kv_bytes == 0
    # what the episodes' turns kept is freed when they end
    reused_backend = backend(True)
    play(reused_backend)
    assert reused_backend._kv and reused_backend._kv_bytes > 0
    for key in ("A", "B"):
        reused_backend.release(key)
    assert not reused_backend._kv and reused_backend._kv_bytes == 0


def test_concurrent_episodes_share_batches(tok, model):
    backend = HFBackend(model, tok, gather_timeout_s=0.2)
    jobs = [T.Job(q.TOY_TASK, seed, seed) for seed in range(8)]
    results = T.rollout(backend, lambda task: q.make_toy_env(), jobs, temperature=1.0, max_new_tokens=8, concurrency=8)
    assert len(results) == 8 and backend.stats["rows"] >= 8
    assert backend.stats["batches"] < backend.stats["rows"]  # turns of different episodes were batched


# ----------------------------------------------------------------------------------------------
# log-probs, masks, losses
# ----------------------------------------------------------------------------------------------


def _records(tok, n=4, seed=0):
    backend = HFBackend(q.build_model(tok, seed=seed), tok)
    out = []
    for i in range(n):
        agent = HFAgent(backend, temperature=0.7, max_new_tokens=10 + 5 * i, seed=100 + i)
        out.append(agent.episode_record(run_episode(q.make_toy_env(), agent, i)))
    return out


def test_sampler_logprobs_match_recomputed_and_padding_does_not_change_them(tok, model):
    records = _records(tok)
    alone = [T.records_logprobs(model, [r], pad_token_id=tok.pad_token_id, temperature=0.7)[0] for r in records]
    batched = T.records_logprobs(model, records, pad_token_id=tok.pad_token_id, temperature=0.7)
    for record, a, b in zip(records, alone, batched):
        assert torch.allclose(a, b, atol=1e-5)  # T6: right padding and position ids
        mask = torch.tensor(record.loss_mask, dtype=torch.bool)
        sampler = torch.tensor(record.logprobs)
        assert torch.allclose(a[mask], sampler[mask], atol=1e-4)  # T7: sampler == trainer at T = 0.7


def test_chunked_logprobs_equal_the_naive_full_logits(tok, model):
    batch = T.collate(_records(tok, 3), tok.pad_token_id)
    chunked = T.token_logprobs(model, batch["input_ids"], batch["attention_mask"], batch["position_ids"], chunk_size=7)
    logits = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"]
    ).logits
    naive = torch.log_softmax(logits[:, :-1].float(), -1).gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    assert torch.allclose(chunked[:, 1:], naive, atol=1e-5)
    # the projection restricted to the loss positions gives the same values there and 0 elsewhere
    mask = batch["loss_mask"] > 0
    only = T.token_logprobs(
        model, batch["input_ids"], batch["attention_mask"], batch["position_ids"], chunk_size=7, only=mask
    )
    assert torch.allclose(only[mask], chunked[mask], atol=1e-6) and torch.count_nonzero(only[~mask]) == 0


def test_masked_positions_receive_exactly_zero_gradient():
    torch.manual_seed(0)
    logprobs = (torch.randn(3, 9) - 2).requires_grad_()
    old = logprobs.detach() + 0.1 * torch.randn(3, 9)
    mask = (torch.rand(3, 9) > 0.5).float()
    old[mask == 0] = float("nan")  # garbage at masked positions must not leak into the gradient
    for aggregation in ("token", "sequence"):
        logprobs.grad = None
        loss, _ = T.clipped_policy_loss(
            logprobs,
            old,
            torch.tensor([1.0, -2.0, 0.5]),
            mask,
            aggregation=aggregation,
            normalizer=float(mask.sum()),
            ref_logprobs=old,
            kl_coef=0.1,
        )
        loss.backward()
        assert torch.isfinite(loss)
        assert torch.all(logprobs.grad[mask == 0] == 0) and torch.any(logprobs.grad[mask > 0] != 0)
    logprobs.grad = None
    T.masked_nll(logprobs, mask, float(mask.sum())).backward()
    assert torch.all(logprobs.grad[mask == 0] == 0)


def test_masked_tokens_give_zero_parameter_gradient(tok):
    records = _records(tok, 2)
    zero_mask = [T.EpisodeRecord(r.input_ids, [0] * len(r), r.logprobs, r.reward) for r in records]
    net = q.build_model(tok, seed=0)
    T.policy_gradient(net, zero_mask, [1.0, -1.0], pad_token_id=tok.pad_token_id, normalizer=1.0)
    assert all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in net.parameters())


def test_ratio_is_exactly_one_at_the_first_step(tok):
    records = _records(tok)
    net = q.build_model(tok, seed=0)
    stats = T.policy_gradient(
        net,
        records,
        [1.0, -1.0, 0.5, -0.5],
        pad_token_id=tok.pad_token_id,
        normalizer=sum(r.num_sampled for r in records),
        temperature=0.7,
        micro_batch_tokens=64,
    )
    assert (
        stats["ratio_min"] == 1.0 and stats["ratio_max"] == 1.0 and stats["clipped_low"] == stats["clipped_high"] == 0
    )
    assert stats["sampler_abs_diff_sum"] / stats["tokens"] < 1e-4


def test_advantages_clipping_and_normalisation(tok):
    adv, zero = T.group_advantages([1, 0, 0, 1, 1, 1, 1, 1], 4)
    assert adv[:4] == pytest.approx([0.866, -0.866, -0.866, 0.866], abs=1e-3) and adv[4:] == [0.0] * 4
    assert zero == [False] * 4 + [True] * 4
    assert T.group_advantages([1, 0, 0, 0], 4, scale="none")[0] == [0.75, -0.25, -0.25, -0.25]
    # T11: asymmetric clipping
    lp = torch.log(torch.tensor([[1.0, 0.5, 1.5, 1.2]]))
    loss, sums = T.clipped_policy_loss(
        lp, torch.zeros(1, 4), torch.tensor([1.0]), torch.ones(1, 4), eps_low=0.2, eps_high=0.28, normalizer=4.0
    )
    assert float(loss) == pytest.approx(-(1.0 + 0.5 + 1.28 + 1.2) / 4)
    assert sums["clipped_high"] == 1 and sums["clipped_low"] == 0
    loss, sums = T.clipped_policy_loss(lp, torch.zeros(1, 4), torch.tensor([-1.0]), torch.ones(1, 4), normalizer=4.0)
    assert float(loss) == pytest.approx((1.0 + 0.8 + 1.5 + 1.2) / 4) and sums["clipped_low"] == 1
    # T10: one micro-batch or several accumulated give the same gradient (token and sequence modes)
    records = _records(tok)
    for aggregation, normalizer in (("token", sum(r.num_sampled for r in records)), ("sequence", len(records))):
        grads = []
        for micro in (10**6, 1):
            net = q.build_model(tok, seed=0)
            T.policy_gradient(
                net,
                records,
                [1.0, -1.0, 0.5, -0.5],
                pad_token_id=tok.pad_token_id,
                normalizer=normalizer,
                aggregation=aggregation,
                micro_batch_tokens=micro,
                old_logprobs=[torch.tensor(r.logprobs) for r in records],
            )
            grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
        assert torch.allclose(grads[0], grads[1], atol=1e-6)


# ----------------------------------------------------------------------------------------------
# data parallel: 2 gloo processes == 1 process
# ----------------------------------------------------------------------------------------------


def _dp_records(tok):
    """8 deterministic records (2 groups of 4) with different lengths and rewards."""
    prompt = T.encode_prompt(tok, "What is the secret?")
    obs = T.encode_observation(tok, "\nCode Execution Results:\nred\n")
    records = []
    for i in range(8):
        builder = T.TrajectoryBuilder(prompt)
        code = T.encode_text(tok, "```python\nprint(SECRET)\n```")
        builder.add_model(code, [-1.0] * len(code))
        builder.add_observation(obs)
        builder.add_model([10 + i] * (3 + i), [-2.0] * (3 + i))
        records.append(builder.record(reward=float(i % 3 == 0)))
    return records


def _dp_gradient(rank: int, world: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    if world > 1:
        torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    tok = q.build_tokenizer()
    net = q.build_model(tok, seed=0)
    records = _dp_records(tok)
    advantages, _ = T.group_advantages([r.reward for r in records], 4)
    mine = T.shard_groups(list(range(8)), 4, rank, world)
    normalizer = T.all_reduce_sum([sum(records[i].num_sampled for i in mine)])[0]
    T.policy_gradient(
        net,
        [records[i] for i in mine],
        [advantages[i] for i in mine],
        pad_token_id=tok.pad_token_id,
        normalizer=normalizer,
    )
    T.all_reduce_gradients(list(net.parameters()))
    if rank == 0:
        torch.save([p.grad for p in net.parameters()], out)
    if world > 1:
        torch.distributed.destroy_process_group()


def test_two_gloo_processes_give_the_same_gradients_as_one(tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert T.shard_groups(list(range(12)), 4, 0, 2) == [0, 1, 2, 3, 8, 9, 10, 11]  # whole groups per rank
    mp.spawn(_dp_gradient, args=(2, port, str(tmp_path / "two.pt")), nprocs=2, join=True)
    _dp_gradient(0, 1, port, str(tmp_path / "one.pt"))
    two, one = torch.load(tmp_path / "two.pt"), torch.load(tmp_path / "one.pt")
    assert len(one) == len(two)
    for a, b in zip(one, two):
        assert torch.allclose(a, b, atol=1e-7, rtol=1e-5)
    assert any(torch.count_nonzero(a) for a in one)


# ----------------------------------------------------------------------------------------------
# records and checkpoints
# ----------------------------------------------------------------------------------------------


def test_record_round_trips_through_json_and_checkpoint_round_trips_logprobs(tok, tmp_path):
    record = _records(tok, 1)[0]
    again = T.EpisodeRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    with pytest.raises(ValueError):
        T.EpisodeRecord([1, 2], [0], [0.0, 0.0])
    net = q.build_model(tok, seed=5)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    T.policy_gradient(net, [record], [1.0], pad_token_id=tok.pad_token_id, normalizer=1.0)
    optimizer.step()
    T.save_checkpoint(tmp_path, net, tok, optimizer, {"step": 1})
    fresh = q.build_model(tok, seed=6)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=1e-3)
    state = T.load_checkpoint_state(T.latest_checkpoint(tmp_path), fresh, fresh_opt)
    assert state["step"] == 1
    a = T.records_logprobs(net, [record], pad_token_id=tok.pad_token_id)[0]
    b = T.records_logprobs(fresh, [record], pad_token_id=tok.pad_token_id)[0]
    assert torch.equal(a, b)


def test_hf_speed_bench_prints_before_and_after(tmp_path):
    """bench/hf_speed.py end to end on the tiny model (the numbers mean nothing at this size)."""
    import subprocess

    directory = q.save_tiny_model(tmp_path / "tiny")
    out = tmp_path / "speed.json"
    done = subprocess.run(
        [
            sys.executable,
            "bench/hf_speed.py",
            "--model",
            str(directory),
            "--batch",
            "3",
            "--prompt-tokens",
            "16",
            "--new-tokens",
            "8",
            "--obs-tokens",
            "8",
            "--repeats",
            "1",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for row in ("| generation tokens/s |", "| two-turn generation tokens/s |", "| log-prob fwd+bwd sampled tokens/s |"):
        assert row in done.stdout, row
    report = json.loads(out.read_text())
    assert report["generation tokens/s"]["before"] > 0 and report["generation tokens/s"]["after"] > 0


def test_make_agent_hf_spec_loads_once_and_spawns_agents_on_the_same_backend(tmp_path):
    from agents import fresh_agent, make_agent
    from agents.hf import make_hf_agent

    directory = q.save_tiny_model(tmp_path / "tiny")
    agent = make_agent(f"hf:{directory}", max_tokens=8, seed=0, temperature=1.0)
    other = fresh_agent(agent)
    assert other is not agent and other.backend is agent.backend is make_hf_agent(str(directory)).backend
    episode = run_episode(q.make_toy_env(), other, 0)
    record = other.episode_record(episode)
    assert record.num_sampled == other.episode_stats["sampled_tokens"] > 0 and record.meta["seed"] == 0
