"""`TextSpace`: any Python string up to a length bound, as the observation and action space.

`gymnasium.spaces.Text` does not fit model text: it rejects the empty string by default, accepts only
a whitelist of characters (never arbitrary Unicode), and its shared-memory vector path silently
returns `'000...'`. This space accepts every `str` of at most `max_length` characters. It is not
flattenable, so `AsyncVectorEnv` needs `shared_memory=False` (it fails loudly otherwise).
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium.spaces import Space

DEFAULT_MAX_LENGTH = 10**7
SAMPLE_MAX_LENGTH = 64
_SAMPLE_ALPHABET = string.printable


class TextSpace(Space[str]):
    """All strings of at most `max_length` characters (any Unicode, empty included)."""

    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH, *, seed: int | None = None) -> None:
        if max_length < 0:
            raise ValueError(f"max_length must be >= 0, got {max_length}")
        self.max_length = int(max_length)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        """Text has no fixed-size array form."""
        return False

    def sample(self, mask: Any | None = None, probability: Any | None = None) -> str:
        """A random printable string of 0 to 64 characters (bounded by `max_length`), from `np_random`."""
        if mask is not None or probability is not None:
            raise ValueError("TextSpace.sample takes no mask or probability")
        length = int(self.np_random.integers(0, min(self.max_length, SAMPLE_MAX_LENGTH) + 1))
        picks = self.np_random.integers(0, len(_SAMPLE_ALPHABET), size=length)
        return "".join(_SAMPLE_ALPHABET[i] for i in picks)

    def contains(self, x: Any) -> bool:
        """True for a `str` of at most `max_length` characters."""
        return isinstance(x, str) and len(x) <= self.max_length

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextSpace) and other.max_length == self.max_length

    def __hash__(self) -> int:
        return hash((TextSpace, self.max_length))

    def __repr__(self) -> str:
        return f"TextSpace(max_length={self.max_length})"
