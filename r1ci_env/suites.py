"""The task suites and the train/test split: frozen name lists, not derived from what is registered.

The paper suite has 144 tasks: 33 SymBench + 27 BIG-Bench-Hard + 84 Reasoning-Gym. Its split into
107 training and 37 test tasks is the project's own (the paper's is not public), stratified by
source in the paper's proportions, and it keeps task families together (split rule 2):

* a family (`FAMILIES`) is a set of tasks that share their source problems or their question
  template (GSM-Hard and rg.gsm_symbolic re-write the same GSM8K problems; rg.arc_agi, rg.rearc
  and rg.arc_1d share the ARC prompt and task ids; the three sizes of a BBH tracking or deduction
  task share one template; ...); every other task is a family of its own;
* SymBench: the 9 tasks CodeSteer held out as unseen are test (`SYMBENCH_TEST`); a family with a
  SymBench training task is train as a whole;
* BBH: 7 of the 27 and Reasoning-Gym: 21 of the 84, each drawn by `draw_test_split`: the source's
  task names, sorted, are put in the order `random.Random(SPLIT_SEED).sample(names, len(names))`;
  walking that order, each task brings its whole family into test when no member is fixed as train
  and the family fits in the tasks still wanted, until the count is reached;

everything else in the paper suite is train. The drawn names are frozen below as literals; a test
re-derives them from the seed and the rule, and tests/test_split_leakage.py checks that no test
question is a near-duplicate of a training question. The Reasoning-Gym datasets left out of the paper
suite are in split "extra"; any other task (a custom task, say) counts as training.

Rule 1 (until this change) took the first 7 and 21 names of that same order, one task at a time,
which put rg.gsm_symbolic, rg.arc_agi and two of the three bbh.tracking_shuffled_objects tasks in test
while their family members were training tasks; rule 2 keeps every other test task of rule 1.

Suites: "paper", "train", "test", one per source ("symbench", "bbh", "reasoning_gym"), one per
category ("execution", "planning", "reasoning"), and "extra".
"""

from __future__ import annotations

import random

from .tasks.reasoning_gym import DATASETS as RG_DATASETS
from .tasks.reasoning_gym import EXTRA_DATASETS, PAPER_DATASETS
from .tasks.reasoning_gym import task_name as rg_task_name

SPLIT_SEED = 20250527  # the R1-Code-Interpreter paper's arXiv submission date (2505.21668)
SPLIT_RULE = 2  # 1: tasks drawn one by one; 2: families drawn whole (see the module docstring)
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
    "Letters",
    "EightQueens",
    "NumberMultiply",
    "Cryptanalysis",
    "StringSplitting",
    "CombinatorialCalculation",
    "SynthesisDecomposition",
    "Game2048",
    "PermutationsCombinations",
)

BBH_SUBTASKS: tuple[str, ...] = (
    "boolean_expressions",
    "causal_judgement",
    "date_understanding",
    "disambiguation_qa",
    "dyck_languages",
    "formal_fallacies",
    "geometric_shapes",
    "hyperbaton",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "logical_deduction_three_objects",
    "movie_recommendation",
    "multistep_arithmetic_two",
    "navigate",
    "object_counting",
    "penguins_in_a_table",
    "reasoning_about_colored_objects",
    "ruin_names",
    "salient_translation_error_detection",
    "snarks",
    "sports_understanding",
    "temporal_sequences",
    "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_three_objects",
    "web_of_lies",
    "word_sorting",
)
BBH: tuple[str, ...] = tuple(f"bbh.{subtask}" for subtask in BBH_SUBTASKS)
REASONING_GYM: tuple[str, ...] = tuple(rg_task_name(dataset) for dataset in PAPER_DATASETS)
EXTRA: tuple[str, ...] = tuple(rg_task_name(dataset) for dataset in EXTRA_DATASETS)

