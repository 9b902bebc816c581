"""Reasoning-Gym: one adapter class serving every dataset of the pinned `reasoning_gym` package
(0.1.25) as a task named `rg.<dataset>`.

The package is imported lazily (on the first task construction), so `import r1ci_env` stays fast and
works without the `tasks` extra; the dataset names and their labels are frozen in this module.

Which datasets are in the paper suite: `PAPER_DATASETS`, the 84 names left when the rule in
`EXCLUDED` is applied to the package's 106 registered names (see docs/reasoning_gym_selection.md).
Every other dataset except `composite` is registered too, as an extra environment outside the paper
suite (suite "extra").

Instances. Seed `s` maps to a fixed position in a Reasoning-Gym dataset: for most datasets one
dataset object per configuration (RG seed 0, a virtual size of 2**32) and item `s`; RG builds item
`i` from `Random(rg_seed + i)`, so the item does not depend on how many other items were asked for.
Datasets whose construction depends on their size or has a size limit (`BLOCK_MODE`) use blocks of
`BLOCK` items instead: RG seed `s - s % BLOCK`, size `BLOCK`, item `s % BLOCK`. Dataset objects and
generated entries are cached per process. The question is RG's question followed by our own
sentence asking for the answer inside <<< >>>; `gold` is the RG entry (question, answer, metadata)
made JSON-safe.

Items RG cannot serve are skipped: when the stored answer is empty (an empty answer cannot be told
from no answer, so it always scores 0; ab has such items) or does not score 1.0 under the scoring
below (intermediate_integration stores an unevaluated `Integral(...)` when sympy finds no
antiderivative), seed `s` takes the item at `s + k * ITEM_STRIDE` (mod 2**32) for the first
k = 1, 2, ... that is usable; `metadata["rg_seed"]` and `["rg_index"]` say which item it was.

Two RG habits would make an item depend on more than its seed, and the adapter removes both: some
generators draw from Python's or numpy's global RNG (seeded from the dataset and seed around each
item, then restored), and some iterate over sets of strings, so their items change with the
process's hash seed (`HASH_DEPENDENT`: made in a helper process running with PYTHONHASHSEED=0
unless this process already does). codeio's generator runs code snippets shipped in its data (they
print, warn, start threads, look for files), so its items are always made in that helper process
(`ISOLATED`), in a scratch directory with its output discarded.

Scoring. The env extracts the `<<<...>>>` content and `Task.score` applies the shared answer
normalisation (`answers.normalise_answer`); this adapter then screens the answer (`well_formed`) and
passes it to the dataset's own `score_answer(answer, entry)` with the original (not JSON-converted)
entry, which it regenerates from the seed when it is not cached. The reward is 1.0 when RG's score
is 1.0 (or above, by float rounding) and 0.0 otherwise, as on every other task: RG's partial credit
(0.01 or 0.05 for a well-formed wrong answer, a share of correct cells, exp(-distance) for numbers,
...) is not a reward by default. The knob `partial_credit=True` makes the reward RG's own score instead, and
`ReasoningGymTask.partial_score` gives that score beside the binary reward. Adapter rules on top:
  * `well_formed` refuses non-answers that some RG scorers accept (NaN or infinity, a hedge such as
    "41 or 42", the right answer plus padding, a list or code around it, moves picked out of free
    text); each rule is one class of defect found by the reward-hacking battery;
  * tower_of_hanoi and knight_swap accept any valid plan: their questions do not ask for the fewest
    moves, though RG's scorer scales the reward down for a plan longer than the stored one;
  * an empty answer scores 0.0 without asking RG (some RG scorers give 0.01 for it);
  * when the stored answer has leading or trailing whitespace (which the env's stripping removes),
    an answer equal to it without that whitespace is scored as the stored answer;
  * answers longer than `MAX_ANSWER_CHARS` score 0.0; a scorer that raises gives 0.0;
  * safety screens, because some RG scorers `eval` the answer in this process: binary_matrix,
    spiral_matrix, string_insertion and n_queens only see answers that are the stored answer or a
    plain Python literal (what their `eval` fallback can parse anyway); the sympy-based scorers
    (countdown, puzzle24, polynomial_multiplication, simple_integration, intermediate_integration)
    only see arithmetic made of numbers, single-letter names, known math functions and + - * / **
    ^ with small exponents (which also refuses `Integral(f, x)`, an unevaluated integral RG's
    integration scorers would accept as an antiderivative); rush_hour move lengths above 6 are cut
    to 6 (identical on a 6x6 board, where the scorer would otherwise loop once per requested step);
  * fixed RG defect: game_of_life_halting's scorer compares `bool(answer)` with `bool(stored)`,
    so every non-empty answer scores 1.0; the adapter compares "True"/"False" case-insensitively.

Reference solutions. Most RG answers cannot be recomputed here, so the reference solution prints the
stored RG answer; it shows that the checker is reachable, not that code solves the task. Where RG
stores no answer: rush_hour and boxnet get a real solver (a breadth-first search over the board; a
box-by-box planner), and graph_color, propositional_logic and rubiks_cube print the valid example
answer RG keeps in the metadata.

Knobs: the fields of the dataset's own RG config dataclass (its difficulty settings), passed
through and validated by RG (`seed` and `size` are set by the adapter).

Generation speed (CPU time per item, see docs/reasoning_gym_selection.md): most datasets take well
under 10 ms an item; the slow ones are knight_swap (~1.2 s, up to 6.5 s), futoshiki (~0.5 s, up to
5 s), zebra_puzzles and sokoban (~0.2 s; sokoban has rare items of several seconds) and
intermediate_integration (~0.1 s).
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import hashlib
import io
import json
import math
import operator
import random
import re
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any, NamedTuple

from .answers import normalise_answer
from .base import Instance, Task, TaskConfig
from .common import generated_id
from .registry import register_task

PINNED_VERSION = "0.1.25"
PREFIX = "rg."

INDEX_SPAN = 2**32  # virtual size of index-mode datasets; seeds must lie in [0, INDEX_SPAN)
# (pool_matrix seeds numpy with `rg_seed + index`, which numpy requires to be below 2**32)
BLOCK = 100  # items per RG dataset object for the datasets in BLOCK_MODE
BLOCK_MODE = frozenset(
    {
        "acre",  # pre-generates all `size` questions and mixes three question kinds by share of `size`
        "gsm_symbolic",  # draws `size` templates up front with Random(seed)
        "list_functions",  # draws `size` task kinds up front with Random(seed)
        "word_ladder",  # refuses sizes above 20,000 and shrinks its size when a pair search fails
    }
)
MAX_ANSWER_CHARS = 100_000
ITEM_STRIDE = 2654435761  # an unusable item at item seed t is replaced by the one at t + ITEM_STRIDE
MAX_ITEM_TRIES = 16
# Generators whose items depend on the process's string-hash seed (they iterate over sets of
# strings). Unless this process runs with PYTHONHASHSEED=0, their items come from a helper process
# that does (tasks/_rg_worker.py), so that a seed gives the same question in every process and run.
HASH_DEPENDENT = frozenset(
    {
        "codeio",
        "isomorphic_strings",
        "knight_swap",
        "list_functions",
        "polynomial_multiplication",
        "ransom_note",
        "word_ladder",
    }
)
# Generators always run in the helper process: codeio executes code snippets from its data file,
# which print, warn, start threads and look for files in the working directory.
ISOLATED = frozenset({"codeio"})

ANSWER_SENTENCE = (
    "Write your final answer inside <<< and >>>, in exactly the format the question asks for, with "
    "nothing else inside the markers."
)


class DatasetInfo(NamedTuple):
    """Frozen labels of one RG dataset: the package's own domain (its subpackage), the CodeSteer
    category (execution / planning / reasoning) and the checker type (EM or CK)."""

    domain: str
    category: str
    checker: str


# Every dataset of reasoning_gym 0.1.25 except `composite` (a mixer of other datasets, not a task).
# Category: the domain's default (arithmetic, algorithmic, code -> execution; games, graphs ->
# planning; algebra, arc, cognition, geometry, induction, logic, probability -> reasoning), except
# where the answer is a plan or a constraint search (cryptarithm, graph_color, jugs, rubiks_cube,
# word_ladder -> planning), a mechanical decoding (emoji_mystery) or CodeSteer files the twin task
# under execution (mahjong_puzzle), or the question is a word problem or inference
# (gsm_symbolic, family_relationships -> reasoning).
# Checker: CK where RG's scorer verifies the answer against the rules and accepts any valid one.
DATASETS: dict[str, DatasetInfo] = {
    name: DatasetInfo(*info)
    for name, info in {
        "ab": ("algorithmic", "execution", "EM"),
        "acre": ("induction", "reasoning", "EM"),
        "advanced_geometry": ("geometry", "reasoning", "EM"),
        "aiw": ("logic", "reasoning", "EM"),
        "arc_1d": ("arc", "reasoning", "EM"),
        "arc_agi": ("arc", "reasoning", "EM"),
        "base_conversion": ("algorithmic", "execution", "EM"),
        "basic_arithmetic": ("arithmetic", "execution", "EM"),
        "bf": ("code", "execution", "EM"),
        "binary_alternation": ("algorithmic", "execution", "EM"),
        "binary_matrix": ("algorithmic", "execution", "EM"),
        "bitwise_arithmetic": ("arithmetic", "execution", "EM"),
        "boxnet": ("games", "planning", "CK"),
        "caesar_cipher": ("algorithmic", "execution", "EM"),
        "calendar_arithmetic": ("arithmetic", "execution", "EM"),
        "chain_sum": ("arithmetic", "execution", "EM"),
        "circuit_logic": ("logic", "reasoning", "EM"),
        "codeio": ("code", "execution", "EM"),
        "coin_flip": ("probability", "reasoning", "EM"),
        "color_cube_rotation": ("cognition", "reasoning", "EM"),
        "complex_arithmetic": ("algebra", "reasoning", "EM"),
        "count_bits": ("arithmetic", "execution", "EM"),
        "count_primes": ("algorithmic", "execution", "EM"),
        "countdown": ("games", "planning", "CK"),
        "course_schedule": ("graphs", "planning", "EM"),
        "cryptarithm": ("algorithmic", "planning", "CK"),
        "decimal_arithmetic": ("arithmetic", "execution", "EM"),
        "decimal_chain_sum": ("arithmetic", "execution", "EM"),
        "dice": ("arithmetic", "execution", "EM"),
        "emoji_mystery": ("games", "execution", "EM"),
        "family_relationships": ("graphs", "reasoning", "EM"),
        "figlet_font": ("cognition", "reasoning", "EM"),
        "fraction_simplification": ("arithmetic", "execution", "EM"),
        "futoshiki": ("games", "planning", "EM"),
        "game_of_life": ("algorithmic", "execution", "EM"),
        "game_of_life_halting": ("algorithmic", "execution", "EM"),
        "gcd": ("arithmetic", "execution", "EM"),
        "graph_color": ("algorithmic", "planning", "CK"),
        "group_anagrams": ("algorithmic", "execution", "EM"),
        "gsm_symbolic": ("arithmetic", "reasoning", "EM"),
        "intermediate_integration": ("algebra", "reasoning", "CK"),
        "isomorphic_strings": ("algorithmic", "execution", "EM"),
        "jugs": ("algorithmic", "planning", "CK"),
        "kakurasu": ("games", "planning", "CK"),
        "knight_swap": ("games", "planning", "CK"),
        "knights_knaves": ("logic", "reasoning", "EM"),
        "largest_island": ("graphs", "planning", "EM"),
        "lcm": ("arithmetic", "execution", "EM"),
        "leg_counting": ("arithmetic", "execution", "EM"),
        "letter_counting": ("algorithmic", "execution", "EM"),
        "letter_jumble": ("algorithmic", "execution", "EM"),
        "list_functions": ("induction", "reasoning", "EM"),
        "mahjong_puzzle": ("games", "execution", "EM"),
        "manipulate_matrix": ("algorithmic", "execution", "EM"),
        "maze": ("games", "planning", "EM"),
        "mini_sudoku": ("games", "planning", "EM"),
        "modulo_grid": ("cognition", "reasoning", "EM"),
        "n_queens": ("games", "planning", "CK"),
        "needle_haystack": ("cognition", "reasoning", "EM"),
        "number_filtering": ("algorithmic", "execution", "EM"),
        "number_format": ("arithmetic", "execution", "EM"),
        "number_sequence": ("cognition", "reasoning", "EM"),
        "number_sorting": ("algorithmic", "execution", "EM"),
        "palindrome_generation": ("algorithmic", "execution", "CK"),
        "palindrome_partitioning": ("algorithmic", "execution", "EM"),
        "path_star": ("graphs", "planning", "EM"),
        "polynomial_equations": ("algebra", "reasoning", "EM"),
        "polynomial_multiplication": ("algebra", "reasoning", "EM"),
        "pool_matrix": ("algorithmic", "execution", "EM"),
        "power_function": ("arithmetic", "execution", "EM"),
        "prime_factorization": ("arithmetic", "execution", "EM"),
        "products": ("arithmetic", "execution", "EM"),
        "propositional_logic": ("logic", "reasoning", "CK"),
        "puzzle24": ("games", "planning", "CK"),
        "quantum_lock": ("graphs", "planning", "CK"),
        "ransom_note": ("algorithmic", "execution", "EM"),
        "rearc": ("arc", "reasoning", "EM"),
        "rectangle_count": ("cognition", "reasoning", "EM"),
        "rotate_matrix": ("algorithmic", "execution", "EM"),
        "rotten_oranges": ("algorithmic", "execution", "EM"),
        "rubiks_cube": ("cognition", "planning", "CK"),
        "rush_hour": ("games", "planning", "CK"),
        "self_reference": ("logic", "reasoning", "EM"),
        "sentence_reordering": ("algorithmic", "execution", "EM"),
        "shortest_path": ("graphs", "planning", "CK"),
        "simple_equations": ("algebra", "reasoning", "EM"),
        "simple_geometry": ("geometry", "reasoning", "EM"),
        "simple_integration": ("algebra", "reasoning", "CK"),
        "sokoban": ("games", "planning", "CK"),
        "spell_backward": ("algorithmic", "execution", "EM"),
        "spiral_matrix": ("algorithmic", "execution", "EM"),
        "string_insertion": ("algorithmic", "execution", "EM"),
        "string_manipulation": ("algorithmic", "execution", "EM"),
        "string_splitting": ("algorithmic", "execution", "EM"),
        "string_synthesis": ("algorithmic", "execution", "EM"),
        "sudoku": ("games", "planning", "EM"),
        "survo": ("games", "planning", "EM"),
        "syllogism": ("logic", "reasoning", "EM"),
        "time_intervals": ("arithmetic", "execution", "EM"),
        "tower_of_hanoi": ("games", "planning", "CK"),
        "tsumego": ("games", "planning", "EM"),
        "word_ladder": ("algorithmic", "planning", "CK"),
        "word_sequence_reversal": ("algorithmic", "execution", "EM"),
        "word_sorting": ("algorithmic", "execution", "EM"),
        "zebra_puzzles": ("logic", "reasoning", "EM"),
    }.items()
}

# The selection rule, applied to the 106 names registered by reasoning_gym 0.1.25. Each excluded
# name with its reason; docs/reasoning_gym_selection.md explains the rule and the evidence.
NOT_A_TASK = "composite"
ADDED_AFTER_0_1_19: dict[str, str] = {
    name: "added after reasoning_gym 0.1.19 (the paper's version)"
    for name in ("coin_flip", "kakurasu", "path_star", "survo")
}
DUPLICATES: dict[str, str] = {
    "boxnet": "BoxNet (SymBench): the same box-moving planner, ported from CodeSteer",
    "puzzle24": "Game24 (SymBench): make 24 from four numbers",
    "countdown": "Game24 (SymBench): reach a target with + - * / from given numbers, the N-number "
    "variant of CodeSteer's Game 24 data",
    "string_insertion": "StringInsertion (SymBench): ported from CodeSteer",
    "string_splitting": "StringSplitting (SymBench): ported from CodeSteer",
    "string_synthesis": "StringSynthesis (SymBench): ported from CodeSteer",
    "string_manipulation": "StringDeletionModification (SymBench): ported from CodeSteer "
    "(credited in its source as create_dataset_string_deletion_and_modification)",
    "mahjong_puzzle": "Mahjong (SymBench): ported from CodeSteer",
    "pool_matrix": "Pooling (SymBench): max/average pooling of a matrix",
    "rotate_matrix": "MatrixTransformation (SymBench): rotate a matrix clockwise",
    "letter_counting": "Letters (SymBench): count a letter in a word",
    "sudoku": "StandardSudoku (SymBench): solve a 9x9 sudoku",
    "mini_sudoku": "StandardSudoku (SymBench): the same puzzle on a 4x4 grid",
    "n_queens": "EightQueens (SymBench): complete an N-queens board",
    "products": "NumberMultiply (SymBench): the exact product of integers",
    "word_sorting": "bbh.word_sorting (BBH): sort words alphabetically",
    "basic_arithmetic": "bbh.multistep_arithmetic_two (BBH): evaluate a nested integer expression",
}
EXCLUDED: dict[str, str] = {
    NOT_A_TASK: "not a task: a mixer that samples items from other datasets",
    **ADDED_AFTER_0_1_19,
    **{name: f"duplicates {reason}" for name, reason in DUPLICATES.items()},
}


def select_paper_datasets(registered: list[str] | set[str]) -> list[str]:
    """The selection rule: the registered RG dataset names minus `EXCLUDED`, sorted."""
    return sorted(set(registered) - set(EXCLUDED))


# The 84 Reasoning-Gym datasets of the paper suite (frozen; tests re-derive it from the package).
PAPER_DATASETS: tuple[str, ...] = (
    "ab",
    "acre",
    "advanced_geometry",
    "aiw",
    "arc_1d",
    "arc_agi",
    "base_conversion",
    "bf",
    "binary_alternation",
    "binary_matrix",
    "bitwise_arithmetic",
    "caesar_cipher",
    "calendar_arithmetic",
    "chain_sum",
    "circuit_logic",
    "codeio",
    "color_cube_rotation",
    "complex_arithmetic",
    "count_bits",
    "count_primes",
    "course_schedule",
    "cryptarithm",
    "decimal_arithmetic",
    "decimal_chain_sum",
    "dice",
    "emoji_mystery",
    "family_relationships",
    "figlet_font",
    "fraction_simplification",
    "futoshiki",
    "game_of_life",
    "game_of_life_halting",
    "gcd",
    "graph_color",
    "group_anagrams",
    "gsm_symbolic",
    "intermediate_integration",
    "isomorphic_strings",
    "jugs",
    "knight_swap",
    "knights_knaves",
    "largest_island",
    "lcm",
    "leg_counting",
    "letter_jumble",
    "list_functions",
    "manipulate_matrix",
    "maze",
    "modulo_grid",
    "needle_haystack",
    "number_filtering",
    "number_format",
    "number_sequence",
    "number_sorting",
    "palindrome_generation",
    "palindrome_partitioning",
    "polynomial_equations",
    "polynomial_multiplication",
    "power_function",
    "prime_factorization",
    "propositional_logic",
    "quantum_lock",
    "ransom_note",
    "rearc",
    "rectangle_count",
    "rotten_oranges",
    "rubiks_cube",
    "rush_hour",
    "self_reference",
    "sentence_reordering",
    "shortest_path",
    "simple_equations",
    "simple_geometry",
    "simple_integration",
    "sokoban",
    "spell_backward",
    "spiral_matrix",
    "syllogism",
    "time_intervals",
    "tower_of_hanoi",
    "tsumego",
    "word_ladder",
    "word_sequence_reversal",
    "zebra_puzzles",
)
EXTRA_DATASETS: tuple[str, ...] = tuple(sorted(set(DATASETS) - set(PAPER_DATASETS)))


def task_name(dataset: str) -> str:
    """The registered task name of an RG dataset: `rg.<dataset>`."""
    return PREFIX + dataset


# ---------------------------------------------------------------- the package (imported lazily)

_LOCK = threading.RLock()  # RG generators share module state (numpy's global RNG); one at a time
_DATASET_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_ENTRY_CACHE: OrderedDict[tuple, dict] = OrderedDict()
_DATASET_CACHE_SIZE = 64
_ENTRY_CACHE_SIZE = 1024
_NOISY = frozenset({"bf"})  # generators that print to stdout while building an item


def _package() -> Any:
    """`reasoning_gym.factory`, imported on first use, with a clear error when it is missing."""
    try:
        import reasoning_gym  # noqa: F401
        from reasoning_gym import factory
    except ImportError as exc:
        raise ImportError(
            f"the Reasoning-Gym tasks need the reasoning_gym package ({PINNED_VERSION}): pip install 'r1ci[tasks]'"
        ) from exc
    _check_version()
    return factory


_VERSION_CHECKED = False


def _check_version() -> None:
    global _VERSION_CHECKED
    if _VERSION_CHECKED:
        return
    _VERSION_CHECKED = True
    try:
        from importlib.metadata import version

        installed = version("reasoning_gym")
    except Exception:  # pragma: no cover - metadata missing in odd installs
        return
    if installed != PINNED_VERSION:
        warnings.warn(
            f"reasoning_gym {installed} is installed but r1ci pins {PINNED_VERSION}: Reasoning-Gym "
            "questions and the frozen dataset lists may differ",
            RuntimeWarning,
            stacklevel=3,
        )


def _options_key(options: dict[str, Any]) -> str:
    return repr(sorted(options.items()))


def rg_position(dataset: str, seed: int) -> tuple[int, int, int]:
    """(RG dataset seed, RG dataset size, item index) of our seed; see the module docstring."""
    if not 0 <= seed < INDEX_SPAN:
        raise ValueError(f"Reasoning-Gym seeds must be integers in [0, 2**32), got {seed}")
    if dataset in BLOCK_MODE:
        base = seed - seed % BLOCK
        return base, BLOCK, seed - base
    return 0, INDEX_SPAN, seed


def _dataset(dataset: str, options: dict[str, Any], rg_seed: int, size: int) -> Any:
    key = (dataset, _options_key(options), rg_seed, size)
    with _LOCK:
        found = _DATASET_CACHE.get(key)
        if found is not None:
            _DATASET_CACHE.move_to_end(key)
            return found
        dataset_cls, config_cls = _package().DATASETS[dataset]
        config = config_cls(**options, seed=rg_seed, size=size)
        made = dataset_cls(config=config)
        _DATASET_CACHE[key] = made
        if len(_DATASET_CACHE) > _DATASET_CACHE_SIZE:
            _DATASET_CACHE.popitem(last=False)
        return made


def generate_entry(dataset: str, options: dict[str, Any], seed: int) -> dict:
    """The raw RG entry for our seed, made in this process. Python's global `random` and numpy's
    global RNG are seeded from (dataset, seed) around the call and restored afterwards, because
    some generators draw from them (list_functions, and code run by codeio), which would otherwise
    make an item depend on what was generated before it."""
    rg_seed, size, index = rg_position(dataset, seed)
    with _LOCK:
        made = _dataset(dataset, options, rg_seed, size)
        quiet = contextlib.redirect_stdout(io.StringIO()) if dataset in _NOISY else contextlib.nullcontext()
        try:
            with quiet, _seeded_globals(dataset, seed):
                return made[index]
        except Exception:
            # a failed item may leave the dataset object changed (word_ladder shrinks its size)
            _DATASET_CACHE.pop((dataset, _options_key(options), rg_seed, size), None)
            raise


@contextlib.contextmanager
def _seeded_globals(dataset: str, seed: int) -> Iterator[None]:
    import numpy as np

    state, np_state = random.getstate(), np.random.get_state()
    digest = hashlib.sha256(f"r1ci/{dataset}/{seed}".encode()).digest()
    random.seed(digest)
    np.random.seed(int.from_bytes(digest[:4], "big"))
    try:
        yield
    finally:
        random.setstate(state)
        np.random.set_state(np_state)


def _needs_worker(dataset: str) -> bool:
    """Whether items of `dataset` must come from the worker process (see HASH_DEPENDENT, ISOLATED)."""
    return dataset in ISOLATED or (dataset in HASH_DEPENDENT and sys.flags.hash_randomization != 0)


def _raw_item(dataset: str, options: dict[str, Any], item_seed: int) -> tuple[dict, Any]:
    """The raw RG entry at `item_seed` and the dataset object that scores it (not cached)."""
    rg_seed, size, _ = rg_position(dataset, item_seed)
    made = _dataset(dataset, options, rg_seed, size)
    if _needs_worker(dataset):
        return _worker().generate(dataset, options, item_seed), made
    return generate_entry(dataset, options, item_seed), made


def _entry(dataset: str, options: dict[str, Any], seed: int) -> tuple[dict, Any, int]:
    """The RG entry that serves our seed (cached), the dataset object that scores it, and its item
    seed: `seed` itself, or the next candidate when that item is unusable (see `_usable`)."""
    rg_position(dataset, seed)  # validates the seed
    key = (dataset, _options_key(options), seed)
    with _LOCK:
        cached = _ENTRY_CACHE.get(key)
        if cached is not None:
            _ENTRY_CACHE.move_to_end(key)
            entry, item_seed = cached
            rg_seed, size, _ = rg_position(dataset, item_seed)
            return entry, _dataset(dataset, options, rg_seed, size), item_seed
        for attempt in range(MAX_ITEM_TRIES):
            item_seed = (seed + attempt * ITEM_STRIDE) % INDEX_SPAN
            entry, made = _raw_item(dataset, options, item_seed)
            if _usable(dataset, entry, made):
                break
        else:
            raise RuntimeError(f"rg.{dataset}: no usable item among {MAX_ITEM_TRIES} candidates for seed {seed}")
        _ENTRY_CACHE[key] = (entry, item_seed)
        if len(_ENTRY_CACHE) > _ENTRY_CACHE_SIZE:
            _ENTRY_CACHE.popitem(last=False)
        return entry, made, item_seed


def _usable(dataset: str, entry: dict, made: Any) -> bool:
    """Whether an RG item can be served: its stored answer (when it has one) is not empty and scores
    1.0 under this adapter's scoring."""
    stored = entry.get("answer")
    if stored is None:
        return True
    text = str(stored).strip()
    return bool(text) and score_entry(dataset, text, entry, made) >= 1.0


