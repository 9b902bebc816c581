"""New Operator (SymBench): evaluate an expression written with made-up binary operators.

Each instance defines one or more operators by formulas in `a` and `b` (for example `a~b = 3*a+2*b`)
and asks for the value of an expression that uses them. Values are exact rationals.

Fixes of CodeSteer defects:
- Evaluation order. CodeSteer's expressions such as `(3~4)&5@6` do not say how operators combine,
  and its evaluator (used to store the answers) handles the part after the parentheses by applying
  only the first operator it finds in the fixed order `#@$&%~` to the two numbers around it and
  dropping the rest, so about half of its complexity-5 answers are not the value under any
  reading. Here the question states the rule (parentheses first, then left to right, all custom
  operators having equal precedence) and the gold is computed by it, also for the official
  instances. Generated expressions are fully parenthesised, so they do not depend on the rule.
- Checking. CodeSteer's `validate_solution_new_op` wants the float of the answer to equal the
  stored float exactly (so a correct 1.8333 for 11/6 fails), and its generator's checker accepts
  any number anywhere in the answer. Here the whole answer must be one number: exactly the value
  (an integer or a fraction such as 11/6), or a decimal within 0.00005 of it (correct to 4 places).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from random import Random

from .base import Instance
from .common import number_matches
from .registry import register_task
from .symbench import SymBenchConfig, SymBenchTask, solver_program

SYMBOLS = "#@$&%~"  # the operator symbols (CodeSteer's set)
FORMULA_FAMILIES = ("linear", "product", "ratio", "difference")
DECIMAL_PLACES = 4
MAX_ATTEMPTS = 1000


@dataclass
class NewOperatorConfig(SymBenchConfig):
    """Generator knobs. The defaults cover CodeSteer's two shapes: one operator used twice on three
    numbers, and three operators on four numbers.

    min_operators, max_operators: how many distinct operators an instance defines (1-6, symbols
        from `#@$&%~`); every defined operator appears in the expression.
    min_operands, max_operands: how many numbers the expression combines (at least one more than
        the number of operators drawn); the expression's shape is a random binary tree.
    min_number, max_number: the range the numbers are drawn from (integers, at least 0).
    formulas: the definition families to draw from: "linear" (c1*a+c2*b), "product" (c*a*b),
        "ratio" ((a + b)/b) and "difference" (c1*a-c2*b); CodeSteer uses the first three.
    max_coefficient: coefficients c, c1, c2 are drawn from 1..max_coefficient.
    instances: official instances (`<dir>/sample_<i>/question.txt`, e.g.
        `symbench/new_operator_dataset`).
    """

    min_operators: int = 1
    max_operators: int = 3
    min_operands: int = 3
    max_operands: int = 4
    min_number: int = 1
    max_number: int = 10
    formulas: tuple[str, ...] = ("linear", "product", "ratio")
    max_coefficient: int = 5


class NewOperator(SymBenchTask):
    name = "NewOperator"
    category = "execution"
    checker = "EM"
    config_class = NewOperatorConfig
    config: NewOperatorConfig
    instance_file = "question.txt"

    def validate_config(self) -> None:
        c = self.config
        if not 1 <= c.min_operators <= c.max_operators <= len(SYMBOLS):
            raise ValueError(f"NewOperator needs 1 <= min_operators <= max_operators <= {len(SYMBOLS)}")
        self.check_range("operands", low=2)
        if c.max_operands < c.min_operators + 1:
            raise ValueError("NewOperator needs max_operands >= min_operators + 1 (each operator is used)")
        self.check_range("number", low=0)
        if not c.formulas or not set(c.formulas) <= set(FORMULA_FAMILIES):
            raise ValueError(f"NewOperator formulas must be a non-empty subset of {FORMULA_FAMILIES}")
        if c.max_coefficient < 1:
            raise ValueError("NewOperator needs max_coefficient >= 1")

    def read_instance(self, path: Path, instance_id: str) -> tuple[dict[str, str], str]:
        return parse_question_file(path)

    def build(self, problem: tuple[dict[str, str], str], instance_id: str) -> Instance:
        definitions, expression = problem
        value = evaluate_expression(expression, definitions)
        return Instance(
            question=_question(definitions, expression),
            gold=str(value),
            instance_id=instance_id,
            metadata={"definitions": definitions, "expression": expression, "operators": len(definitions)},
        )

    def sample(self, rng: Random) -> tuple[dict[str, str], str]:
        c = self.config
        for _ in range(MAX_ATTEMPTS):
            count = rng.randint(c.min_operators, min(c.max_operators, c.max_operands - 1))
            operands = rng.randint(max(c.min_operands, count + 1), c.max_operands)
            symbols = rng.sample(SYMBOLS, count)
            definitions = {symbol: _random_formula(rng, c.formulas, c.max_coefficient) for symbol in symbols}
            uses = symbols + [rng.choice(symbols) for _ in range(operands - 1 - count)]
            rng.shuffle(uses)
            numbers = [rng.randint(c.min_number, c.max_number) for _ in range(operands)]
            expression = _random_tree(rng, numbers, uses, outer=True)
            try:
                evaluate_expression(expression, definitions)
            except ZeroDivisionError:
                continue
            return definitions, expression
        raise RuntimeError(f"NewOperator: every draw divided by zero for {c}; raise min_number")

    def score(self, answer: str, instance: Instance) -> float:
        return 1.0 if number_matches(answer, Fraction(instance.gold), DECIMAL_PLACES) else 0.0

    def reference_solution(self, instance: Instance) -> str:
        m = instance.metadata
        return solver_program(
            evaluate_expression,
            comment="Parse the expression (parentheses first, then left to right) and apply each operator's\n"
            "formula with exact fractions.",
            main=f"definitions = {m['definitions']!r}\nexpression = {m['expression']!r}\n"
            + "print(evaluate_expression(expression, definitions))\n",
        )


# ---------------------------------------------------------------- generation and question


def _random_formula(rng: Random, families: tuple[str, ...], max_coefficient: int) -> str:
    c1, c2 = rng.randint(1, max_coefficient), rng.randint(1, max_coefficient)
    family = rng.choice(families)
    if family == "linear":
        return f"{c1}*a+{c2}*b"
    if family == "product":
        return f"{c1}*a*b"
    if family == "difference":
        return f"{c1}*a-{c2}*b"
    return "(a + b)/b"


def _random_tree(rng: Random, numbers: list[int], uses: list[str], outer: bool = False) -> str:
    """An expression over `numbers` (in order) using the operators `uses` (in order), as a random
    binary tree; every compound operand is written in parentheses."""
    if len(numbers) == 1:
        return str(numbers[0])
    split = rng.randint(1, len(numbers) - 1)
    left = _random_tree(rng, numbers[:split], uses[: split - 1])
    right = _random_tree(rng, numbers[split:], uses[split:])
    text = f"{left}{uses[split - 1]}{right}"
    return text if outer else f"({text})"


def _question(definitions: dict[str, str], expression: str) -> str:
    lines = "\n".join(f"  a{symbol}b = {formula}" for symbol, formula in definitions.items())
    noun = "operator is" if len(definitions) == 1 else "operators are"
    return (
        f"The following new binary {noun} defined for any numbers a and b:\n{lines}\n\n"
        f"Compute the value of {expression}\n\n"
        "Evaluate parenthesised parts first. The new operators all have the same precedence, so "
        "where several appear without parentheses between them they are applied from left to right. "
        "Inside a definition, * and / bind more tightly than + and - as usual, and division is exact.\n\n"
        "Give the value inside <<< and >>>: an integer, a fraction such as <<<11/6>>>, or a decimal "
        "correct to at least 4 decimal places such as <<<1.8333>>>."
    )


# ---------------------------------------------------------------- official files


_DEFINITION = re.compile(r"Define a(\S)b to be (.+?)\.?\s*$")
_CALCULATE = re.compile(r"Calculate (.+?)\.?\s*$")


def parse_question_file(path: Path) -> tuple[dict[str, str], str]:
    """The operator definitions and the expression of a CodeSteer `question.txt` (checked against
    the `operator_definitions` of the `solution.json` beside it, when there is one)."""
    definitions: dict[str, str] = {}
    expression = None
    for line in path.read_text().splitlines():
        if match := _DEFINITION.search(line):
            definitions[match.group(1)] = match.group(2).strip()
        elif match := _CALCULATE.match(line.strip()):
            expression = match.group(1).strip()
    if not definitions or expression is None:
        raise ValueError(f"{path}: expected 'Define a?b to be ...' lines and a 'Calculate ...' line")
    solution = path.with_name("solution.json")
    if solution.exists():
        stored = json.loads(solution.read_text()).get("operator_definitions")
        if stored is not None and stored != definitions:
            raise ValueError(f"{path}: definitions differ from {solution.name}: {definitions} != {stored}")
    return definitions, expression


# ---------------------------------------------------------------- evaluation


def evaluate_expression(expression, definitions):
    """The exact value (a Fraction) of `expression`, built from numbers, parentheses and the
    binary operators of `definitions` (symbol -> formula in a and b, such as "3*a+2*b").
    Parenthesised parts come first; otherwise operators apply from left to right. Formulas are
    parsed with `ast` and may use + - * /, integers, a and b. Raises ZeroDivisionError or
    ValueError."""
    import ast
    import re
    from fractions import Fraction

    def formula_value(node, a, b):
        if isinstance(node, ast.Expression):
            return formula_value(node.body, a, b)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return Fraction(node.value)
        if isinstance(node, ast.Name) and node.id in ("a", "b"):
            return a if node.id == "a" else b
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = formula_value(node.operand, a, b)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            x, y = formula_value(node.left, a, b), formula_value(node.right, a, b)
            if isinstance(node.op, ast.Add):
                return x + y
            if isinstance(node.op, ast.Sub):
                return x - y
            if isinstance(node.op, ast.Mult):
                return x * y
            return x / y  # Fraction division raises ZeroDivisionError for y == 0
        raise ValueError(f"unsupported formula element: {ast.dump(node)}")

    formulas = {symbol: ast.parse(text, mode="eval") for symbol, text in definitions.items()}
    tokens = re.findall(r"\d+(?:\.\d+)?|\S", expression)
    position = 0

    def operand():
        nonlocal position
        token = tokens[position] if position < len(tokens) else None
        position += 1
        if token == "(":
            value = chain()
            if position >= len(tokens) or tokens[position] != ")":
                raise ValueError(f"unbalanced parentheses in {expression!r}")
            position += 1
            return value
        if token is not None and token[0].isdigit():
            return Fraction(token)
        raise ValueError(f"expected a number or '(' in {expression!r}, got {token!r}")

    def chain():
        nonlocal position
        value = operand()
        while position < len(tokens) and tokens[position] in formulas:
            symbol = tokens[position]
            position += 1
            value = formula_value(formulas[symbol], value, operand())
        return value

    result = chain()
    if position != len(tokens):
        raise ValueError(f"unexpected {tokens[position]!r} in {expression!r}")
    return result


register_task(NewOperator)
