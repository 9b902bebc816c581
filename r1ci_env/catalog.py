"""The task catalogue: one row per task (gym id, name, source, category, split, checker, question
count), for `r1ci list` and for the generated docs/tasks.md.

    python -m r1ci_env.catalog --markdown > docs/tasks.md

A suite lists frozen names (see `suites`); asking for a suite some of whose tasks are not registered
raises `UnregisteredTasks` naming them, rather than printing part of the suite.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass

from . import suites
from .tasks import task_names, task_spec
from .tasks.registry import env_id


class UnregisteredTasks(LookupError):
    """Some tasks of a suite are not registered."""

    def __init__(self, suite_name: str, missing: list[str]) -> None:
        self.suite_name = suite_name
        self.missing = missing
        super().__init__(
            f"suite {suite_name!r} names {len(missing)} task(s) that are not registered: {', '.join(missing)}"
        )


@dataclass(frozen=True)
class TaskRow:
    id: str
    name: str
    source: str
    category: str
    split: str
    checker: str
    questions: int | None = None  # None: unlimited (or not counted)
    questions_known: bool = True  # False: the task's data could not be read (offline, no local copy)


def task_order() -> list[str]:
    """Every registered task: the paper suite's in suite order, then "extra", then the rest."""
    registered = task_names()
    known = set(registered)
    ordered = [name for name in suites.suite("paper") + suites.suite("extra") if name in known]
    seen = set(ordered)
    return ordered + [name for name in registered if name not in seen]


def names_of(suite_name: str | None) -> list[str]:
    """The task names of a suite (all registered tasks when None); raises `UnregisteredTasks`."""
    if suite_name is None:
        return task_order()
    names = suites.suite(suite_name)
    known = set(task_names())
    missing = [name for name in names if name not in known]
    if missing:
        raise UnregisteredTasks(suite_name, missing)
    return names


def rows(suite_name: str | None = None, *, count_questions: bool = True) -> list[TaskRow]:
    """The catalogue rows of a suite (all registered tasks when None). `count_questions` builds each
    task with its default knobs to ask `num_questions()` (this reads data files and imports
    reasoning_gym); a data-backed task whose data cannot be read gets `questions_known=False`."""
    from .data import DataError

    result = []
    for name in names_of(suite_name):
        spec = task_spec(name)
        questions, known = None, True
        if count_questions:
            try:
                questions = spec.make().num_questions()
            except DataError:
                known = False
        result.append(
            TaskRow(
                id=env_id(name),
                name=name,
                source=spec.source,
                category=spec.category,
                split=suites.split_of(name),
                checker=spec.checker,
                questions=questions,
                questions_known=known,
            )
        )
    return result


def _questions_text(row: TaskRow) -> str:
    if not row.questions_known:
        return "n/a (no data)"
    return "unlimited" if row.questions is None else str(row.questions)


def render_text(table: list[TaskRow]) -> str:
    """An aligned plain-text table."""
    header = ("id", "name", "source", "category", "split", "checker", "questions")
    lines = [header] + [(r.id, r.name, r.source, r.category, r.split, r.checker, _questions_text(r)) for r in table]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    return "\n".join(text) + "\n"


def render_json(table: list[TaskRow]) -> str:
    """A JSON list of row objects (`questions` is null for unlimited, or when `questions_known` is false)."""
    return json.dumps([asdict(row) for row in table], indent=2) + "\n"


# Data defects and answer rules handled per task, beyond what every task does (docs/tasks.md, "notes").
NOTES: dict[str, str] = {
    "Game2048": "generated puzzles are redrawn until the answer differs from the input grid; official set: "
    '147 of 200 answers equal the input grid (labelled `metadata["no_op"]`)',
    "LogicalPuzzle": "official set: the 24 puzzles without a valid selection are skipped (176 served)",
    "Mahjong": "official set: the 12 games holding non-letter cards (`[`, `\\`) are skipped (188 served)",
    "MathGeometry": "no decimal where the problem asks for a common fraction; `0.5\\%` is not 1/2",
    "MathCountingProbability": "no decimal where the problem asks for a common fraction; `0.5\\%` is not 1/2",
    "NewOperator": "fractions also as `19 / 3` or `\\frac{19}{3}`",
    "BlocksWorld": "moves also numbered (`1.`, `1)`, `-`) or in lower case",
    "PathPlan": "one list of waypoints (two lists are refused)",
    "Reversi": "a finite generator: 423 distinct questions among seeds 0-2999 with the default knobs",
    "rg.ab": "items whose stored answer is empty are skipped",
    "rg.intermediate_integration": "items whose stored answer is an unevaluated `Integral(...)` are skipped",
}
MIN_QUESTIONS = 200  # the paper's "over 200 questions per task"


def _notes(row: TaskRow) -> str:
    from .tasks.reasoning_gym import PREFIX, UPSTREAM_DEFECTS

    notes = [NOTES[row.name]] if row.name in NOTES else []
    defect = UPSTREAM_DEFECTS.get(row.name.removeprefix(PREFIX)) if row.source == "reasoning_gym" else None
    if defect:
        notes.append(f"fixed: {defect}")
    if row.questions is not None and row.questions < MIN_QUESTIONS:
        notes.append(f"fewer than {MIN_QUESTIONS} distinct questions")
    return "; ".join(notes)


def _reward(row: TaskRow) -> str:
    return "0/1 (RG score: opt-in)" if row.source == "reasoning_gym" else "0/1"


