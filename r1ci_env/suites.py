"""The task suites and the train/test split: frozen name lists, not derived from what is registered.

The paper suite has 144 tasks: 33 SymBench + 27 BIG-Bench-Hard + 84 Reasoning-Gym. Its split into
107 training and 37 test tasks is the project's own (the paper's is not public), stratified by
source in the paper's proportions:

* SymBench: the 9 tasks CodeSteer held out as unseen are test (`SYMBENCH_TEST`);
* BBH: 7 of the 27, drawn as `random.Random(SPLIT_SEED).sample(sorted(bbh_names), 7)`;
* Reasoning-Gym: 21 of the 84, drawn as `random.Random(SPLIT_SEED).sample(sorted(rg_names), 21)`;

everything else in the paper suite is train. The drawn names are frozen below as literals; a test
re-derives them from the seed and the rule. The Reasoning-Gym datasets left out of the paper suite
are in split "extra"; any other task (a custom task, say) counts as training.

Suites: "paper", "train", "test", one per source ("symbench", "bbh", "reasoning_gym"), one per
category ("execution", "planning", "reasoning"), and "extra".
"""
from __future__ import annotations

import random

from .tasks.reasoning_gym import EXTRA_DATASETS, PAPER_DATASETS
from .tasks.reasoning_gym import DATASETS as RG_DATASETS
from .tasks.reasoning_gym import task_name as rg_task_name

SPLIT_SEED = 20250527  # the R1-Code-Interpreter paper's arXiv submission date (2505.21668)
BBH_TEST_COUNT = 7
RG_TEST_COUNT = 21

# The 33 SymBench tasks of the paper suite (the 4 SymBench tasks taken from BBH count under BBH),
# with CodeSteer's category of each (TASKS.md, "Skill categories").
SYMBENCH_CATEGORIES: dict[str, str] = {
    "NumberMultiply": "execution",
    "Game24": "planning",
    "PathPlan": "planning",
    "Letters": "planning",
    "BoxLift": "planning",
    "BoxNet": "planning",
    "BlocksWorld": "planning",
    "GSMHard": "reasoning",
    "MathGeometry": "reasoning",
    "MathCountingProbability": "reasoning",
    "LogicalEquation": "planning",
    "NewOperator": "execution",
    "Pooling": "execution",
    "LightPuzzles": "execution",
    "Mahjong": "execution",
    "StatisticalCounting": "execution",
    "MatrixTransformation": "execution",
    "LogicalPuzzle": "planning",
    "ConstrainedLinearArrangement": "planning",
    "PatternRecognition": "execution",
    "StringInsertion": "execution",
    "LetterLogicDiagram": "planning",
    "StringDeletionModification": "execution",
    "StringSynthesis": "execution",
    "Reversi": "execution",
    "StandardSudoku": "planning",
    "EightQueens": "planning",
    "Cryptanalysis": "planning",
    "StringSplitting": "execution",
    "CombinatorialCalculation": "planning",
    "SynthesisDecomposition": "execution",
    "Game2048": "execution",
    "PermutationsCombinations": "planning",
}
SYMBENCH: tuple[str, ...] = tuple(SYMBENCH_CATEGORIES)

# CodeSteer's unseen (held-out) SymBench tasks.
SYMBENCH_TEST: tuple[str, ...] = (
    "Letters", "EightQueens", "NumberMultiply", "Cryptanalysis", "StringSplitting",
    "CombinatorialCalculation", "SynthesisDecomposition", "Game2048", "PermutationsCombinations",
)