def score_entry(dataset: str, answer: str, entry: dict, made: Any, *, partial: bool = False) -> float:
    """The adapter's reward for an extracted answer against a raw RG entry (module docstring): 1.0 or
    0.0, or with `partial` RG's score clamped to [0, 1] (after the same screens; a full score only
    for an answer the binary reward also accepts)."""
    text = answer.strip()
    if not text or len(text) > MAX_ANSWER_CHARS:
        return 0.0
    stored = entry.get("answer")
    if isinstance(stored, str) and stored != stored.strip() and text == stored.strip():
        text = stored
    if dataset == "game_of_life_halting":
        return 1.0 if text.casefold() == str(stored).strip().casefold() else 0.0
    if not well_formed(dataset, text, entry, partial=True):
        return 0.0
    screened = _screen(dataset, text, entry)
    if screened is None:
        return 0.0
    with _LOCK, contextlib.redirect_stdout(io.StringIO()):  # some scorers print (tower_of_hanoi)
        try:
            reward = float(made.score_answer(answer=screened, entry=_scoring_entry(dataset, entry)))
        except Exception:
            return 0.0
    if not math.isfinite(reward):
        return 0.0
    if reward >= 1.0:  # a full score only for what the binary screens accept too
        return 1.0 if well_formed(dataset, text, entry) else 0.0
    return max(0.0, reward) if partial else 0.0


