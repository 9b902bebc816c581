"""r1ci episodes inside TRL 1.16.x `GRPOTrainer`, two ways (both TRL hooks are marked experimental by TRL).

1. The exact R1-CI protocol, `rollout_func`: `R1CIRollout` plays one r1ci episode per prompt it receives,
   token in, token out (prompt templated once, sampled ids kept as sampled, each observation tokenized once
   inside the same assistant message), and returns `prompt_ids`, `completion_ids`, `logprobs` (0.0 on
   observation tokens) and `env_mask` (0 on every observation token, 1 on sampled ones), plus the env's
   reward as `r1ci_reward` for `r1ci_reward_func`. `make_dataset` writes the prompts and keeps the
   prompt -> (task, seed, knobs) map, because TRL hands `rollout_func` only the prompts.
   Generation: `backend="hf"` samples with the trainer's own model (CPU or one GPU; every rank generates
   for its own prompts, nothing is gathered across ranks); `backend="vllm"` uses TRL's vLLM, colocated
   (`use_vllm=True, vllm_mode="colocate"`) or TRL's `vllm serve` (`vllm_mode="server"`, each rank sending
   its own requests); GPU only, not exercised here.
2. A different protocol, `R1CIToolEnv` for `environment_factory`: the model calls a `python(code)` tool with
   JSON tool calls and sees the output as a tool message. Transcripts differ from R1-CI's inline format;
   do not mix it with SFT on r1ci transcripts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

import torch
from datasets import Dataset

from .. import protocol
from ..suites import suite as suite_tasks
from ..tokens import STOP_STRINGS
from .draw import draw_episodes
from .episode import EnvSettings, Played, play_episode

BatchGenerate = Callable[[list[tuple[list[int], int]]], list[tuple[list[int], list[float]]]]


def make_dataset(
    tasks: Sequence[str] | str,
    n: int,
    seed: int = 0,
    settings: EnvSettings = EnvSettings(),
    accuracy: dict[str, float] | None = None,
) -> Dataset:
    """`n` rows over `tasks` (a list or a suite name), drawn as `r1ci export verl` draws them (uniform, or
    weighted by 4p(1-p) with per-task `accuracy`): `prompt` (a user message holding the env's own prompt),
    `task`, `seed` (the instance), `knobs` (JSON). Pass it as `train_dataset` and to `R1CIRollout`."""
    tasks = suite_tasks(tasks) if isinstance(tasks, str) else list(tasks)
    return Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": e.prompt}], "task": e.task, "seed": e.seed, "knobs": "{}"}
            for e in draw_episodes(tasks, n, seed, settings, accuracy)
        ]
    )


def _prompt_text(prompt: Any) -> str:
    """The user text of a TRL prompt (a message list or a plain string)."""
    return prompt[-1]["content"] if isinstance(prompt, list) else str(prompt)


class R1CIRollout:
    """A TRL `rollout_func`: `GRPOTrainer(..., rollout_func=R1CIRollout(dataset))`.

    TRL passes this rank's prompts (each repeated `num_generations` times, one completion is returned per
    prompt it passes); the rollout looks each prompt up in `dataset` to find its (task, seed, knobs), plays
    all of them concurrently (env steps on worker threads; generation batched per turn across episodes) and
    returns TRL's fields. `max_new_tokens` caps one turn; the episode is capped at the trainer's
    `max_completion_length` tokens after the prompt (samples never pass it; a last observation that would is
    cut, which drops only mask-0 tokens).
    """

    def __init__(
        self,
        dataset: Dataset | Sequence[dict],
        settings: EnvSettings = EnvSettings(),
        *,
        backend: str = "hf",
        max_new_tokens: int | None = None,
        system_prompt: str | None = None,
    ) -> None:
        if backend not in ("hf", "vllm"):
            raise ValueError(f"backend must be 'hf' or 'vllm', got {backend!r}")
        self.index: dict[str, tuple[str, int, dict]] = {}
        for row in dataset:
            self.index.setdefault(
                _prompt_text(row["prompt"]), (row["task"], int(row["seed"]), json.loads(row.get("knobs") or "{}"))
            )
        self.settings, self.backend, self.max_new_tokens = settings, backend, max_new_tokens
        self.system_prompt = system_prompt
        self.last_played: list[Played] = []  # the last call's episodes (for inspection and tests)
        self._generators: dict[int, BatchGenerate] = {}  # per trainer: built on its first rollout

    def __call__(self, prompts: list, trainer: Any) -> dict[str, list]:
        jobs = []
        for prompt in prompts:
            key = _prompt_text(prompt)
            if key not in self.index:
                raise KeyError("a prompt is not in the rollout's dataset; build both from the same make_dataset rows")
            jobs.append(self.index[key])
        if id(trainer) not in self._generators:
            make = _hf_batch_generate if self.backend == "hf" else _vllm_batch_generate
            self._generators[id(trainer)] = make(trainer)
        played = asyncio.run(self._play_all(jobs, trainer, self._generators[id(trainer)]))
        self.last_played = played
        limit = int(trainer.args.max_completion_length)
        out: dict[str, list] = {
            "prompt_ids": [],
            "completion_ids": [],
            "logprobs": [],
            "env_mask": [],
            "r1ci_reward": [],
            "r1ci_task": [],
        }
        for episode in played:
            prompt_ids, response_ids, mask, logprobs = episode.split(limit)
            out["prompt_ids"].append(prompt_ids)
            out["completion_ids"].append(response_ids)
            out["env_mask"].append(mask)
            out["logprobs"].append(logprobs)
            out["r1ci_reward"].append(episode.record.reward)
            out["r1ci_task"].append(episode.info["task"])
        return out

    async def _play_all(
        self, jobs: list[tuple[str, int, dict]], trainer: Any, batch_generate: BatchGenerate
    ) -> list[Played]:
        generate = _TurnBatcher(batch_generate).generate
        limit = int(trainer.args.max_completion_length)
        tokenizer = trainer.processing_class

        async def one(task: str, seed: int, knobs: dict) -> Played:
            env = self.settings.make(task, knobs)
            try:
                return await play_episode(
                    env,
                    seed,
                    tokenizer,
                    generate,
                    max_response_tokens=limit,
                    max_new_tokens=self.max_new_tokens,
                    system_prompt=self.system_prompt,
                )
            finally:
                env.close()

        return list(await asyncio.gather(*(one(*job) for job in jobs)))


def r1ci_reward_func(completions: list, r1ci_reward: list[float], **kwargs: Any) -> list[float]:
    """TRL reward function: the env's own reward for each episode (1.0 only for a correct final answer)."""
    return [float(reward) for reward in r1ci_reward]