BBH_SUBTASKS: tuple[str, ...] = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa", "dyck_languages",
    "formal_fallacies", "geometric_shapes", "hyperbaton", "logical_deduction_five_objects",
    "logical_deduction_seven_objects", "logical_deduction_three_objects", "movie_recommendation",
    "multistep_arithmetic_two", "navigate", "object_counting", "penguins_in_a_table",
    "reasoning_about_colored_objects", "ruin_names", "salient_translation_error_detection", "snarks",
    "sports_understanding", "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects", "web_of_lies",
    "word_sorting",
)
BBH: tuple[str, ...] = tuple(f"bbh.{subtask}" for subtask in BBH_SUBTASKS)
REASONING_GYM: tuple[str, ...] = tuple(rg_task_name(dataset) for dataset in PAPER_DATASETS)
EXTRA: tuple[str, ...] = tuple(rg_task_name(dataset) for dataset in EXTRA_DATASETS)

# Drawn once with `draw_test_split()` and frozen (tests/test_suites.py re-derives them).
BBH_TEST: tuple[str, ...] = (
    "bbh.disambiguation_qa", "bbh.reasoning_about_colored_objects", "bbh.ruin_names",
    "bbh.sports_understanding", "bbh.tracking_shuffled_objects_five_objects",
    "bbh.tracking_shuffled_objects_three_objects", "bbh.web_of_lies",
)
RG_TEST: tuple[str, ...] = (
    "rg.arc_agi", "rg.bf", "rg.circuit_logic", "rg.count_primes", "rg.course_schedule", "rg.emoji_mystery",
    "rg.family_relationships", "rg.figlet_font", "rg.futoshiki", "rg.gsm_symbolic", "rg.knight_swap",
    "rg.manipulate_matrix", "rg.modulo_grid", "rg.palindrome_partitioning", "rg.quantum_lock",
    "rg.ransom_note", "rg.rectangle_count", "rg.rubiks_cube", "rg.rush_hour", "rg.simple_equations",
    "rg.tower_of_hanoi",
)

PAPER: tuple[str, ...] = SYMBENCH + BBH + REASONING_GYM
TEST: tuple[str, ...] = SYMBENCH_TEST + BBH_TEST + RG_TEST
_TEST_SET = frozenset(TEST)
TRAIN: tuple[str, ...] = tuple(name for name in PAPER if name not in _TEST_SET)
_EXTRA_SET = frozenset(EXTRA)

CATEGORIES: dict[str, str] = {
    **SYMBENCH_CATEGORIES,
    **{name: "reasoning" for name in BBH},
    **{rg_task_name(dataset): RG_DATASETS[dataset].category for dataset in PAPER_DATASETS},
}

_SUITES: dict[str, tuple[str, ...]] = {
    "paper": PAPER,
    "train": TRAIN,
    "test": TEST,
    "symbench": SYMBENCH,
    "bbh": BBH,
    "reasoning_gym": REASONING_GYM,
    **{category: tuple(name for name in PAPER if CATEGORIES[name] == category)
       for category in ("execution", "planning", "reasoning")},
    "extra": EXTRA,
}


def draw_test_split(bbh_names: list[str] | tuple[str, ...], rg_names: list[str] | tuple[str, ...],
                    seed: int = SPLIT_SEED) -> tuple[list[str], list[str]]:
    """The split rule for the drawn part: (BBH test names, RG test names), each sorted."""
    bbh_test = random.Random(seed).sample(sorted(bbh_names), BBH_TEST_COUNT)
    rg_test = random.Random(seed).sample(sorted(rg_names), RG_TEST_COUNT)
    return sorted(bbh_test), sorted(rg_test)


def suite_names() -> list[str]:
    """The names of all suites."""
    return list(_SUITES)


def suite(name: str) -> list[str]:
    """The task names of suite `name`, in the suite's order (a fresh list)."""
    try:
        return list(_SUITES[name])
    except KeyError:
        raise KeyError(f"unknown suite {name!r}; suites: {', '.join(_SUITES)}") from None


def split_of(name: str) -> str:
    """"test" for the paper suite's test tasks, "extra" for the tasks of suite "extra", and "train"
    for everything else (the paper suite's training tasks and tasks outside every suite)."""
    if name in _TEST_SET:
        return "test"
    return "extra" if name in _EXTRA_SET else "train"
