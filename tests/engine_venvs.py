"""Build each engine's virtual environment once into `~/.cache/r1ci/venvs/<engine>-<version>-<hash>`
(`$R1CI_VENV_CACHE`) and reuse it: outside the checkout, so fresh clones on one machine (CI) share it.

The engines pin packages that conflict with r1ci's own (verl 0.9: transformers < 5.11), so their tests run
in a venv of their own, driven through a subprocess. A venv is complete when its stamp file exists; a
half-built one (killed install) is removed and built again. `isolated` engines get a clean venv with
their own torch; the others overlay r1ci's environment (`--system-site-packages`), which is only allowed
where `pip install --dry-run` shows the engine changes none of r1ci's installed packages.

    python tests/engine_venvs.py build trl verl openenv   # the tests call build() on demand in CI
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(
    os.environ.get("R1CI_VENV_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "r1ci" / "venvs"
)
STAMP = "r1ci-venv-complete.json"
# The engine venvs install r1ci's core only (gymnasium, numpy, tqdm, docker SDK); never torch pins of ours.
CORE_REQUIREMENTS = ["gymnasium>=1.2,<1.5", "numpy>=1.26", "tqdm", "docker>=7.1,<8"]


def _torch_requirement() -> str:
    """The torch release r1ci's environment has (its local tag dropped), so pip takes the same CPU build."""
    return "torch==" + importlib.metadata.version("torch").split("+")[0]


@dataclass(frozen=True)
class Engine:
    """One engine's venv recipe."""

    name: str
    version: str
    requirements: tuple[str, ...]
    isolated: bool  # True: no access to r1ci's site-packages (the engine's pins conflict with ours)
    extra: tuple[str, ...] = field(default=())

    def all_requirements(self) -> list[str]:
        reqs = list(self.requirements) + list(self.extra)
        if self.isolated:
            reqs = [_torch_requirement(), *CORE_REQUIREMENTS, *reqs]
        return reqs

    def path(self) -> Path:
        key = hashlib.sha256(
            json.dumps([self.isolated, sys.version_info[:2], self.all_requirements()]).encode()
        ).hexdigest()[:10]
        return CACHE / f"{self.name}-{self.version}-{key}"


ENGINES = {
    "openenv": Engine("openenv", "0.3.0", ("openenv-core==0.3.0",), isolated=False),
    "trl": Engine("trl", "1.16.0", ("trl==1.16.0",), isolated=False),
    # verl's agent_loop module imports these three from its `verl-core` extra (the rest of it is GPU tooling)
    "verl": Engine("verl", "0.9.1", ("verl==0.9.1",), isolated=True, extra=("cachetools", "fastapi", "uvicorn")),
}


def python_of(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "python"


def ready(name: str) -> Path | None:
    """The engine venv's python if the venv is complete, else None."""
    path = ENGINES[name].path()
    return python_of(path) if (path / STAMP).is_file() else None


def build(name: str, log=print) -> tuple[Path, float]:
    """Build (or reuse) the engine's venv; returns its python and the seconds this call took."""
    engine = ENGINES[name]
    path = engine.path()
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(CACHE / f".{engine.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two pytest processes never build the same venv at once
        if not (path / STAMP).is_file():
            shutil.rmtree(path, ignore_errors=True)
            log(f"[engine-venv] building {path.name} (once; reused afterwards)")
            venv.EnvBuilder(with_pip=True, system_site_packages=not engine.isolated, symlinks=True).create(path)
            pip = [str(python_of(path)), "-m", "pip", "install", "-q", "--progress-bar", "off"]
            subprocess.run([*pip, *engine.all_requirements()], check=True)
            (path / STAMP).write_text(
                json.dumps({"requirements": engine.all_requirements(), "seconds": round(time.monotonic() - started, 1)})
            )
    return python_of(path), time.monotonic() - started


def require(name: str) -> Path:
    """For a test: the engine venv's python. In CI (or with R1CI_BUILD_ENGINE_VENVS=1) a missing venv is
    built here (once, then cached); elsewhere the test skips with the command that builds it."""
    import pytest

    python = ready(name)
    if python is not None:
        return python
    if os.environ.get("CI") or os.environ.get("R1CI_BUILD_ENGINE_VENVS") == "1":
        return build(name, log=lambda line: print(line, file=sys.stderr))[0]
    pytest.skip(
        f"the {name} venv is not built; run `python tests/engine_venvs.py build {name}` "
        "(or set R1CI_BUILD_ENGINE_VENVS=1)"
    )


def run_script(name: str, script: str, *args: str, timeout: float = 600) -> dict:
    """Run tests/engine_scripts/<script> in the engine's venv (repo on PYTHONPATH); its last stdout line
    is JSON, returned parsed. A failing script fails the test with its stderr tail."""
    import pytest

    python = require(name)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    proc = subprocess.run(
        [str(python), str(REPO / "tests" / "engine_scripts" / script), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        pytest.fail(f"{script} in the {name} venv exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the engine venvs the integration tests use.")
    parser.add_argument("action", choices=["build", "path"])
    parser.add_argument("engines", nargs="*", default=sorted(ENGINES))
    args = parser.parse_args(argv)
    for name in args.engines:
        if args.action == "path":
            print(ENGINES[name].path())
            continue
        python, seconds = build(name)
        print(f"{name}: {python} ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