_WORKER: Any = None


def _worker() -> Any:
    global _WORKER
    if _WORKER is None:
        from ._rg_worker import WorkerClient

        _WORKER = WorkerClient()
    return _WORKER


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data: tuples and sets become lists, dict keys strings, fractions,
    decimals and other objects their `str`, non-finite floats strings."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(item) for item in value), key=repr)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else repr(value)
    if isinstance(value, (Fraction, Decimal)):
        return str(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist())
    return str(value)


# ---------------------------------------------------------------- the task


@dataclass
class ReasoningGymConfig(TaskConfig):
    """dataset: the RG dataset served (fixed at registration).
    options: settings of the dataset's own RG config dataclass (its difficulty knobs), passed
        through; given as keyword knobs, e.g. `gym.make("r1ci/rg.maze-v0", min_dist=5)`.
    partial_credit: False (default) makes the reward 1.0 or 0.0 like every other task; True makes it
        RG's own score, partial credit included (opt-in, for shaping experiments).
    """

    dataset: str = "chain_sum"
    options: dict[str, Any] = field(default_factory=dict)
    partial_credit: bool = False


class ReasoningGymTask(Task):
    """One Reasoning-Gym dataset. `name`, `category` and `checker` are set per instance from the
    dataset (see `DATASETS`)."""

    name = "rg"
    source = "reasoning_gym"
    category = "reasoning"
    checker = "EM"
    config_class = ReasoningGymConfig
    config: ReasoningGymConfig

    def __init__(
        self,
        config: ReasoningGymConfig | None = None,
        *,
        category: str | None = None,
        checker: str | None = None,
        **knobs: Any,
    ) -> None:
        dataset = knobs.pop("dataset", None)
        options = dict(knobs.pop("options", None) or {})
        partial = knobs.pop("partial_credit", None)
        if config is None:
            config = ReasoningGymConfig(dataset=dataset or ReasoningGymConfig.dataset)
        elif dataset is not None:
            config = dataclasses.replace(config, dataset=dataset)
        config = dataclasses.replace(config, options={**config.options, **options, **knobs})
        if partial is not None:
            config = dataclasses.replace(config, partial_credit=bool(partial))
        info = DATASETS.get(config.dataset)
        if info is None:
            raise ValueError(f"unknown Reasoning-Gym dataset {config.dataset!r}; known: {', '.join(DATASETS)}")
        self.name = task_name(config.dataset)
        self.category = category or info.category
        self.checker = checker or info.checker
        super().__init__(config)

    def validate_config(self) -> None:
        """Check the knobs against the dataset's RG config dataclass and RG's own validation."""
        dataset, options = self.config.dataset, self.config.options
        factory = _package()
        if dataset not in factory.DATASETS:
            raise ValueError(f"reasoning_gym has no dataset {dataset!r} (is version {PINNED_VERSION} installed?)")
        config_cls = factory.DATASETS[dataset][1]
        valid = {f.name for f in dataclasses.fields(config_cls)} - {"seed", "size"}
        unknown = sorted(set(options) - valid)
        if unknown:
            raise TypeError(
                f"{self.name} has no generator setting {', '.join(map(repr, unknown))}; "
                f"valid settings: {', '.join(sorted(valid)) or '(none)'}"
            )
        rg_seed, size, _ = rg_position(dataset, 0)
        try:
            rg_config = config_cls(**options, seed=rg_seed, size=size)
            if callable(getattr(rg_config, "validate", None)):
                rg_config.validate()
        except (AssertionError, ValueError, TypeError) as exc:
            raise ValueError(f"{self.name}: invalid settings {options!r}: {exc}") from exc
        self._difficulty = {
            "dataset": dataset,
            "partial_credit": self.config.partial_credit,
            **{
                key: jsonable(value)
                for key, value in dataclasses.asdict(rg_config).items()
                if key not in ("seed", "size")
            },
        }

    def difficulty(self) -> dict[str, Any]:
        """The dataset name and every field of its RG config (defaults included), without seed/size."""
        return dict(self._difficulty)

    def generate(self, seed: int) -> Instance:
        seed, dataset = operator.index(seed), self.config.dataset
        entry, _, item_seed = _entry(dataset, self.config.options, seed)
        rg_seed, _, index = rg_position(dataset, item_seed)
        gold = {
            "question": jsonable(entry["question"]),
            "answer": jsonable(entry.get("answer")),
            "metadata": jsonable(entry.get("metadata", {})),
        }
        return Instance(
            question=f"{entry['question'].rstrip()}\n\n{ANSWER_SENTENCE}",
            gold=gold,
            instance_id=generated_id(seed),
            metadata={"dataset": dataset, "seed": seed, "rg_seed": rg_seed, "rg_index": index},
        )

    def _source_entry(self, instance: Instance) -> tuple[dict, Any]:
        """The original RG entry (and dataset object) of an instance, regenerated from its seed."""
        seed = instance.metadata.get("seed")
        if not isinstance(seed, int) or instance.metadata.get("dataset") != self.config.dataset:
            raise ValueError(f"{self.name}: the instance was not generated by this task")
        entry, made, _ = _entry(self.config.dataset, self.config.options, seed)
        if entry["question"] != instance.gold["question"]:
            raise ValueError(f"{self.name}: the instance was generated with other settings than this task's")
        return entry, made

    def score(self, answer: str, instance: Instance) -> float:
        """1.0 or 0.0 (RG's own score with the `partial_credit` knob)."""
        return self._scored(answer, instance, self.config.partial_credit)

    def partial_score(self, answer: str, instance: Instance) -> float:
        """RG's own score in [0, 1] (partial credit included), after the same normalisation and
        screens as `score`; for logging or shaping beside the binary reward."""
        return self._scored(normalise_answer(answer), instance, True)

    def _scored(self, answer: str, instance: Instance, partial: bool) -> float:
        if not answer.strip():
            return 0.0
        entry, made = self._source_entry(instance)
        return score_entry(self.config.dataset, answer, entry, made, partial=partial)

    def reference_solution(self, instance: Instance) -> str:
        dataset, gold = self.config.dataset, instance.gold
        if dataset == "rush_hour":
            board = gold["question"].rsplit("Board:", 1)[1].strip("\n")
            return _RUSH_HOUR_SOLVER.replace("__BOARD__", repr(board))
        if dataset == "boxnet":
            return _BOXNET_PLANNER.replace("__STATE__", repr(gold["metadata"]["initial_state"]))
        answer = reference_answer(dataset, gold)
        return (
            "# Reasoning-Gym answers cannot be recomputed here: print the answer RG stores for this\n"
            "# item (for datasets without one, the valid example answer in its metadata).\n"
            f"print({answer!r})\n"
        )

    def num_questions(self) -> int | None:
        """None (unbounded) except for datasets whose settings allow only a few distinct questions."""
        count = _FINITE.get(self.config.dataset)
        return count(self._difficulty) if count else None