def _markdown_table(table: list[TaskRow]) -> list[str]:
    lines = [
        "| id | source | category | split | checker | reward | questions | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{r.id}` | {r.source} | {r.category} | {r.split} | {r.checker} | {_reward(r)} | "
        f"{_questions_text(r)} | {_notes(r)} |"
        for r in table
    ]
    return lines


def _knobs_table(table: list[TaskRow]) -> list[str]:
    from .tasks import make_task

    lines = ["| task | default knobs |", "|---|---|"]
    for row in table:
        knobs = {key: value for key, value in make_task(row.name).difficulty().items() if value is not None}
        text = ", ".join(f"{key}={json.dumps(value)}" for key, value in knobs.items()).replace("|", "\\|")
        lines.append(f"| {row.name} | {text} |")
    return lines


def render_markdown() -> str:
    """docs/tasks.md: the paper suite and the extra environments (needs every suite task registered;
    builds every task with its default knobs to count its questions)."""
    paper = rows("paper")
    extra = rows("extra")
    by_split = {split: sum(r.split == split for r in paper) for split in ("train", "test")}
    by_source = {source: sum(r.source == source for r in paper) for source in ("symbench", "bbh", "reasoning_gym")}
    families = "; ".join(", ".join(family) for family in suites.FAMILIES)
    lines = [
        "# Tasks",
        "",
        "<!-- Generated by `python -m r1ci_env.catalog --markdown > docs/tasks.md`; do not edit by hand."
        " tests/test_suites.py checks that this file is up to date. -->",
        "",
        f"The paper suite has {len(paper)} tasks: {by_source['symbench']} SymBench, {by_source['bbh']} "
        f"BIG-Bench-Hard and {by_source['reasoning_gym']} Reasoning-Gym; {by_split['train']} are in the "
        f"training split and {by_split['test']} in the test split. How the Reasoning-Gym datasets were "
        "chosen, and why the others were left out: [reasoning_gym_selection.md](reasoning_gym_selection.md).",
        "",
        "Checker: EM compares with a stored answer (after normalisation); CK verifies the answer against "
        "the rules and accepts any valid one. `r1ci list` prints the table without the notes.",
        "",
        "## Reward",
        "",
        'Every task\'s reward is 1.0 for a correct final answer and 0.0 otherwise (column "reward"). '
        "Before a checker sees the answer, one shared layer (`r1ci_env/tasks/answers.py`) removes what a "
        "careful grader ignores when it wraps the whole answer: `\\boxed{}`, `$...$`, `**...**`, a leading "
        '"Answer:" or "The final answer is". Reasoning-Gym tasks reward 1.0 only when RG\'s own score is '
        "1.0, after screens that refuse non-answers some RG scorers accept (NaN, hedges such as "
        '"41 or 42", padding, lists or code around the answer, moves picked out of free text); '
        "`partial_credit=True` makes the reward RG's own score (partial credit included) and "
        "`task.partial_score(answer, instance)` gives it beside the binary reward. "
        "tests/test_reward_hacking.py submits a battery of such non-answers to every task.",
        "",
        "## The split",
        "",
        f"Split rule {suites.SPLIT_RULE}, seed {suites.SPLIT_SEED} (`r1ci_env/suites.py`): the 9 SymBench "
        "tasks CodeSteer held out are test; 7 BBH and 21 Reasoning-Gym test tasks are drawn in a seeded "
        "order, each bringing its whole family into test, and a family with a SymBench training task stays "
        f"train. Families: {families}. Rule 1 drew tasks one at a time and leaked questions across the "
        "split (rg.gsm_symbolic re-templates GSM-Hard's GSM8K problems, rg.arc_agi draws the ARC tasks "
        "rg.rearc regenerates, the three bbh.tracking_shuffled_objects tasks share one template); rule 2 "
        "moved bbh.disambiguation_qa, rg.gsm_symbolic and rg.manipulate_matrix to train and "
        "bbh.tracking_shuffled_objects_seven_objects, rg.arc_1d and rg.rearc to test, keeping 107/37. "
        "tests/test_split_leakage.py checks that no sampled test question is a near-duplicate of a "
        "training question.",
        "",
        "## Paper suite",
        "",
        *_markdown_table(paper),
        "",
        "## Extra environments (outside the paper suite)",
        "",
        f"The {len(extra)} Reasoning-Gym datasets left out of the paper suite, registered for use on their own.",
        "",
        *_markdown_table(extra),
        "",
        "## Default knobs",
        "",
        'What `gym.make(id)` uses when no knob is given (`info["difficulty"]` reports the same).',
        "",
        *_knobs_table(paper + extra),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m r1ci_env.catalog", description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print docs/tasks.md")
    parser.add_argument("--suite", default=None, help=f"one of: {', '.join(suites.suite_names())}")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    return list_command(args)


def list_command(args: argparse.Namespace) -> int:
    """`r1ci list`: print the catalogue of a suite (or every registered task)."""
    try:
        if getattr(args, "markdown", False):
            sys.stdout.write(render_markdown())
            return 0
        table = rows(args.suite)
    except (UnregisteredTasks, KeyError) as exc:
        print(f"r1ci list: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_json(table) if args.json else render_text(table))
    unknown = [row.name for row in table if not row.questions_known]
    if unknown:
        print(
            f"r1ci list: the data of {', '.join(unknown)} is not in the data directory and could not be "
            "downloaded, so their question counts are unknown (set R1CI_DATA_DIR)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