# Task families: tasks that share source problems or a question template, so one side of the split.
FAMILIES: tuple[tuple[str, ...], ...] = (
    ("GSMHard", "rg.gsm_symbolic"),  # GSM8K problems, re-numbered (GSM-Hard) or re-templated (RG)
    ("rg.arc_1d", "rg.arc_agi", "rg.rearc"),  # the ARC prompt; arc_agi and rearc share task ids
    (
        "bbh.logical_deduction_five_objects",
        "bbh.logical_deduction_seven_objects",
        "bbh.logical_deduction_three_objects",
    ),
    (
        "bbh.tracking_shuffled_objects_five_objects",
        "bbh.tracking_shuffled_objects_seven_objects",
        "bbh.tracking_shuffled_objects_three_objects",
    ),
    ("rg.intermediate_integration", "rg.polynomial_multiplication", "rg.simple_integration"),  # one template
    ("rg.chain_sum", "rg.decimal_chain_sum"),  # one template
)

# Drawn once with `draw_test_split()` and frozen (tests/test_suites.py re-derives them).
BBH_TEST: tuple[str, ...] = (
    "bbh.reasoning_about_colored_objects",
    "bbh.ruin_names",
    "bbh.sports_understanding",
    "bbh.tracking_shuffled_objects_five_objects",
    "bbh.tracking_shuffled_objects_seven_objects",
    "bbh.tracking_shuffled_objects_three_objects",
    "bbh.web_of_lies",
)
RG_TEST: tuple[str, ...] = (
    "rg.arc_1d",
    "rg.arc_agi",
    "rg.bf",
    "rg.circuit_logic",
    "rg.count_primes",
    "rg.course_schedule",
    "rg.emoji_mystery",
    "rg.family_relationships",
    "rg.figlet_font",
    "rg.futoshiki",
    "rg.knight_swap",
    "rg.modulo_grid",
    "rg.palindrome_partitioning",
    "rg.quantum_lock",
    "rg.ransom_note",
    "rg.rearc",
    "rg.rectangle_count",
    "rg.rubiks_cube",
    "rg.rush_hour",
    "rg.simple_equations",
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
    **{
        category: tuple(name for name in PAPER if CATEGORIES[name] == category)
        for category in ("execution", "planning", "reasoning")
    },
    "extra": EXTRA,
}


def family_of(name: str) -> tuple[str, ...]:
    """The family (`FAMILIES`) of a task, or the task alone."""
    return next((family for family in FAMILIES if name in family), (name,))


def draw_test_split(
    bbh_names: list[str] | tuple[str, ...], rg_names: list[str] | tuple[str, ...], seed: int = SPLIT_SEED
) -> tuple[list[str], list[str]]:
    """The split rule for the drawn part: (BBH test names, RG test names), each sorted."""
    fixed_train = set(SYMBENCH) - set(SYMBENCH_TEST)
    return (
        _draw_families(bbh_names, BBH_TEST_COUNT, fixed_train, seed),
        _draw_families(rg_names, RG_TEST_COUNT, fixed_train, seed),
    )


def _draw_families(names: list[str] | tuple[str, ...], count: int, fixed_train: set[str], seed: int) -> list[str]:
    """`count` of `names`, a whole family at a time (see the module docstring)."""
    pool = set(names)
    chosen: list[str] = []
    for name in random.Random(seed).sample(sorted(names), len(names)):  # rule 1's order
        family = set(family_of(name))
        unit = sorted(family & pool)
        if name in chosen or family & fixed_train or len(chosen) + len(unit) > count:
            continue
        chosen.extend(unit)
        if len(chosen) == count:
            return sorted(chosen)
    raise ValueError(f"cannot draw {count} test tasks from families of {len(pool)} tasks")


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
    """ "test" for the paper suite's test tasks, "extra" for the tasks of suite "extra", and "train"
    for everything else (the paper suite's training tasks and tasks outside every suite)."""
    if name in _TEST_SET:
        return "test"
    return "extra" if name in _EXTRA_SET else "train"