def _hanoi_questions(settings: dict[str, Any]) -> int:
    """tower_of_hanoi: a question is (disks, pegs, start peg, target peg)."""
    disks = settings["max_disks"] - settings["min_disks"] + 1
    return disks * sum(pegs * (pegs - 1) for pegs in range(settings["min_pegs"], settings["max_pegs"] + 1))


_FINITE = {"tower_of_hanoi": _hanoi_questions}


def reference_answer(dataset: str, gold: dict[str, Any]) -> str:
    """The answer the reference solution prints for datasets solved by lookup."""
    metadata = gold.get("metadata", {})
    if gold.get("answer") is not None:
        return str(gold["answer"])
    if dataset == "graph_color":
        return json.dumps(metadata["possible_answer"])
    if dataset == "propositional_logic":
        return str(metadata["example_answer"])
    if dataset == "rubiks_cube":
        return str(metadata["example_correct_answer"])
    raise ValueError(f"rg.{dataset}: RG stores no answer for this item")


# ---------------------------------------------------------------- well-formedness screens (RG scorer defects)

_NON_FINITE = re.compile(r"\b(?:nan|inf|infinity)\b", re.IGNORECASE)
_HEDGE = re.compile(r"\b(?:or|either|maybe|perhaps)\b", re.IGNORECASE)
_WRAPPING = frozenset("[](){}\"'` .")  # what may surround a reference answer (one "." at most)
_NUMBER_TOLERANCE = Fraction(1, 10_000)  # relative, for a non-integer reference number
_SINGLE_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d{1,3})?(?:/\d+)?")
_MAX_NUMBER_CHARS = 400  # with exponents below 1000, so that Fraction() stays cheap
# Answer grammars of CK datasets whose scorers pick moves out of any text (or where RG stores no
# answer to compare with); an answer must match in full.
_GRAMMARS: dict[str, re.Pattern[str]] = {
    "rush_hour": re.compile(r"[A-Z][+-]\d+(?:\s+[A-Z][+-]\d+)*"),
    "sokoban": re.compile(r"[UDLR]+"),
    "quantum_lock": re.compile(r"[ABC](?:\s*(?:→|->|,)?\s*[ABC])*"),
    "tower_of_hanoi": re.compile(
        r"{0}(?:\s*\n\s*{0})*".format(r"Move disk \d+ from Peg \d+ to Peg \d+"), re.IGNORECASE
    ),
}
# CK datasets whose valid answers may contain the stored one plus more (a longer plan, an
# antiderivative plus a constant, an equivalent expression): exempt from the padding rule. Their
# scorers parse the answer strictly (or `_GRAMMARS` / the sympy screen does).
_EXTENSIBLE = frozenset(
    {
        "boxnet",
        "countdown",
        "intermediate_integration",
        "jugs",
        "knight_swap",
        "puzzle24",
        "quantum_lock",
        "rubiks_cube",
        "rush_hour",
        "shortest_path",
        "simple_integration",
        "sokoban",
        "tower_of_hanoi",
        "word_ladder",
    }
)
# CK datasets whose question asks for any valid plan but whose scorer scales the reward down for a
# plan longer than the stored one: scored with the stored length made unreachable.
_ANY_LENGTH: dict[str, tuple[str, Any]] = {
    "tower_of_hanoi": ("solution_length", 10**12),
    "knight_swap": ("solution", range(10**12)),
}


