"""The integrations' shared piece, in r1ci's own environment: a remote request names a task, a seed and
generator knobs, never the operator's settings; the CLI names the missing engine package in one line."""

from __future__ import annotations

import pytest

from agents.cli import main
from r1ci_env.integrations.episode import RESERVED, EnvSettings


@pytest.mark.parametrize("knob", ["sandbox", "max_code_calls", "timeout", "stateful", "prompt", "task"])
def test_a_request_cannot_set_operator_settings(knob):
    assert knob in RESERVED
    with pytest.raises(ValueError, match=knob):
        EnvSettings(sandbox="local").make("Game24", {knob: "local"})


def test_requests_build_the_env_with_fixed_settings_and_knobs():
    env = EnvSettings(sandbox="local", max_code_calls=2).make("Game24", {"count": 3})
    prompt, info = env.reset(seed=5)
    assert env.max_code_calls == 2 and info["difficulty"]["count"] == 3 and "at most 2 times" in prompt
    with pytest.raises(KeyError, match="unknown task"):
        EnvSettings().make("NoSuchTask")


def test_serve_without_the_engine_is_one_clear_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_openenv(name, *args, **kwargs):
        if name.startswith("openenv"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openenv)
    monkeypatch.delitem(__import__("sys").modules, "r1ci_env.integrations.openenv", raising=False)
    with pytest.raises(SystemExit, match=r"openenv.* is not installed; pip install 'r1ci\[openenv\]'"):
        main(["serve", "openenv", "--port", "1"])
