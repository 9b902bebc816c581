"""Shared fixtures: the data directory, one-thread torch, and a real Docker sandbox pool."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

os.environ.setdefault("R1CI_DATA_DIR", str(SHARED_DATA))
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point R1CI_DATA_DIR at ../shared/data (the reference data kept beside the repo)."""
    monkeypatch.setenv("R1CI_DATA_DIR", str(SHARED_DATA))
    return SHARED_DATA


def docker_unavailable(reason: str) -> None:
    """Docker tests must run in CI: there a missing daemon or image is a failure, elsewhere a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"Docker is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_sandbox():
    """One real pool for the whole session: 1 container x 4 slots of the built sandbox image."""
    from r1ci_env.sandbox import SandboxError, make_sandbox

    try:
        sandbox = make_sandbox("docker", containers=1, slots=4)
    except SandboxError as exc:
        docker_unavailable(str(exc))
    yield sandbox
    sandbox.close()
