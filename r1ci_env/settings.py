"""Process-wide settings read from the environment, with the defaults users get when nothing is set."""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_VAR = "R1CI_DATA_DIR"
IMAGE_VAR = "R1CI_SANDBOX_IMAGE"
DEFAULT_IMAGE = "r1ci-sandbox:latest"


def data_dir() -> Path:
    """Where data-backed tasks look for (and download) their data: `$R1CI_DATA_DIR`, else
    `~/.cache/r1ci/data`."""
    value = os.environ.get(DATA_DIR_VAR)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "r1ci" / "data"


def sandbox_image() -> str:
    """The Docker image the sandbox pool runs: `$R1CI_SANDBOX_IMAGE`, else `r1ci-sandbox:latest`."""
    return os.environ.get(IMAGE_VAR, DEFAULT_IMAGE)
