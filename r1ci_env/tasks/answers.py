"""The answer-normalisation layer shared by every task: what a careful grader strips from a final
answer before checking it, and nothing more.

`Task.score` applies `normalise_answer` to the extracted `<<<...>>>` content before the task's own
checker sees it (see `base.Task`), so checkers never deal with these wrappers. Removed, only when
they wrap the whole answer: surrounding whitespace, `\\boxed{...}` / `\\fbox{...}`, inline-math
delimiters (`$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]`), Markdown bold (`**...**`) and a leading
"Answer:", "Final answer:", "The answer is" or "The final answer is". Everything task-specific (option
labels such as "(A).", number formats such as "19 / 3", move spellings) is left to the task's checker.
"""

from __future__ import annotations

import re

_PREFIX = re.compile(r"(?:the\s+)?(?:final\s+)?answer\s*(?::|is\b:?)\s*", re.IGNORECASE)
_COMMANDS = ("\\boxed{", "\\fbox{")
_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"))
MAX_LAYERS = 4


def normalise_answer(answer: str) -> str:
    """`answer` with the wrappers above removed (up to `MAX_LAYERS` of them, e.g. "Answer: \\boxed{7}"),
    stripped. Idempotent for answers with at most that many layers."""
    text = answer.strip()
    for _ in range(MAX_LAYERS):
        unwrapped = _unwrap_once(text)
        if unwrapped == text:
            break
        text = unwrapped
    return text


def _unwrap_once(text: str) -> str:
    prefix = _PREFIX.match(text)
    if prefix and prefix.end() < len(text):
        return text[prefix.end() :].strip()
    for command in _COMMANDS:
        if text.startswith(command) and text.endswith("}") and closing_brace(text, len(command) - 1) == len(text) - 1:
            return text[len(command) : -1].strip()
    for opening, closing in _DELIMITERS:
        inner = text[len(opening) : len(text) - len(closing)]
        if (
            len(text) > len(opening) + len(closing)
            and text.startswith(opening)
            and text.endswith(closing)
            and opening not in inner
            and closing not in inner
        ):
            return inner.strip()
    return text


def closing_brace(text: str, start: int) -> int | None:
    """The index of the brace closing the one at `start`, or None when it is never closed."""
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return None
