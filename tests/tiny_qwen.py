"""A tiny Qwen2 causal LM and a tokenizer built offline, for tests (no download is possible here).

- `build_tokenizer()` trains a byte-level BPE with the `tokenizers` library on a small built-in corpus
  that covers the r1ci protocol text (```python blocks, print, `Code Execution Results:`, <<< >>>,
  digits). It uses exactly Qwen2's normalizer (NFC) and pre-tokenizer (Qwen's split regex, then
  ByteLevel without its own regex): `AutoTokenizer` turns a saved Qwen2 tokenizer into
  `Qwen2Tokenizer`, which rebuilds that pipeline, and any other pipeline would give different ids
  after a reload. Specials: <|endoftext|> (pad, id 0), <|im_start|>, <|im_end|> (eos). The chat
  template is ChatML with `{% generation %}` markers around assistant content.
- `build_model(tokenizer)` builds a random-weights `Qwen2ForCausalLM`: hidden 64, 2 layers, 4 heads,
  2 kv heads, tied embeddings (~100k parameters), with eos/pad ids taken from the tokenizer.
- `save_tiny_model(directory)` writes both with `save_pretrained`; the directory loads with
  `AutoModelForCausalLM` / `AutoTokenizer` under `HF_HUB_OFFLINE=1`, and `transformers serve` can serve it.

`extra_tokens` adds whole strings as single (non-special) tokens; the GRPO learning test uses it to
make a whole code block one token. Everything is deterministic, and a build takes well under a second.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

# The same regex as transformers.models.qwen2.tokenization_qwen2.PRETOKENIZE_REGEX.
QWEN_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"""
    r"""\s*[\r\n]+|\s+(?!\S)|\s+"""
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

CORPUS = [
    "Solve the task below. Reason about it step by step in plain text.",
    "You may check your reasoning by running Python. To run code, write one complete, self-contained "
    "script in a fenced block that starts with ```python on its own line and ends with ```.",
    "The script must print everything you want to see. As soon as the block is closed it is executed, "
    "and what it printed (or the error it raised) is shown to you after the line `Code Execution Results:`; "
    "then you carry on reasoning. You may run code at most 5 times.",
    "Once you are confident, end with the final answer written between triple angle brackets, for "
    "example <<<42>>>. Write the answer itself there, not code that computes it.",
    "Only the last <<<...>>> in your reply is graded.",
    "Task:\nWhat is 12 + 30? Give the number.",
    "```python\nprint(12 + 30)\n```\nCode Execution Results:\n42\n\nThe answer is <<<42>>>",
    "```python\nx = [3, 1, 2]\nfor i in range(len(x)):\n    print(i, x[i])\n```",
    "```python\ndef solve(n):\n    return sum(range(n))\n\nprint(solve(10))\n```\n",
    "Code Execution Results:\n45\n",
    "Code Execution Results:\nTraceback (most recent call last):\nNameError: name 'y' is not defined\n",
    "TimeoutError: the program ran longer than 10 s and was stopped.",
    "import math\nimport itertools\nprint(math.sqrt(16), list(itertools.permutations('ab')))",
    "0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14 -7 2024",
    "The quick brown fox jumps over the lazy dog. Therefore the final answer is <<<7>>>.",
    "user assistant system The answer Let me compute this with code. I will write a program.",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nkey<|im_end|>\n",
    "<|im_start|>assistant\n<|im_start|>user\n<|im_start|>assistant\n<|im_start|>user\n" * 8,
    "True False None if else elif while return import from def class lambda and or not in is",
    "{ } [ ] ( ) < > = + - * / % ^ & | ~ ! ? : ; , . ' \" # @ $ \\ _ `",
]

_cache: dict = {}


def _train_tokenizer(vocab_size: int) -> Tokenizer:
    bpe = Tokenizer(
        models.BPE(
            unk_token=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False, byte_fallback=False
        )
    )
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS * 3, trainer=trainer)
    return bpe


def build_tokenizer(vocab_size: int = 512, extra_tokens: tuple[str, ...] | list[str] = ()):
    """A `PreTrainedTokenizerFast` (byte-level BPE, Qwen pipeline, ChatML template with generation markers).

    eos is <|im_end|> and pad is <|endoftext|>. `extra_tokens` become single non-special tokens
    (appended after the trained vocabulary).
    """
    from transformers import PreTrainedTokenizerFast

    key = vocab_size
    if key not in _cache:
        _cache[key] = _train_tokenizer(vocab_size).to_str()
    raw = Tokenizer.from_str(_cache[key])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None, bos_token=None
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    if extra_tokens:
        tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in extra_tokens])
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.padding_side = "left"
    return tokenizer


def build_model(tokenizer, seed: int = 0, **config_overrides):
    """A random-weights `Qwen2ForCausalLM` sized for CPU tests (overrides go into `Qwen2Config`)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        tie_word_embeddings=True,
        max_position_embeddings=2048,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    config.update(config_overrides)
    cpu_rng = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = Qwen2ForCausalLM(Qwen2Config(**config))
    finally:
        torch.random.set_rng_state(cpu_rng)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = None
    model.eval()
    return model


def save_tiny_model(directory, seed: int = 0, **config_overrides) -> Path:
    """Build the tokenizer and model and `save_pretrained` both into `directory`; returns its Path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    model = build_model(tokenizer, seed=seed, **config_overrides)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


