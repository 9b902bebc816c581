"""Token-level episodes without torch: where text becomes ids, and the record the trainers train on.

The episode format (DESIGN.md section 8): one episode is ONE assistant message. Its token sequence is

    prompt ids  (the chat template applied once: [system], user prompt, assistant header)
    model ids   (turn 1, exactly as sampled)
    obs ids     (the observation text tokenized once, as plain text)
    model ids   (turn 2, exactly as sampled) ...   [<|im_end|> when the model stopped on its own]

Token-in, token-out: sampled ids are never decoded and re-encoded, and the history is never re-rendered
through the chat template, so each turn's context is an exact prefix of the next one. `loss_mask` is 1
on sampled tokens only. SFT builds its examples with the same functions, so SFT and RL see identical
formatting; SFT differs only in tokenizing the teacher's text (`encode_text`).

Every function takes a tokenizer object (a transformers tokenizer); this module imports neither torch
nor transformers, so agents and tools can build and read records without them.

Thread safety: observations must be encoded with special tokens split (a program that prints
`<|im_end|>` gets the characters). In transformers 5.x, `split_special_tokens=True` flips a flag on the
tokenizer's shared backend, so concurrent prompt encodes on the same object would lose their special
tokens. Observations therefore go through a private copy of the tokenizer that splits permanently
(`plain_text_tokenizer`), and the shared one is never switched.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import protocol

MODEL, OBSERVATION = "model", "observation"
# What backends stop generation at: a closing fence ends a turn (an opening one is continued past).
STOP_STRINGS = (protocol.FENCE,)

_PLAIN: dict[int, tuple[Any, Any]] = {}  # id(tokenizer) -> (tokenizer, its splitting copy)
_PLAIN_LOCK = threading.Lock()


def plain_text_tokenizer(tokenizer: Any) -> Any:
    """A private copy of `tokenizer` that always encodes special-token strings as plain text (made once
    per tokenizer object and cached; the shared tokenizer's state is never changed)."""
    with _PLAIN_LOCK:
        entry = _PLAIN.get(id(tokenizer))
        if entry is None or entry[0] is not tokenizer:
            clone = copy.deepcopy(tokenizer)
            clone.split_special_tokens = True
            entry = _PLAIN[id(tokenizer)] = (tokenizer, clone)
        return entry[1]


def encode_prompt(tokenizer: Any, prompt: str, system_prompt: str | None = None) -> list[int]:
    """The prompt ids: the chat template applied ONCE to [system], user=`prompt`, with the assistant
    header (`add_generation_prompt=True`). The whole episode then continues that message."""
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": prompt}
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer(text, add_special_tokens=False, split_special_tokens=False)["input_ids"])


def encode_observation(tokenizer: Any, text: str) -> list[int]:
    """An observation's ids, tokenized once as plain text: a program that prints `<|im_end|>` gets the
    characters, not the special token."""
    return list(plain_text_tokenizer(tokenizer)(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])


def encode_text(tokenizer: Any, text: str) -> list[int]:
    """Teacher (SFT) model text as ids, tokenized the way an observation is. Never used on sampled text."""
    return encode_observation(tokenizer, text)


def stop_token_ids(tokenizer: Any, model: Any = None) -> list[int]:
    """Ids that end a model's reply: the tokenizer's eos, <|im_end|>, <|endoftext|> and the model's
    generation_config eos ids (Qwen2.5 base models say <|endoftext|>, chat models <|im_end|>)."""
    ids = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    vocab = tokenizer.get_vocab()
    for token in ("<|im_end|>", "<|endoftext|>"):
        if token in vocab:
            ids.add(int(vocab[token]))
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in [eos] if isinstance(eos, int) else list(eos or []):
        ids.add(int(value))
    return sorted(ids)


def end_of_turn_id(tokenizer: Any) -> int:
    """The id a chat model samples to end its message: <|im_end|> when the vocabulary has it, else eos."""
    vocab = tokenizer.get_vocab()
    return int(vocab["<|im_end|>"]) if "<|im_end|>" in vocab else int(tokenizer.eos_token_id)


def closes_code_block(text: str) -> bool:
    """True when `text` contains a complete ```python block (a turn ends there)."""
    return protocol.extract_code(text)[0] is not None