# What the reward-hacking battery found RG's own scorer doing (reasoning_gym 0.1.25, first items);
# the screens above close each of these. docs/tasks.md lists them per task.
UPSTREAM_DEFECTS: dict[str, str] = {
    "complex_arithmetic": "RG scores `nan` 1.0",
    "cryptarithm": "RG takes the last of repeated letter assignments",
    "fraction_simplification": "RG takes the first fraction anywhere (hedges, padding)",
    "gsm_symbolic": "RG takes the digits of the first number anywhere (hedges, lists, padding, code, "
    "`-44`, `44/7`, `44,000` for 44)",
    "coin_flip": "RG scores `1.5` and `11` 1.0 for 1",
    "number_format": "RG drops every comma (`0.88,000` scores 1.0 for 0.88)",
    "kakurasu": "RG ignores trailing words",
    "knights_knaves": "RG accepts hedged, padded and listed answers",
    "letter_jumble": "RG accepts hedged and padded answers",
    "polynomial_equations": "RG accepts a list holding the roots and more",
    "quantum_lock": "RG picks button letters out of any text",
    "rush_hour": "RG picks moves out of any text",
    "sokoban": "RG picks moves out of any text",
    "spell_backward": "RG accepts hedged and padded answers (float rounding skips its penalty)",
    "survo": "RG ignores trailing words",
    "time_intervals": "RG accepts hedged, padded and listed answers",
    "game_of_life_halting": "RG scores every non-empty answer 1.0",
    "tower_of_hanoi": "RG gives less than 1 to a valid plan longer than the stored one, and reads a move "
    "after any prefix (`>> Move disk 1 ...`)",
    "knight_swap": "RG gives less than 1 to a valid plan longer than the stored one",
}