class _TurnBatcher:
    """Collects the generate calls of all live episodes and serves them with one batched call per round."""

    def __init__(self, batch_generate: BatchGenerate) -> None:
        self.batch_generate = batch_generate
        self.pending: list[tuple[list[int], int, asyncio.Future]] = []
        self.flush_scheduled = False

    async def generate(self, context: list[int], max_tokens: int) -> tuple[list[int], list[float]]:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((context, max_tokens, future))
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self.pending, self.flush_scheduled = self.pending, [], False
        try:
            results = self.batch_generate([(context, max_tokens) for context, max_tokens, _ in batch])
        except Exception as exc:  # every waiting episode fails with the backend's error
            for _, _, future in batch:
                future.set_exception(exc)
            return
        for (_, _, future), result in zip(batch, results):
            future.set_result(result)


def _hf_batch_generate(trainer: Any) -> BatchGenerate:
    """Sampling with the trainer's model (transformers `generate`, left-padded batch, stop at "```" kept):
    ids and the sampler's log-probs (log-softmax of the temperature-scaled logits) per request."""
    tokenizer, args = trainer.processing_class, trainer.args
    model = trainer.accelerator.unwrap_model(trainer.model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    temperature = float(args.temperature)

    def run(requests: list[tuple[list[int], int]]) -> list[tuple[list[int], list[float]]]:
        width = max(len(context) for context, _ in requests)
        ids = torch.full((len(requests), width), pad_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for row, (context, _) in enumerate(requests):
            ids[row, width - len(context) :] = torch.tensor(context)
            attention[row, width - len(context) :] = 1
        was_training = model.training
        model.eval()
        with torch.no_grad():
            out = model.generate(
                input_ids=ids.to(model.device),
                attention_mask=attention.to(model.device),
                do_sample=True,
                temperature=temperature,
                top_p=float(args.top_p),
                top_k=0,
                max_new_tokens=max(m for _, m in requests),
                stop_strings=list(STOP_STRINGS),
                tokenizer=tokenizer,
                pad_token_id=pad_id,
                return_dict_in_generate=True,
                output_logits=True,
            )
        model.train(was_training)
        new = out.sequences[:, width:].cpu()
        logprobs = torch.stack(out.logits, dim=1).float().div(temperature).log_softmax(-1).cpu()
        results = []
        for row, (_, max_tokens) in enumerate(requests):
            sampled = new[row, :max_tokens].tolist()
            sampled = sampled[: _finished_length(tokenizer, sampled)]
            results.append((sampled, logprobs[row, torch.arange(len(sampled)), sampled].tolist()))
        return results

    return run


def _finished_length(tokenizer: Any, ids: list[int]) -> int:
    """Where a row of a batched generate really ended: after its first stop token or the token that
    completed a stop string (later positions are padding or continue past the stop). The prefix is decoded
    only at tokens that contain a backtick."""
    stop_ids = {tokenizer.eos_token_id, tokenizer.pad_token_id} - {None}
    for end, token in enumerate(ids, start=1):
        if token in stop_ids:
            return end
        if "`" in tokenizer.decode([token]) and any(s in tokenizer.decode(ids[:end]) for s in STOP_STRINGS):
            return end
    return len(ids)


def _vllm_batch_generate(trainer: Any) -> BatchGenerate:
    """Sampling with vLLM (GPU only; not exercised in r1ci's CPU tests): the trainer's colocated engine
    (`vllm_mode="colocate"`), or TRL's vLLM server (`vllm_mode="server"`, whose weights TRL keeps in sync),
    which every rank calls for its own requests. Never `vllm_generation.generate`, which gathers prompts
    across ranks and can hang a loop that calls it a rank-dependent number of times."""
    args = trainer.args
    params = {"temperature": float(args.temperature), "top_p": float(args.top_p)}
    stop = {"stop": list(STOP_STRINGS), "include_stop_str_in_output": True}
    if args.vllm_mode == "server":
        from trl.generation.vllm_client import VLLMClient

        base_url = args.vllm_server_base_url or f"http://{args.vllm_server_host}:{args.vllm_server_port}"
        client = VLLMClient(base_url=base_url, connection_timeout=args.vllm_server_timeout)  # no weight group

        def run_server(requests: list[tuple[list[int], int]]) -> list[tuple[list[int], list[float]]]:
            results: list[tuple[list[int], list[float]]] = [([], [])] * len(requests)
            for max_tokens in sorted({m for _, m in requests}):  # one call per distinct token budget
                rows = [i for i, (_, m) in enumerate(requests) if m == max_tokens]
                out = client.generate(
                    [requests[i][0] for i in rows], max_tokens=max_tokens, logprobs=0, generation_kwargs=stop, **params
                )
                for i, ids, logprobs in zip(rows, out["completion_ids"], out["logprobs"]):
                    results[i] = (list(ids), [top[0] for top in logprobs])
            return results

        return run_server

    from vllm import SamplingParams

    llm = trainer.vllm_generation.llm

    def run_colocate(requests: list[tuple[list[int], int]]) -> list[tuple[list[int], list[float]]]:
        sampling = [SamplingParams(max_tokens=m, logprobs=0, **params, **stop) for _, m in requests]
        outputs = llm.generate([{"prompt_token_ids": context} for context, _ in requests], sampling, use_tqdm=False)
        results = []
        for output in outputs:
            sample = output.outputs[0]
            ids = list(sample.token_ids)
            results.append((ids, [step[token].logprob for step, token in zip(sample.logprobs, ids)]))
        return results

    return run_colocate


class R1CIToolEnv:
    """For TRL's `environment_factory` (a DIFFERENT protocol: JSON tool calls, output as a tool message).

    `reset(task=..., seed=..., knobs=...)` (TRL passes the dataset row) starts the episode and returns the
    prompt; the model runs code by calling `python(code)`. Its final text reaches r1ci's checker through
    `tool_env_reward_func`, which TRL calls with the completions and the environments."""

    settings = EnvSettings()

    def __init__(self) -> None:
        self.env = None
        self.done = True

    def reset(self, task: str, seed: int, knobs: str = "{}", **row: Any) -> str:
        if self.env is not None:
            self.env.close()
        self.env = self.settings.make(task, json.loads(knobs or "{}"))
        prompt, _ = self.env.reset(seed=int(seed))
        self.done = False
        return prompt

    def python(self, code: str) -> str:
        """Run a self-contained Python script in the sandbox and return what it printed (or its error).

        Args:
            code: The complete Python script to run.

        Returns:
            The program's output, as r1ci's observation text.
        """
        if self.done:
            return "The episode has ended."
        _, _, terminated, truncated, _ = step = self.env.step(f"```python\n{code}\n```")
        self.done = terminated or truncated
        return "The code-call limit is reached; give the final answer." if self.done else step[0]

    def finish(self, text: str) -> float:
        """Score the model's final text and end the episode. In this protocol only the tool runs code, so a
        fenced block in the final text is prose: its last <<<answer>>> outside code goes to r1ci's checker."""
        if self.done:
            return 0.0
        answer = protocol.extract_answer(text)
        _, reward, _, _, _ = self.env.step("" if answer is None else f"<<<{answer}>>>")
        self.done = True
        return float(reward)


def tool_env_reward_func(completions: list, environments: list[R1CIToolEnv], **kwargs: Any) -> list[float]:
    """Reward for the `environment_factory` protocol: each episode's final assistant text, scored by r1ci."""
    rewards = []
    for completion, env in zip(completions, environments):
        text = completion[-1]["content"] if isinstance(completion, list) else str(completion)
        rewards.append(env.finish(text or ""))
    return rewards
