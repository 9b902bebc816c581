"""Which split each task belongs to.

The frozen train/test split arrives with the full task catalogue. Until then NumberMultiply is the
one held-out test task and every other task is in the training split.
"""
from __future__ import annotations

_TEST_TASKS = frozenset({"NumberMultiply"})


def split_of(name: str) -> str:
    """"test" for held-out tasks, "train" for the rest."""
    return "test" if name in _TEST_TASKS else "train"