def well_formed(dataset: str, text: str, entry: dict, *, partial: bool = False) -> bool:
    """Whether `text` is an answer at all, before RG's scorer sees it. Each rule closes a class of
    upstream defect found by the reward-hacking battery (tests/reward_battery.py):
      * no NaN or infinity unless the reference answer has one (complex_arithmetic scores `nan` 1.0);
      * where the reference answer is one number, the answer is one number, and (unless `partial`:
        a wrong number is still an answer for RG's partial credit) of that value: equal to an
        integer reference, within a relative 1e-4 of another (gsm_symbolic takes the digits of the
        first number anywhere: `41 or 42`, `[42, 7]`, `print(42)`, `-42`, `42/7` and `42,000` all
        score 1.0 for 42; coin_flip scores `1.5` and `11` 1.0 for 1);
      * no hedge word ("or", "either", "maybe", "perhaps") unless the reference answer has one;
      * not the reference answer plus anything but brackets, quotes and one full stop (padding, a
        list around it, code that prints it, "!!!": letter_jumble, spell_backward, time_intervals,
        knights_knaves, cryptarithm, polynomial_equations, kakurasu accept some of these), except for
        the datasets in `_EXTENSIBLE`, where a longer answer can be valid;
      * datasets in `_GRAMMARS` match their answer grammar in full (rush_hour, sokoban, quantum_lock
        pick moves out of any text; tower_of_hanoi reads a move after any prefix).
    """
    reference = _reference_text(dataset, entry)
    if _NON_FINITE.search(text) and not _NON_FINITE.search(reference):
        return False
    wanted = _number_value(reference)
    if wanted is not None:
        value = _number_value(text)
        return value is not None and (partial or _same_number(value, wanted, reference))
    if _HEDGE.search(text) and not _HEDGE.search(reference):
        return False
    grammar = _GRAMMARS.get(dataset)
    if grammar is not None and not grammar.fullmatch(text):
        return False
    return dataset in _EXTENSIBLE or not _pads(text, reference)


