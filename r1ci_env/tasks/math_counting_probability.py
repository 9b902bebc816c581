"""MATH Counting & Probability (SymBench): the 771 counting_and_probability problems of MATH's
training split (CodeSteer's copy).

Served from `<data dir>/symbench/MATH/train/counting_and_probability` (pinned by a directory
checksum; no automatic download) or from `instances=<dir>`; seed s serves problem s % 771 in file-name
order. The gold answer is the solution's last \\boxed{}; answers are checked for mathematical
equivalence without a model (see `_math_answer`). Data loading and the task class are shared with
MATH Geometry (see `_math_dataset`).
"""

from __future__ import annotations

from ._math_dataset import MathSubjectTask
from .registry import register_task


class MathCountingProbability(MathSubjectTask):
    name = "MathCountingProbability"
    subject = "counting_and_probability"
    pinned_sha256 = "c548c432aefbc4b2b9fe466a66152062e9d0fe999ca43b962fce6677763674aa"


register_task(MathCountingProbability)
