"""Helpers shared by task modules: seeded randomness, answer normalisation, a safe arithmetic
evaluator, and serving official instances from a data directory (the `instances=` knob)."""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from ..settings import DATA_DIR_VAR, data_dir

# ---------------------------------------------------------------- randomness and ids


def seeded_rng(seed: int, namespace: str) -> random.Random:
    """A `random.Random` that depends only on `seed` and `namespace` (stable across runs and
    platforms), so that two tasks given the same seed do not draw correlated questions."""
    return random.Random(f"{namespace}/{seed}")


def generated_id(seed: int) -> str:
    """The instance id of a procedurally generated instance."""
    return f"seed-{seed}"


# ---------------------------------------------------------------- answer normalisation


def collapse_whitespace(text: str) -> str:
    """`text` stripped, with every run of whitespace replaced by one space."""
    return " ".join(text.split())


_INTEGER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)")


def parse_int(text: str) -> int | None:
    """The integer written in `text`, or None. Accepts a leading sign ('+', '-', or the Unicode
    minus), thousands separators as commas in groups of three, and spaces anywhere; nothing else."""
    compact = "".join(text.split()).replace("\u2212", "-")
    if not _INTEGER.fullmatch(compact):
        return None
    try:
        return int(compact.replace(",", ""))
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return None


_OPTION = re.compile(r"\(?([A-Za-z])\)?\.?")
_LABELLED_OPTION = re.compile(r"(?:\(([A-Za-z])\)|([A-Za-z])\))\s*(.+)", re.DOTALL)
_OPTION_LINE = re.compile(r"^\(([A-Z])\)\s*(.*?)\s*$", re.MULTILINE)


def option_letter(text: str) -> str | None:
    """The upper-case letter when `text` is just an option label ("A", "(A)", "(a)", "A)"), else None."""
    match = _OPTION.fullmatch(text.strip())
    return match.group(1).upper() if match else None


def parse_options(question: str) -> dict[str, str]:
    """The multiple-choice options written as lines "(A) text" in `question`: letter -> text."""
    return {letter: text for letter, text in _OPTION_LINE.findall(question)}


def chosen_option(answer: str, options: dict[str, str]) -> str | None:
    """The option letter an answer picks, or None when it picks none or is ambiguous.

    Accepted: a bare label ("B", "(b)"); a label followed by exactly that option's text
    ("(B) 12/25/1937"); or the text of exactly one option. Text compares case-insensitively with
    whitespace collapsed.
    """
    letter = option_letter(answer)
    if letter:
        return letter
    key = collapse_whitespace(answer).casefold()
    labelled = _LABELLED_OPTION.fullmatch(key)
    if labelled:
        letter = (labelled.group(1) or labelled.group(2)).upper()
        text = options.get(letter)
        return letter if text is not None and collapse_whitespace(text).casefold() == labelled.group(3) else None
    matches = [ltr for ltr, text in options.items() if collapse_whitespace(text).casefold() == key]
    return matches[0] if len(matches) == 1 else None


_WRAPPING_QUOTES = ('"', "'", "`")


def plain_word(text: str) -> str:
    """A one-word answer ("Yes", "valid", ...) reduced for comparison: whitespace collapsed, one
    pair of surrounding quotes and one trailing full stop removed, case folded."""
    word = collapse_whitespace(text)
    if len(word) >= 2 and word[0] == word[-1] and word[0] in _WRAPPING_QUOTES:
        word = word[1:-1].strip()
    return word.removesuffix(".").strip().casefold()


_LABEL_RUN = re.compile(r"(?:\([A-Za-z]\))+")
_LABEL_SEPARATORS = re.compile(r"(?:[\s,]|\band\b)+")


def option_label_sequence(answer: str) -> list[str] | None:
    """The option labels an answer lists, in order ("(C) (D)", "C, D", "(C)(D)", "C and D" ->
    ["C", "D"]), or None when it is not only labels."""
    labels: list[str] = []
    for part in _LABEL_SEPARATORS.split(answer.strip()):
        if not part:
            continue
        if _LABEL_RUN.fullmatch(part):
            labels.extend(letter.upper() for letter in part[1:-1].split(")("))
        elif (letter := option_letter(part)) is not None:
            labels.append(letter)
        else:
            return None
    return labels or None