def _same_number(value: Fraction, wanted: Fraction, reference: str) -> bool:
    """Equal to an integer reference; within `_NUMBER_TOLERANCE` (relative) of another."""
    if re.fullmatch(r"[+-]?\d+", reference):
        return value == wanted
    return abs(value - wanted) <= _NUMBER_TOLERANCE * abs(wanted)


def _number_value(text: str) -> Fraction | None:
    """The value of one number (sign, thousands commas, decimals, exponent, `a/b`), or None."""
    compact = text.replace(" ", "")
    if (
        not 0 < len(compact) <= _MAX_NUMBER_CHARS
        or not any(ch.isdigit() for ch in compact)
        or not _SINGLE_NUMBER.fullmatch(compact)
    ):
        return None
    try:
        return Fraction(compact.replace(",", ""))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def _reference_text(dataset: str, entry: dict) -> str:
    """The stored (or example) answer of a raw RG entry, stripped; "" when RG keeps none."""
    try:
        return reference_answer(dataset, entry).strip()
    except (ValueError, KeyError, TypeError):
        return ""


def _pads(text: str, reference: str) -> bool:
    """Whether `text` is `reference` with anything around it (compared with whitespace collapsed and
    case folded) but brackets, quotes and one full stop, which are left to RG."""
    answer, wanted = " ".join(text.split()).casefold(), " ".join(reference.split()).casefold()
    if not wanted or answer == wanted or wanted not in answer:
        return False
    rest = answer.replace(wanted, "", 1)
    return rest.count(".") > 1 or any(ch not in _WRAPPING for ch in rest)


def _scoring_entry(dataset: str, entry: dict) -> dict:
    """The entry RG's scorer sees: a copy (some scorers write into the metadata), with the stored plan
    length made unreachable for the datasets in `_ANY_LENGTH`."""
    metadata = dict(entry.get("metadata") or {})
    if dataset in _ANY_LENGTH:
        key, value = _ANY_LENGTH[dataset]
        metadata[key] = value
    return {**entry, "metadata": metadata}


# ---------------------------------------------------------------- safety screens

_EVAL_SCORERS = frozenset({"binary_matrix", "spiral_matrix", "string_insertion", "n_queens"})
_SYMPY_SCORERS = frozenset(
    {
        "countdown",
        "puzzle24",
        "polynomial_multiplication",
        "simple_integration",
        "intermediate_integration",
    }
)
_MATH_NAMES = frozenset(
    {
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "asin",
        "acos",
        "atan",
        "sinh",
        "cosh",
        "tanh",
        "asinh",
        "acosh",
        "atanh",
        "exp",
        "log",
        "ln",
        "sqrt",
        "pi",
        "Abs",
        "abs",
    }
)
_MAX_SYMPY_CHARS = 5_000
_MAX_EXPONENT = 64
_RUSH_MOVE = re.compile(r"([A-Z])([+-])(\d+)")