if __name__ == "__main__":  # python tests/tiny_qwen.py OUT_DIR
    import sys

    print(save_tiny_model(sys.argv[1] if len(sys.argv) > 1 else "tiny-qwen2"))


# ----------------------------------------------------------------------------------------------
# A toy task for the trainer tests: only code gives the right answer
# ----------------------------------------------------------------------------------------------
# Every prompt is the same question ("What is the secret?"); each instance has a secret colour (one of
# 32, from the seed) that appears ONLY in the output of a program: the toy sandbox defines `SECRET`
# for the episode's instance before running the model's code. Without code a guess is right 1 time
# in 32. `toy_tokenizer()` adds whole-chunk tokens so that a solving episode is 4 sampled tokens:
#   TOY_PROGRAM                   (= "```python\nprint(SECRET)\n```"; generation stops at the fence)
#   [observation "\nCode Execution Results:\n" + "<colour>\n", tokenized once; "<colour>\n" is one token]
#   "<<<<colour>" ">>>" <|im_end|>
# A policy needs two skills: use code (its first sampled token), and read the output: the token
# "<colour>\n" that ends the observation must be followed by "<<<<colour>" (a bigram; no attention
# over distance is needed, which a 100k-parameter model would take too long to learn in CI).

TOY_TASK = "ToySecret"
TOY_QUESTION = "What is the secret?"
TOY_PROMPT = "{question}"  # the env's prompt template for the toy task: just the question
TOY_CODE = "print(SECRET)"
TOY_PROGRAM = f"```python\n{TOY_CODE}\n```"
TOY_VALUES = (
    "red",
    "blue",
    "green",
    "gold",
    "grey",
    "pink",
    "plum",
    "navy",
    "teal",
    "lime",
    "jade",
    "rust",
    "sand",
    "snow",
    "ruby",
    "rose",
    "mint",
    "ink",
    "sky",
    "tan",
    "wine",
    "onyx",
    "opal",
    "peach",
    "coral",
    "amber",
    "azure",
    "beige",
    "cream",
    "ivory",
    "khaki",
    "lilac",
)
TOY_EXTRA_TOKENS = (
    (TOY_PROGRAM, ">>>", "assistant") + tuple(f"{c}\n" for c in TOY_VALUES) + tuple(f"<<<{c}" for c in TOY_VALUES)
)


def toy_secret(seed: int) -> str:
    import random

    return TOY_VALUES[random.Random(seed).randrange(len(TOY_VALUES))]


def toy_tokenizer():
    """`build_tokenizer()` plus the toy task's whole-chunk tokens."""
    return build_tokenizer(extra_tokens=TOY_EXTRA_TOKENS)


def register_toy_task() -> str:
    """Register `ToySecret` (idempotent) and return its name."""
    from r1ci_env.tasks.base import Instance, Task
    from r1ci_env.tasks.registry import _REGISTRY, register_task

    class ToySecret(Task):
        name = TOY_TASK
        source = "custom"
        category = "execution"
        checker = "EM"

        def generate(self, seed: int) -> Instance:
            return Instance(question=TOY_QUESTION, gold=toy_secret(seed), instance_id=f"seed-{seed}")

        def score(self, answer: str, instance: Instance) -> float:
            return 1.0 if answer.strip() == instance.gold else 0.0

        def reference_solution(self, instance: Instance) -> str:
            return TOY_CODE

    if TOY_TASK not in _REGISTRY:
        register_task(ToySecret)
    return TOY_TASK


_TOY_RESULTS: dict = {}


def make_toy_env(task: str = TOY_TASK, **env_options):
    """A `CodeInterpreterEnv` for the toy task whose sandbox is the `local` backend plus the episode's
    `SECRET = '<colour>'` line prepended to every program. Programs are deterministic, so results are
    memoised per (secret, code) across envs: it keeps the learning tests inside a CI budget on a
    loaded 2-core box. Signature as `train_grpo.py --env-factory` wants: (task name, **options)."""
    import threading

    from r1ci_env import CodeInterpreterEnv
    from r1ci_env.sandbox.local import LocalSandbox

    register_toy_task()
    lock = threading.Lock()

    class ToySandbox(LocalSandbox):
        def run(self, code: str, timeout: float = 10.0):
            key = (env.instance.gold, code)
            with lock:
                hit = _TOY_RESULTS.get(key)
            if hit is None:
                hit = super().run(f"SECRET = {env.instance.gold!r}\n{code}", timeout)
                with lock:
                    _TOY_RESULTS[key] = hit
            return hit

    env_options = {"prompt": TOY_PROMPT, **env_options}
    env_options.pop("sandbox", None)
    env = CodeInterpreterEnv(task, sandbox=ToySandbox(), **env_options)
    return env