@dataclass
class EpisodeRecord:
    """One episode at token level. `input_ids`, `loss_mask` and `logprobs` have the same length;
    `logprobs` holds the sampler's log-probs on sampled tokens and 0.0 elsewhere (SFT records carry
    0.0). `spans` lists (kind, start, end) per segment in order. `stop_reason`: how the last model
    turn ended: "eos" (stop token), "length" (max new tokens), "fence" (a code block past the call
    cap), "context" (total token budget used up), "text" (SFT: a teacher turn)."""

    input_ids: list[int]
    loss_mask: list[int]
    logprobs: list[float]
    reward: float = 0.0
    stop_reason: str = ""
    prompt_length: int = 0
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (len(self.input_ids) == len(self.loss_mask) == len(self.logprobs)):
            raise ValueError(
                f"record lengths differ: ids {len(self.input_ids)}, mask {len(self.loss_mask)}, "
                f"logprobs {len(self.logprobs)}"
            )

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def num_sampled(self) -> int:
        return int(sum(self.loss_mask))

    @property
    def num_observation(self) -> int:
        """Tokens inside observation spans."""
        return sum(end - start for kind, start, end in self.spans if kind == OBSERVATION)

    def segments(self, kind: str | None = None) -> list[list[int]]:
        """The ids of each span (of one kind, or all), in order."""
        return [self.input_ids[s:e] for k, s, e in self.spans if kind is None or k == kind]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeRecord:
        data = dict(data)
        data["spans"] = [tuple(span) for span in data.get("spans", [])]
        return cls(**data)


class TrajectoryBuilder:
    """An append-only token trajectory: prompt, then model and observation segments."""

    def __init__(self, prompt_ids: Sequence[int]) -> None:
        self.input_ids: list[int] = list(prompt_ids)
        self.loss_mask: list[int] = [0] * len(self.input_ids)
        self.logprobs: list[float] = [0.0] * len(self.input_ids)
        self.prompt_length = len(self.input_ids)
        self.spans: list[tuple[str, int, int]] = []
        self.stop_reasons: list[str] = []

    def add_model(self, ids: Sequence[int], logprobs: Sequence[float] | None = None, stop_reason: str = "") -> None:
        """Sampled ids exactly as sampled (loss_mask 1) with the sampler's log-probs."""
        ids = [int(i) for i in ids]
        if logprobs is None:
            logprobs = [0.0] * len(ids)
        if len(logprobs) != len(ids):
            raise ValueError(f"{len(ids)} ids but {len(logprobs)} log-probs")
        start = len(self.input_ids)
        self.input_ids += ids
        self.loss_mask += [1] * len(ids)
        self.logprobs += [float(x) for x in logprobs]
        self.spans.append((MODEL, start, len(self.input_ids)))
        self.stop_reasons.append(stop_reason)

    def add_observation(self, ids: Sequence[int]) -> None:
        """Observation ids (loss_mask 0)."""
        start = len(self.input_ids)
        self.input_ids += [int(i) for i in ids]
        self.loss_mask += [0] * (len(self.input_ids) - start)
        self.logprobs += [0.0] * (len(self.input_ids) - start)
        self.spans.append((OBSERVATION, start, len(self.input_ids)))

    def record(self, reward: float = 0.0, stop_reason: str | None = None, **meta: Any) -> EpisodeRecord:
        """A snapshot of the trajectory as an `EpisodeRecord`."""
        if stop_reason is None:
            stop_reason = self.stop_reasons[-1] if self.stop_reasons else ""
        return EpisodeRecord(
            list(self.input_ids),
            list(self.loss_mask),
            list(self.logprobs),
            float(reward),
            stop_reason,
            self.prompt_length,
            list(self.spans),
            dict(meta),
        )


def assemble_turns(
    tokenizer: Any,
    prompt: str,
    turns: Iterable[tuple[str, str | None]],
    *,
    stop_token_id: int | None = None,
    system_prompt: str | None = None,
    reward: float = 1.0,
    **meta: Any,
) -> EpisodeRecord:
    """An SFT example from text: the prompt, then per turn (model text, observation text or None).

    Each model text is tokenized on its own (`encode_text`) and each observation once
    (`encode_observation`), exactly where the RL rollout puts sampled ids and observation ids.
    `stop_token_id` (normally <|im_end|>) is appended to the last model turn, as the model samples it
    when it ends an episode by itself; pass None for an episode cut by the call cap.
    """
    builder = TrajectoryBuilder(encode_prompt(tokenizer, prompt, system_prompt))
    turns = list(turns)
    for index, (model_text, observation) in enumerate(turns):
        ids = encode_text(tokenizer, model_text)
        last = index == len(turns) - 1
        if last and stop_token_id is not None:
            ids.append(int(stop_token_id))
        builder.add_model(ids, stop_reason="text")
        if observation is not None and not last:
            builder.add_observation(encode_observation(tokenizer, observation))
    return builder.record(reward=reward, stop_reason="eos" if stop_token_id is not None else "fence", **meta)
