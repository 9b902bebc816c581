"""MATH Geometry (SymBench): the 870 geometry problems of MATH's training split (CodeSteer's copy).

Served from `<data dir>/symbench/MATH/train/geometry` (pinned by a directory checksum; no automatic
download) or from `instances=<dir>`; seed s serves problem s % 870 in file-name order. The gold answer
is the solution's last \\boxed{}; answers are checked for mathematical equivalence without a model
(see `_math_answer`). Data loading and the task class are shared with MATH Count&Prob (see
`_math_dataset`).
"""

from __future__ import annotations

from ._math_dataset import MathSubjectTask
from .registry import register_task


class MathGeometry(MathSubjectTask):
    name = "MathGeometry"
    subject = "geometry"
    pinned_sha256 = "3f5224f60dc4545af018061e72c5875596bff8ce5a96b1227faa16b10bd5992a"


register_task(MathGeometry)
