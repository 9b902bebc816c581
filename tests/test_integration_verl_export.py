"""`r1ci export verl` in r1ci's own environment: parquet rows that name (task, seed), carry the env's own
prompt, route to the r1ci agent loop, and express the 4p(1-p) curriculum as row counts."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

from agents.cli import main
from r1ci_env.integrations.episode import EnvSettings
from r1ci_env.integrations.verl_data import TEST_SEED_BASE, potential_weight


def test_export_rows_and_curriculum(tmp_path, capsys):
    accuracy = tmp_path / "acc.json"
    accuracy.write_text(json.dumps({"Game24": 0.5, "NumberMultiply": 1.0, "Letters": 0.0}))
    assert (
        main(
            [
                "export",
                "verl",
                "--tasks",
                "Game24,NumberMultiply,Letters",
                "--n",
                "600",
                "--test-n",
                "20",
                "--accuracy",
                str(accuracy),
                "--out",
                str(tmp_path / "data"),
            ]
        )
        == 0
    )
    train = pq.read_table(tmp_path / "data" / "train.parquet").to_pylist()
    test = pq.read_table(tmp_path / "data" / "test.parquet").to_pylist()
    assert len(train) == 600 and len(test) == 20
    counts = Counter(row["extra_info"]["task"] for row in train)
    # weights 1.05 : 0.05 : 0.05 -> about 552 : 24 : 24
    assert counts["Game24"] > 450 and 5 < counts["NumberMultiply"] < 60 and 5 < counts["Letters"] < 60
    assert train[0]["extra_info"]["weight"] == pytest.approx(potential_weight(train[0]["extra_info"]["p"]))
    for row in train[:5] + test[:5]:
        info = row["extra_info"]
        env = EnvSettings(sandbox="local").make(info["task"], json.loads(info["knobs"]))
        assert row["prompt"] == [{"role": "user", "content": env.reset(seed=info["seed"])[0]}]
        assert row["agent_name"] == "r1ci" and row["data_source"] == f"r1ci/{info['task']}"
    assert all(row["extra_info"]["seed"] < TEST_SEED_BASE for row in train)
    assert all(row["extra_info"]["seed"] >= TEST_SEED_BASE for row in test)
    assert "potential curriculum" in capsys.readouterr().out


def test_bad_accuracy_file_is_refused(tmp_path):
    bad = tmp_path / "acc.json"
    bad.write_text(json.dumps({"Game24": 3}))
    with pytest.raises(ValueError, match="accuracy in \\[0, 1\\]"):
        main(["export", "verl", "--tasks", "Game24", "--n", "2", "--accuracy", str(bad), "--out", str(tmp_path)])