def _screen(dataset: str, text: str, entry: dict) -> str | None:
    """The answer to hand to RG's scorer, or None when it must score 0.0 without being scored."""
    if dataset in _EVAL_SCORERS and text != entry.get("answer") and not _is_literal(text):
        return None
    if dataset in _SYMPY_SCORERS and not _is_plain_math(text):
        return None
    if dataset == "rush_hour":
        return _RUSH_MOVE.sub(lambda m: f"{m[1]}{m[2]}{m[3] if len(m[3]) == 1 else 6}", text)
    return text


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_plain_math(text: str) -> bool:
    """Whether `text` is arithmetic that sympy can parse without running anything else: numbers,
    single-letter names and known math functions, + - * / ** ^, calls without keywords, and no
    power inside an exponent or exponent above `_MAX_EXPONENT`."""
    if len(text) > _MAX_SYMPY_CHARS or not re.fullmatch(r"[\w\s+\-*/^().,]*", text, re.ASCII) or "_" in text:
        return False
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False

    def allowed(node: ast.AST, in_exponent: bool = False) -> bool:
        if isinstance(node, ast.Constant):
            return type(node.value) in (int, float) and (not in_exponent or abs(node.value) <= _MAX_EXPONENT)
        if isinstance(node, ast.Name):
            return len(node.id) == 1 or node.id in _MATH_NAMES
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, (ast.UAdd, ast.USub)) and allowed(node.operand, in_exponent)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                return not in_exponent and allowed(node.left) and allowed(node.right, True)
            return (
                isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div))
                and allowed(node.left, in_exponent)
                and allowed(node.right, in_exponent)
            )
        if isinstance(node, ast.Call):
            return (
                isinstance(node.func, ast.Name)
                and node.func.id in _MATH_NAMES
                and not node.keywords
                and all(allowed(arg, in_exponent) for arg in node.args)
            )
        if isinstance(node, ast.Tuple):  # "x, y" lists of roots
            return not in_exponent and all(allowed(item) for item in node.elts)
        return False

    try:
        return allowed(tree.body)
    except RecursionError:
        return False


# ---------------------------------------------------------------- reference solvers (run in the sandbox)

_RUSH_HOUR_SOLVER = """\
# Rush Hour: breadth-first search over single-step moves, then merge repeated steps.
from collections import deque

BOARD = __BOARD__
rows = BOARD.split("\\n")
size = len(rows)
cells = {}
walls = 0
for r, line in enumerate(rows):
    for c, ch in enumerate(line):
        if ch == "x":
            walls |= 1 << (r * size + c)
        elif ch != ".":
            cells.setdefault(ch, []).append((r, c))
names = sorted(cells)
horizontal = [len({r for r, _ in cells[n]}) == 1 for n in names]
length = [len(cells[n]) for n in names]
lane = [cells[n][0][0] if horizontal[i] else cells[n][0][1] for i, n in enumerate(names)]
start = tuple(min(c for _, c in cells[n]) if horizontal[i] else min(r for r, _ in cells[n])
              for i, n in enumerate(names))


def mask(i, p):
    bits = 0
    for k in range(length[i]):
        bits |= 1 << ((lane[i] * size + p + k) if horizontal[i] else ((p + k) * size + lane[i]))
    return bits


masks = [[mask(i, p) for p in range(size - length[i] + 1)] for i in range(len(names))]
red = names.index("A")
goal = size - length[red]
parent = {start: None}
queue = deque([start])
end = None
while queue:
    state = queue.popleft()
    if state[red] == goal:
        end = state
        break
    occupied = walls
    for i, p in enumerate(state):
        occupied |= masks[i][p]
    for i, p in enumerate(state):
        for step in (-1, 1):
            q = p + step
            if not 0 <= q <= size - length[i]:
                continue
            if masks[i][q] & ~masks[i][p] & occupied:
                continue
            nxt = state[:i] + (q,) + state[i + 1:]
            if nxt not in parent:
                parent[nxt] = (state, i, step)
                queue.append(nxt)
moves = []
while parent[end] is not None:
    end, i, step = parent[end]
    moves.append((names[i], step))
moves.reverse()
merged = []
for name, step in moves:
    if merged and merged[-1][0] == name and (merged[-1][1] > 0) == (step > 0):
        merged[-1][1] += step
    else:
        merged.append([name, step])
print(" ".join(f"{name}{step:+d}" for name, step in merged))
"""

_BOXNET_PLANNER = """\
# BoxNet: move one box at a time along a shortest path of squares to a target of its colour.
import json
from collections import deque

STATE = __STATE__
squares = {key: list(items) for key, items in STATE.items()}
coords = {key: tuple(float(v) for v in key.split("_")) for key in squares}
by_coord = {xy: key for key, xy in coords.items()}


def neighbours(key):
    x, y = coords[key]
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        other = by_coord.get((x + dx, y + dy))
        if other is not None:
            yield other


def path(a, b):
    parent = {a: None}
    queue = deque([a])
    while queue:
        key = queue.popleft()
        if key == b:
            break
        for other in neighbours(key):
            if other not in parent:
                parent[other] = key
                queue.append(other)
    steps = []
    while b is not None:
        steps.append(b)
        b = parent[b]
    return steps[::-1]


def label(key):
    x, y = coords[key]
    return f"{x}, {y}"


targets = {}
for key, items in squares.items():
    for item in items:
        if item.startswith("target_"):
            targets.setdefault(item[7:], []).append(key)
plan = []
for key, items in squares.items():
    for item in items:
        if not item.startswith("box_"):
            continue
        colour = item[4:]
        goal = targets[colour].pop(0)
        route = path(key, goal)
        for here, there in zip(route, route[1:]):
            plan.append({f"Agent[{label(here)}]": f"move(box_{colour}, square[{label(there)}])"})
        plan.append({f"Agent[{label(goal)}]": f"move(box_{colour}, target_{colour})"})
print(json.dumps(plan))
"""


for _dataset_name in DATASETS:
    register_task(
        ReasoningGymTask,
        name=task_name(_dataset_name),
        dataset=_dataset_name,
        category=DATASETS[_dataset_name].category,
        checker=DATASETS[_dataset_name].checker,
    )