# ---------------------------------------------------------------- arithmetic


_ARITHMETIC_CHARS = re.compile(r"[0-9\s+\-*/()]*")
_OPERATORS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
MAX_EXPRESSION_LENGTH = 1000


def evaluate_arithmetic(expression: str) -> tuple[Fraction, list[int]]:
    """Exact value of an expression made of non-negative decimal integers, binary + - * /, and
    parentheses, plus the integers it uses (left to right). Parsed with `ast`, never executed.

    The symbols ×, ÷ and the Unicode minus are read as *, / and -. Raises `ValueError` for
    anything else (names, calls, powers, unary signs, decimals, division by zero, ...).
    """
    text = expression.translate({ord("×"): "*", ord("÷"): "/", ord("\u2212"): "-"})
    if len(text) > MAX_EXPRESSION_LENGTH or not _ARITHMETIC_CHARS.fullmatch(text):
        raise ValueError(f"not a plain arithmetic expression: {expression!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        raise ValueError(f"cannot parse {expression!r}") from exc
    numbers: list[int] = []

    def value(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            numbers.append(node.value)
            return Fraction(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise ValueError("division by zero")
            return _OPERATORS[type(node.op)](left, right)
        raise ValueError(f"{type(node).__name__} is not allowed in an arithmetic answer")

    try:
        return value(tree.body), numbers
    except RecursionError as exc:
        raise ValueError("expression is nested too deeply") from exc


# ---------------------------------------------------------------- official instances (`instances=`)


def resolve_instances(path: str | Path) -> Path:
    """An existing file or directory named by an `instances=` knob. A relative path that does not exist
    from the working directory is looked up in the data directory (`$R1CI_DATA_DIR`)."""
    candidate = Path(path).expanduser()
    if not candidate.exists() and not candidate.is_absolute():
        candidate = data_dir() / candidate
    if not candidate.exists():
        raise FileNotFoundError(
            f"official instances not found: {str(path)!r} is neither a path nor inside the data "
            f"directory {data_dir()} (set {DATA_DIR_VAR} to change it)"
        )
    return candidate.resolve()


def _natural_key(text: str) -> list[object]:
    """Sort key that orders embedded numbers numerically ("sample_2" before "sample_10")."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


class InstanceDirectory:
    """The official instances under a directory: every folder, at any depth, that holds a file
    named `filename` (CodeSteer's layout, e.g. `<root>/4_5_4_4/blocksworld_task.txt`); a `{folder}`
    in `filename` stands for the folder's own name (BoxNet's `pg_state3/pg_state3.json`).

    Instances are ordered by their folder path in natural order, seed `s` selects instance
    `s % len(self)`, and an instance's id is its folder path relative to the root.
    """

    def __init__(self, root: str | Path, filename: str) -> None:
        self.root = resolve_instances(root)
        if not self.root.is_dir():
            raise NotADirectoryError(f"official instances: {self.root} is not a directory")
        self.filename = filename
        pattern = filename.replace("{folder}", "*")
        folders = {
            file.parent.relative_to(self.root).as_posix()
            for file in self.root.rglob(pattern)
            if file.name == self._file_name(file.parent.name)
        }
        if not folders:
            raise FileNotFoundError(f"official instances: no {filename!r} found under {self.root}")
        self.ids = sorted(folders, key=_natural_key)

    def __len__(self) -> int:
        return len(self.ids)

    def skip(self, unusable: Callable[[Path], bool]) -> list[str]:
        """Drop the instances whose file `unusable` rejects (data defects) and return their ids."""
        dropped = [instance_id for instance_id in self.ids if unusable(self._path(instance_id))]
        self.ids = [instance_id for instance_id in self.ids if instance_id not in set(dropped)]
        if not self.ids:
            raise ValueError(f"official instances: every instance under {self.root} is unusable")
        return dropped

    def pick(self, seed: int) -> tuple[str, Path]:
        """The instance id and the path of its file for `seed`."""
        instance_id = self.ids[seed % len(self.ids)]
        return instance_id, self._path(instance_id)

    def _file_name(self, folder: str) -> str:
        return self.filename.replace("{folder}", folder)

    def _path(self, instance_id: str) -> Path:
        return self.root / instance_id / self._file_name(Path(instance_id).name)


# ---------------------------------------------------------------- numbers and cell lists in answers


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:/[+-]?\d+)?")
_LATEX_FRACTION = re.compile(r"([+-]?)\\[dt]?frac\s*\{\s*([+-]?\d+)\s*\}\s*\{\s*([+-]?\d+)\s*\}")
MAX_NUMBER_LENGTH = 200


def parse_number(text: str) -> Fraction | None:
    """The exact value of one number written as an integer, a decimal ("1.25", "-.5", "4.") or a
    fraction with an integer denominator ("11/6", "11 / 6", "\\frac{11}{6}"), with an optional sign
    (Unicode minus too) and surrounding spaces; None for anything else (words, exponents, division
    by zero, ...)."""
    compact = text.strip().replace("\u2212", "-")
    if len(compact) > MAX_NUMBER_LENGTH:
        return None
    latex = _LATEX_FRACTION.fullmatch(compact)
    compact = f"{latex[1]}{latex[2]}/{latex[3]}" if latex else re.sub(r"\s*/\s*", "/", compact)
    if not _NUMBER.fullmatch(compact):
        return None
    numerator, _, denominator = compact.partition("/")
    try:
        return Fraction(numerator) / Fraction(denominator) if denominator else Fraction(numerator)
    except (ValueError, ZeroDivisionError):
        return None


def number_matches(text: str, gold: Fraction, places: int) -> bool:
    """True iff `text` is one number (see `parse_number`) equal to `gold`, or a decimal (it has a
    decimal point) within half a unit of the `places`-th decimal place of `gold`, so that `gold`
    rounded to `places` or more decimals is accepted and a wrong value never is."""
    value = parse_number(text)
    if value is None:
        return False
    if value == gold:
        return True
    return "." in text and "/" not in text and abs(value - gold) <= Fraction(1, 2 * 10**places)


_CELL_SEPARATORS = re.compile(r"[\s,;]+")
_CELL_WRAPPERS = "[](){}\"'`"


def split_cells(text: str) -> list[str]:
    """The cells an answer lists, in order: split on commas, semicolons and whitespace (so rows may
    be on separate lines), with brackets, parentheses, braces and quotes around cells dropped.
    "[[1, 2], [3, 4]]", "1,2,3,4" and "1 2\\n3 4" all give ["1", "2", "3", "4"]."""
    cells = (cell.strip(_CELL_WRAPPERS) for cell in _CELL_SEPARATORS.split(text))
    return [cell for cell in cells if cell]


def parse_cell_pairs(text: str) -> list[tuple[int, int]] | None:
    """Grid cells written as `row col` pairs, in order: "0 3, 1 0", "(0, 3), (1, 0)" and
    "[[0, 3], [1, 0]]" all give [(0, 3), (1, 0)]. None unless every cell (see `split_cells`) is a
    non-negative integer and there is an even number of them."""
    cells = split_cells(text)
    if len(cells) % 2 or not all(cell.isdigit() for cell in cells):
        return None
    numbers = [int(cell) for cell in cells]
    return list(zip(numbers[0::2], numbers[1::2]))


def parse_count_list(text: str, size: int) -> list[int] | None:
    """Exactly `size` non-negative integers listed in `text` (see `split_cells`: spaces, commas,
    brackets and quotes are ignored, so "2 0 1", "[2, 0, 1]" and '["2", "0", "1"]' all give
    [2, 0, 1]), or None."""
    cells = split_cells(text)
    if len(cells) != size or not all(cell.isdigit() for cell in cells):
        return None
    return [int(cell) for cell in cells]
