"""The SymBench task base: the `instances=` knob (and its deprecated name `source=`), the seeded
generator, the official-instance branch, range checks and the shipped-solver helper."""

from __future__ import annotations

import pytest

from r1ci_env.tasks.common import generated_id
from r1ci_env.tasks.pooling import Pooling, pool
from r1ci_env.tasks.registry import make_task, task_names, task_spec
from r1ci_env.tasks.symbench import InstanceList, SymBenchTask, solver_program

OFFICIAL = "symbench/pooling_dataset"


def test_every_symbench_task_uses_the_base_and_names_the_knob_instances():
    for name in task_names():
        spec = task_spec(name)
        if spec.source == "symbench" and name != "PathPlan":  # PathPlan's instances are not shipped as data
            assert issubclass(spec.cls, SymBenchTask), name
            assert "instances" in spec.cls.config_class.__dataclass_fields__, name
            assert "source" not in spec.cls.config_class.__dataclass_fields__, name


def test_official_instances_replace_the_generator(data_dir):
    generated, official = Pooling(), Pooling(instances=OFFICIAL)
    assert generated.num_questions() is None and generated.generate(3).instance_id == generated_id(3)
    assert official.num_questions() == len(official.official) > 0
    first = official.generate(0)
    assert first.instance_id == official.official.ids[0]
    assert official.generate(official.num_questions()).question == first.question  # seed s serves s % n


def test_same_seed_same_question_other_seed_other_question():
    assert Pooling().generate(5) == Pooling().generate(5)
    assert Pooling().generate(5).question != Pooling().generate(6).question


def test_old_source_knob_still_works_with_a_warning_naming_instances(data_dir):
    with pytest.warns(DeprecationWarning, match="`source=` knob is renamed `instances=`"):
        old = make_task("Pooling", source=OFFICIAL)
    assert old.config.instances == OFFICIAL
    assert old.generate(7) == Pooling(instances=OFFICIAL).generate(7)
    with pytest.raises(TypeError, match="give `instances=` only"):
        Pooling(source=OFFICIAL, instances=OFFICIAL)


def test_missing_instances_is_a_clear_error(tmp_path, data_dir):
    with pytest.raises(FileNotFoundError, match="official instances not found"):
        Pooling(instances=str(tmp_path / "nope"))


def test_check_range_names_the_knob():
    with pytest.raises(ValueError, match=r"Pooling needs 2 <= min_size <= max_size"):
        Pooling(min_size=1)
    with pytest.raises(ValueError, match=r"Pooling needs 2 <= min_size <= max_size"):
        Pooling(min_size=5, max_size=4)
    with pytest.raises(ValueError, match=r"Letters needs 1 <= min_length <= max_length"):
        make_task("Letters", min_length=0)


def test_instance_list_picks_modulo_and_rejects_an_empty_set():
    items = InstanceList([("a", 1), ("b", 2)])
    assert len(items) == 2 and items.pick(3) == ("b", 2)
    with pytest.raises(ValueError, match="empty"):
        InstanceList([])


def test_solver_program_ships_the_function_and_runs():
    program = solver_program(pool, comment="max pooling", main="print(pool([[1, 2], [3, 4]], 1, 'max'))\n")
    assert program.startswith("# max pooling\ndef pool(")
    scope: dict = {}
    exec(compile(program.replace("print(", "result = ("), "<solver>", "exec"), scope)  # noqa: S102 (own source)
    assert scope["result"] == [[1, 2], [3, 4]]
