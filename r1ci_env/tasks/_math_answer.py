"""Equivalence of competition-math answers (MATH data set) without a model.

`last_boxed(solution)` extracts a MATH solution's answer: the content of its last `\\boxed{...}` (or
`\\fbox{...}`, or `\\boxed 5`), nested braces handled.

`is_equivalent(answer, gold)` decides whether a final answer means the same as the gold answer:

1. Both are normalised as LaTeX strings (`normalise`): math delimiters ($, \\( \\), \\[ \\]) and a
   surrounding \\boxed{} are dropped; \\dfrac/\\tfrac -> \\frac, \\dbinom/\\tbinom -> \\binom; \\left,
   \\right, \\displaystyle and LaTeX spacing (\\! \\, \\; \\: ~) are dropped; \\text{...}/\\mbox{...}/
   \\mathrm{...} is unwrapped when it is the whole answer and dropped (with a following ^2 or ^3)
   when it is a unit after a value; trailing plain unit words (cm, inches, square units, degrees,
   ways, ...) are dropped; dollar signs are dropped; degree marks (^\\circ, °) and percent signs are
   noted and dropped; commas grouping thousands ("8,\\!424,\\!000", "31,250") are removed unless the
   answer is a bracketed tuple; whitespace is removed except where it ends a command name.
2. Identical normalised strings are equivalent.
3. Otherwise both sides are parsed by a small recursive-descent parser of a LaTeX/plain-math subset
   into sympy objects (no `eval`, input-size limits and power/factorial limits, so it cannot hang
   or run code): numbers (exact decimals), \\frac (also \\frac12), mixed numbers (2\\frac{1}{2}),
   \\sqrt and \\sqrt[n], \\binom, !, ^, + - * / \\cdot \\times \\div and implicit multiplication, \\pi,
   Greek letters and one-letter variables (subscripts allowed), trig/log functions with or without
   parentheses (degrees become radians inside trig functions), tuples "(a, b)", bare lists "a, b",
   sets "\\{a, b\\}" (order-free) and ratios "a:b". A gold "label = value" (k=3, AB=9) compares by
   its value; a gold "x = y" or "x \\approx y" of two constants accepts either side.
4. Parsed values compare as follows: two integers exactly; other numbers by value with a relative
   tolerance of 1e-6 (absolute 1e-12 around 0), so 0.5, 1/2 and \\frac{1}{2} agree and 0.33 does
   not match 1/3 (the MATH tasks refuse any decimal where the problem asks for a common fraction);
   expressions with variables (same variables on both sides) by exact expansion of the difference
   (when no numeric power exceeds 12), then by value at five fixed points (all that
   evaluate must agree), then - only for small expressions - sympy.simplify of the difference; sequences
   element by element (same length, same order; sets in any order). A percent answer also matches
   by its fraction value (70% = 0.7; so 0.5% is not 1/2), and a bare number matches the number of a
   percent gold.
   An answer with a variable the gold lacks is not compared by value (so "-0 or -9", read as
   -0*o*r - 9, is not -9). Relations (<, \\le, ...) and text answers compare only as normalised
   strings (text case-insensitively); a one-letter option answer ("C", "(C)", "\\text{C}") matches its letter.

Anything unparseable falls back to the string comparison, so malformed input returns False and
never raises.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from .answers import closing_brace
from .common import option_letter

MAX_INPUT_LENGTH = 400  # characters of a normalised answer the parser accepts
MAX_TOKENS = 300
MAX_DEPTH = 40  # nesting of brackets / groups
MAX_RESULT_DIGITS = 10_000  # a numeric power or factorial may not be larger than this
REL_TOL = 1e-6
ABS_TOL = 1e-12
SIMPLIFY_MAX_OPS = 40  # sympy.simplify only runs on expressions this small

# ---------------------------------------------------------------- boxed answers


def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} / \\fbox{...} (or `\\boxed x` up to a `$`) in `text`."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    rest = text[start:]
    command = "\\boxed" if rest.startswith("\\boxed") else "\\fbox"
    after = rest[len(command) :]
    if after.startswith(" ") and not after.lstrip().startswith("{"):
        return after.strip().split("$")[0].strip() or None
    brace = rest.find("{")
    if brace < 0:
        return None
    end = closing_brace(rest, brace)
    if end is not None:
        return rest[brace + 1 : end]
    return None


# ---------------------------------------------------------------- string normalisation

_TEXT_COMMANDS = ("\\text", "\\textbf", "\\textit", "\\mbox", "\\mathrm", "\\mathbf", "\\textrm", "\\hbox")
_UNIT_WORDS = (
    "square units", "sq units", "sq. units", "square feet", "square inches", "square meters",
    "square centimeters", "square cm", "sq ft", "cubic feet", "cubic inches", "cubic units",
    "cubic centimeters", "cubic meters", "units", "unit", "cm", "mm", "km", "meters", "meter",
    "centimeters", "inches", "inch", "feet", "foot", "ft", "yards", "yard", "miles", "mile", "degrees",
    "degree", "ways", "way", "dollars", "cents", "seconds", "minutes", "hours", "days", "people",
    "sq. units", "square units.", "ways.",
)  # fmt: skip
_UNIT_TAIL = re.compile(
    r"(?<=[0-9}a-zA-Z)\]])\s+(?:"
    + "|".join(re.escape(w) for w in sorted(set(_UNIT_WORDS), key=len, reverse=True))
    + r")(?:\^\{?[23]\}?|\u00b2|\u00b3)?\.?\s*$"
)
_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d,])")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|\u00b0|\\degree")


def _read_group(text: str, i: int) -> tuple[str, int] | None:
    """The content of the {...} group starting at text[i] == '{' and the index after it."""
    end = closing_brace(text, i)
    return None if end is None else (text[i + 1 : end], end + 1)


def _strip_text_commands(text: str) -> str:
    """Unwrap \\text{...} when nothing else is there; drop it (a unit, with a following ^2 or ^3)
    when a value is beside it; "\\text{ and }" / "\\text{ or }" become a comma."""
    for command in _TEXT_COMMANDS:
        for _ in range(20):
            i = text.find(command + "{")
            if i < 0:
                break
            group = _read_group(text, i + len(command))
            if group is None:
                return text
            content, end = group
            before, after = text[:i], text[end:]
            power = re.match(r"\^\{?[23]\}?", after)
            remainder = before + (after[power.end() :] if power else after)
            if content.strip().rstrip(",") in ("and", "or", ","):
                text = before + "," + after
            elif re.search(r"[0-9A-Za-z\\]", remainder):
                text = remainder
            else:
                text = before + content + after
    return text


@functools.lru_cache(maxsize=8192)
def normalise(answer: str) -> str:
    """The answer as a canonical LaTeX-ish string (see the module docstring). Flags such as a
    percent sign are kept as a trailing marker: '%' for percent."""
    text = answer.strip()
    inner = last_boxed(text) if ("\\boxed" in text or "\\fbox" in text) else None
    if inner is not None:
        text = inner
    text = text.replace("\\$", "$").replace("$", "")
    for opener, closer in (("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(opener) and text.endswith(closer):
            text = text[len(opener) : -len(closer)]
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = text.replace("\\dbinom", "\\binom").replace("\\tbinom", "\\binom")
    text = re.sub(r"\\left\b|\\right\b|\\displaystyle\b|\\!|\\,|\\;|\\:|\\ |~", "", text)
    text = text.replace("\\left", "").replace("\\right", "")
    text = re.sub(r"\\(?:le|leq|leqslant)\b", "\\\\le ", text)
    text = re.sub(r"\\(?:ge|geq|geqslant)\b", "\\\\ge ", text)
    text = text.replace("\u2264", "\\le ").replace("\u2265", "\\ge ")
    text = text.replace("\u2212", "-").replace("\u00d7", "\\times ")
    text = _strip_text_commands(text)
    text = text.strip().removesuffix(".").strip()  # one full stop ends a sentence; "5 ..." is not 5
    text = _UNIT_TAIL.sub("", text).strip()
    text = re.sub(r"\s*percent$", "%", text)
    percent = "\\%" in text or "%" in text
    text = text.replace("\\%", "").replace("%", "")
    text = _DEGREE.sub("\u00b0", text)
    text = re.sub(r"\s*\u00b0\s*$", "", text) if "\u00b0" in text and not _has_trig(text) else text
    text = text.replace("{,}", ",")
    if not re.match(r"^\s*[(\[]", text):
        text = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)
    text = _squeeze_spaces(text)
    return text + ("%" if percent else "")


_TRIG = re.compile(r"\\(?:sin|cos|tan|sec|csc|cot|arcsin|arccos|arctan)\b|\b(?:sin|cos|tan)\(")


def _has_trig(text: str) -> bool:
    return bool(_TRIG.search(text))


def _squeeze_spaces(text: str) -> str:
    out = []
    for token in re.findall(r"\\[a-zA-Z]+\s*|\s+|.", text):
        if token.startswith("\\") and token[-1:].isspace():
            out.append(token.rstrip() + " ")
        elif not token.isspace():
            out.append(token)
    joined = "".join(out)
    return re.sub(r"(\\[a-zA-Z]+) (?![a-zA-Z])", r"\1", joined).strip()


# ---------------------------------------------------------------- parsing into sympy


class _ParseError(ValueError):
    pass


_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta",
    "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi",
    "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega",
}  # fmt: skip
_FUNCTIONS = {"sin", "cos", "tan", "sec", "csc", "cot", "arcsin", "arccos", "arctan", "log", "ln", "exp"}
_COMMANDS = {"frac", "sqrt", "binom", "pi", "infty", "cdot", "times", "div"}
_TOKEN = re.compile(
    r"\s*(\\[a-zA-Z]+|\\[{}]"  # commands, \{ and \}
    r"|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4}(?![\d.]))?"  # numbers, optionally in scientific notation
    r"|[a-zA-Z]|\*\*|[-+*/^()\[\]{}!,:=<>_'|]|\u00b0)"
)


_PLAIN_WORD = re.compile(r"(sqrt|pi|sin|cos|tan|sec|csc|cot|arcsin|arccos|arctan|log|ln|exp|binom)(?![a-zA-Z])")


def _tokenise(text: str) -> list[str]:
    tokens, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        word = _PLAIN_WORD.match(text, i)
        if word and not (i and text[i - 1].isalpha()):  # plain "sqrt(2)", "pi" read as \sqrt, \pi
            tokens.append("\\" + word.group(1))
            i = word.end()
            continue
        match = _TOKEN.match(text, i)
        if not match:
            raise _ParseError(f"unexpected character {text[i]!r}")
        tokens.append(match.group(1))
        i = match.end()
        if len(tokens) > MAX_TOKENS:
            raise _ParseError("answer too long")
    return tokens


class _Parser:
    """Recursive descent over tokens; builds sympy objects with size guards."""

    def __init__(self, tokens: list[str], degrees_to_radians: bool) -> None:
        import sympy

        self.sp = sympy
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.degrees_to_radians = degrees_to_radians

    # -- helpers
    def peek(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _ParseError(f"expected {expected or 'more'}, found {token!r}")
        self.pos += 1
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _ParseError("nested too deeply")

    # -- top level: sequences and ratios
    def parse_answer(self) -> Any:
        value = self.parse_top()
        if self.peek() is not None:
            raise _ParseError(f"unexpected {self.peek()!r}")
        return value

    def parse_top(self) -> Any:
        first = self.parse_ratio()
        if self.peek() != ",":
            return first
        items = [first]
        while self.peek() == ",":
            self.take(",")
            items.append(self.parse_ratio())
        return ("tuple", items)

    def parse_ratio(self) -> Any:
        first = self.parse_expr()
        if self.peek() != ":":
            return first
        items = [first]
        while self.peek() == ":":
            self.take(":")
            items.append(self.parse_expr())
        return ("ratio", items)

    # -- expressions
    def parse_expr(self) -> Any:
        value = self.parse_term()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.parse_term()
            value = value + right if op == "+" else value - right
        return value

    def parse_term(self) -> Any:
        value = self.parse_signed()
        while True:
            token = self.peek()
            if token in ("*", "\\cdot", "\\times"):
                self.take()
                value = value * self.parse_signed()
            elif token in ("/", "\\div"):
                self.take()
                divisor = self.parse_signed()
                if divisor == 0:
                    raise _ParseError("division by zero")
                value = value / divisor
            elif self.starts_atom(token):
                value = value * self.parse_power()
            else:
                return value

    def parse_signed(self) -> Any:
        if self.peek() == "-":
            self.take()
            return -self.parse_signed()
        if self.peek() == "+":
            self.take()
            return self.parse_signed()
        return self.parse_power()

    def starts_atom(self, token: str | None) -> bool:
        if token is None:
            return False
        if token[0].isdigit() or token[0] == "." or (len(token) == 1 and token.isalpha()):
            return True
        if token in ("(", "[", "{", "\\{", "|"):
            return token != "|"
        if token.startswith("\\"):
            name = token[1:]
            return name in _GREEK or name in _FUNCTIONS or name in ("frac", "sqrt", "binom", "pi", "infty")
        return False

    def parse_power(self) -> Any:
        base = self.parse_postfix()
        if self.peek() in ("^", "**"):
            self.take()
            exponent = self.parse_exponent()
            return self.power(base, exponent)
        return base

    def parse_exponent(self) -> Any:
        if self.peek() == "{":
            return self.parse_group("{", "}")
        if self.peek() == "-":
            self.take()
            return -self.parse_exponent()
        return self.parse_postfix()

    def power(self, base: Any, exponent: Any) -> Any:
        sp = self.sp
        if getattr(exponent, "is_number", False) and getattr(base, "is_number", False):
            try:
                magnitude = abs(float(exponent)) * max(1.0, math.log10(abs(float(base)) + 1.0))
            except (TypeError, OverflowError, ValueError):
                raise _ParseError("power too large") from None
            if magnitude > MAX_RESULT_DIGITS:
                raise _ParseError("power too large")
            if base == 0 and exponent.is_negative:
                raise _ParseError("division by zero")
        return sp.Pow(base, exponent)

    def parse_postfix(self) -> Any:
        value = self.parse_atom()
        while self.peek() in ("!", "\u00b0", "'"):
            token = self.take()
            if token == "!":
                if not (getattr(value, "is_Integer", False) and 0 <= value <= 2000):
                    raise _ParseError("factorial of a non-integer or too large a number")
                value = self.sp.factorial(value)
            elif token == "\u00b0":
                value = value * self.sp.pi / 180 if self.degrees_to_radians else value
            else:
                raise _ParseError("prime marks are not supported")
        return value

    def parse_group(self, opener: str, closer: str) -> Any:
        self.take(opener)
        self.enter()
        value = self.parse_top()
        self.depth -= 1
        self.take(closer)
        return value

    def parse_atom(self) -> Any:
        sp = self.sp
        token = self.peek()
        if token is None:
            raise _ParseError("unexpected end")
        if token[0].isdigit() or token[0] == ".":
            self.take()
            if len(token) > 100:
                raise _ParseError("number too long")
            mantissa, _, exponent = token.lower().partition("e")
            value = sp.Rational(mantissa) if "." in mantissa else sp.Integer(mantissa)
            if exponent:
                value = value * sp.Rational(10) ** int(exponent)
            # a mixed number: an integer directly followed by \frac{integer}{integer}
            if token.isdigit() and self.peek() == "\\frac" and self._frac_of_integers_ahead():
                frac = self.parse_atom()
                return value + frac
            return value
        if token in ("(", "["):
            closer = ")" if token == "(" else "]"
            value = self.parse_group(token, closer) if self.peek(1) != closer else None
            if value is None:
                raise _ParseError("empty brackets")
            if isinstance(value, tuple) and value[0] == "tuple":
                return ("seq", value[1])
            return value
        if token == "{":
            value = self.parse_group("{", "}")
            return value
        if token == "\\{":
            self.take()
            self.enter()
            inner = self.parse_top()
            self.depth -= 1
            self.take("\\}")
            items = inner[1] if isinstance(inner, tuple) and inner[0] == "tuple" else [inner]
            return ("set", items)
        if len(token) == 1 and token.isalpha():
            self.take()
            name = token
            if self.peek() == "_":
                self.take()
                sub = self.take()
                if sub == "{":
                    parts = []
                    while self.peek() not in ("}", None):
                        parts.append(self.take())
                    self.take("}")
                    sub = "".join(parts)
                if not re.fullmatch(r"[A-Za-z0-9]{1,6}", sub):
                    raise _ParseError("bad subscript")
                name = f"{name}_{sub}"
            return sp.Symbol(name)
        if token.startswith("\\"):
            name = token[1:]
            if name == "frac":
                self.take()
                numerator = self.parse_argument()
                denominator = self.parse_argument()
                if denominator == 0:
                    raise _ParseError("division by zero")
                return numerator / denominator
            if name == "sqrt":
                self.take()
                index = None
                if self.peek() == "[":
                    index = self.parse_group("[", "]")
                radicand = self.parse_argument()
                return sp.sqrt(radicand) if index is None else self.power(radicand, sp.Integer(1) / index)
            if name == "binom":
                self.take()
                n, k = self.parse_argument(), self.parse_argument()
                if getattr(n, "is_number", False) and (not n.is_Integer or abs(n) > 10_000):
                    raise _ParseError("binomial too large")
                return sp.binomial(n, k)
            if name == "pi":
                self.take()
                return sp.pi
            if name == "infty":
                self.take()
                return sp.oo
            if name in _GREEK:
                self.take()
                return sp.Symbol(name)
            if name in _FUNCTIONS:
                return self.parse_function()
        raise _ParseError(f"unsupported {token!r}")

    def _frac_of_integers_ahead(self) -> bool:
        t = self.tokens[self.pos : self.pos + 7]
        return (
            len(t) >= 7 and t[0] == "\\frac" and t[1] == "{" and t[2].isdigit() and t[3] == "}"
            and t[4] == "{" and t[5].isdigit() and t[6] == "}"
        )  # fmt: skip

    def parse_argument(self) -> Any:
        """A command argument: a {group}, or a single digit / letter / command (\\frac12)."""
        token = self.peek()
        if token == "{":
            return self.parse_group("{", "}")
        if token is not None and token[0].isdigit():
            self.take()
            rest = token[1:]
            if rest:  # \frac12: the first digit is the argument, the rest is the next token
                self.tokens.insert(self.pos, rest)
            return self.sp.Integer(token[0])
        return self.parse_atom()

    def parse_function(self) -> Any:
        sp = self.sp
        name = self.take()[1:]
        power = None
        if self.peek() in ("^", "**"):
            self.take()
            power = self.parse_exponent()
        if name == "log" and self.peek() == "_":
            raise _ParseError("logarithm bases are not supported")
        if self.peek() in ("(", "{"):
            argument = self.parse_group(self.peek(), ")" if self.peek() == "(" else "}")
        else:  # an implicit argument: factors up to the next operator or function
            argument = self.parse_power()
            while self.starts_atom(self.peek()) and (self.peek() or "").lstrip("\\") not in _FUNCTIONS:
                argument = argument * self.parse_power()
        if isinstance(argument, tuple):
            raise _ParseError("function of a sequence")
        function = {
            "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "sec": sp.sec, "csc": sp.csc, "cot": sp.cot,
            "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan, "log": sp.log, "ln": sp.log, "exp": sp.exp,
        }[name]  # fmt: skip
        value = function(argument)
        return value if power is None else self.power(value, power)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Any:
    """A sympy value, or ("tuple"|"seq"|"set"|"ratio", items), for a normalised answer. Cached:
    callers must not modify the result."""
    if len(text) > MAX_INPUT_LENGTH:
        raise _ParseError("answer too long")
    if re.search(r"\\(?:le|ge|lt|gt|ne|neq)\b|[<>]", text):
        raise _ParseError("relations are compared as strings only")
    known = _GREEK | _FUNCTIONS | _COMMANDS
    unknown = [c for c in re.findall(r"\\([a-zA-Z]+)", text) if c not in known]
    if unknown:
        raise _ParseError(f"unsupported command \\{unknown[0]}")
    tokens = _tokenise(text)
    if not tokens:
        raise _ParseError("empty")
    return _Parser(tokens, degrees_to_radians=_has_trig(text)).parse_answer()


# ---------------------------------------------------------------- comparison


def _numbers_close(a: Any, b: Any) -> bool:
    import sympy as sp

    if a.is_Rational and b.is_Rational:  # exact arithmetic, any size; two integers must be equal
        if a == b or (a.is_Integer and b.is_Integer):
            return bool(a == b)
        return bool(abs(a - b) <= max(sp.Rational(str(REL_TOL)) * max(abs(a), abs(b)), sp.Rational(str(ABS_TOL))))
    va, vb = sp.N(a, 20), sp.N(b, 20)
    if not (va.is_finite and vb.is_finite) or va.has(sp.nan) or vb.has(sp.nan):
        return False
    if va.as_real_imag()[1] != 0 or vb.as_real_imag()[1] != 0:
        diff = abs(complex(va) - complex(vb))
        return diff <= max(REL_TOL * max(abs(complex(va)), abs(complex(vb))), ABS_TOL)
    diff = abs(va - vb)
    scale = max(abs(va), abs(vb))
    return bool(diff <= REL_TOL * scale or diff <= ABS_TOL)


_POINTS = (0.5772156649, 1.4142135623, 2.7182818284, 0.3183098861, 1.6180339887)
MAX_EXPAND_POWER = 12  # expand / simplify only expressions without larger numeric powers


def _small_powers(expr: Any) -> bool:
    import sympy as sp

    return all(not p.exp.is_Number or abs(p.exp) <= MAX_EXPAND_POWER for p in expr.atoms(sp.Pow))


def _expressions_equal(a: Any, b: Any) -> bool:
    import sympy as sp

    if not (isinstance(a, sp.Basic) and isinstance(b, sp.Basic)):
        return False
    if a == b:
        return True
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if not symbols:
        return _numbers_close(a, b)
    if a.free_symbols != b.free_symbols:
        return False
    difference = a - b
    small = _small_powers(a) and _small_powers(b)
    if small and sp.expand(difference) == 0:
        return True
    checked = 0
    for shift in range(len(_POINTS)):
        values = {s: sp.Float(_POINTS[(shift + i) % len(_POINTS)] + 0.25 * i) for i, s in enumerate(symbols)}
        va, vb = sp.N(a.subs(values), 20), sp.N(b.subs(values), 20)
        if not (va.is_number and vb.is_number) or any(v.has(sp.nan, sp.zoo, sp.oo, -sp.oo) for v in (va, vb)):
            continue
        if abs(va - vb) > max(sp.Float(REL_TOL) * max(abs(va), abs(vb)), sp.Float(1e-9)):
            return False
        checked += 1
    if checked:
        return True
    if small and sp.count_ops(a) + sp.count_ops(b) <= SIMPLIFY_MAX_OPS:
        return sp.simplify(difference) == 0
    return False


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        if not (isinstance(a, tuple) and isinstance(b, tuple)):
            return False
        kind_a, items_a = a
        kind_b, items_b = b
        if len(items_a) != len(items_b):
            return False
        if "set" in (kind_a, kind_b):
            if kind_a == "ratio" or kind_b == "ratio":
                return False
            remaining = list(items_b)
            for item in items_a:
                match = next((i for i, other in enumerate(remaining) if _values_equal(item, other)), None)
                if match is None:
                    return False
                remaining.pop(match)
            return True
        if ("ratio" in (kind_a, kind_b)) and kind_a != kind_b:
            return False
        return all(_values_equal(x, y) for x, y in zip(items_a, items_b))
    return _expressions_equal(a, b)


_LABEL = re.compile(r"(?:[A-Za-z]{1,3}(?:_\{?\w+\}?)?|\\(?:angle|overline\{[A-Z]+\})\s*[A-Z]{1,3})")


def _strip_label(text: str) -> str:
    """'k=3' -> '3'; 'AB=9' -> '9'; anything else unchanged."""
    parts = text.split("=")
    if len(parts) == 2 and _LABEL.fullmatch(parts[0].strip()) and parts[1].strip():
        return parts[1].strip()
    return text


def _candidates(normalised: str) -> list[str]:
    """The forms a normalised gold may be matched in: itself, its value after a label, and either
    side of 'a = b' / 'a \\approx b' when both sides are constants."""
    percent = normalised.endswith("%")
    body = normalised[:-1] if percent else normalised
    forms = [body]
    items = _split_top(body, ",")
    if len(items) > 1:
        stripped = ",".join(_strip_label(item) for item in items)
        if stripped != body:
            forms.append(stripped)
    else:
        label_free = _strip_label(body)
        if label_free != body:
            forms.append(label_free)
        for separator in ("\\approx", "="):
            sides = body.split(separator)
            if len(sides) == 2 and all(_constant(side) for side in sides):
                forms.extend(side.strip() for side in sides)
    return [form + ("%" if percent and form == body else "") for form in forms]


def _constant(text: str) -> bool:
    try:
        value = _parse(text.strip().rstrip("%"))
    except Exception:  # noqa: BLE001
        return False
    return not isinstance(value, tuple) and not value.free_symbols


def _split_top(text: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _value_forms(text: str) -> list[Any]:
    """Parsed values of a normalised answer: with a percent sign, the number itself and its fraction."""
    percent = text.endswith("%")
    value = _parse(text[:-1] if percent else text)
    if percent and not isinstance(value, tuple):
        return [value, value / 100]
    return [value]


def _letters(text: str) -> set[str]:
    """The one-letter names (variables) of a normalised answer, from its tokens; empty when it does
    not tokenise (the parser refuses it anyway)."""
    try:
        return {token for token in _tokenise(text.rstrip("%")) if len(token) == 1 and token.isalpha()}
    except _ParseError:
        return set()


def _is_text(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]{2,}|[A-Z]", text))


def is_equivalent(answer: str, gold: str) -> bool:
    """True iff `answer` means the same as the MATH gold answer `gold` (see the module docstring)."""
    try:
        return _is_equivalent(answer, gold)
    except Exception:  # noqa: BLE001 - a malformed answer must never raise
        return False


def _is_equivalent(answer: str, gold: str) -> bool:
    if not answer.strip() or len(answer) > 5 * MAX_INPUT_LENGTH:
        return False
    ans, ref = normalise(answer), normalise(gold)
    if not ans:
        return False
    if ans == ref:
        return True
    forms = _candidates(ref)
    if _is_text(ref.rstrip("%")):
        if len(ref) == 1:  # an option letter
            return option_letter(ans) == ref or ans.casefold() == ref.casefold()
        return ans.casefold() == ref.casefold()
    label_free = _strip_label(ans) if "," not in ans else ",".join(_strip_label(i) for i in _split_top(ans, ","))
    ans_forms = list(dict.fromkeys([ans, label_free]))
    if any(a == f for a in ans_forms for f in forms):
        return True
    for form in dict.fromkeys(forms):
        try:
            gold_values = _value_forms(form)
        except Exception:  # noqa: BLE001 - the gold is not parseable: string match only
            continue
        for candidate in ans_forms:
            if _letters(candidate) - _letters(form):  # "-0 or -9" would parse as -0*o*r - 9
                continue
            try:
                answer_values = _value_forms(candidate)
            except Exception:  # noqa: BLE001
                continue
            # bare number against bare number, and (with a percent sign) fraction value against fraction
            # value; a percent answer to a bare gold only by its fraction value (0.5% is not 1/2)
            if len(answer_values) == 2 and len(gold_values) == 1:
                pairs = {(1, 0)}
            else:
                pairs = {(0, 0), (len(answer_values) - 1, len(gold_values) - 1)}
            if any(_values_equal(answer_values[i], gold_values[j]) for i, j in sorted(pairs)):
                return True
    return False
