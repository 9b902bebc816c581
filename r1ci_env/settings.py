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


SANDBOX_VAR = "R1CI_SANDBOX"
SANDBOX_URLS_VAR = "R1CI_SANDBOX_URLS"
SANDBOX_TOKEN_VAR = "R1CI_SANDBOX_TOKEN"


def sandbox_backend() -> str:
    """The backend environments use when none is named: `$R1CI_SANDBOX`, else `docker`; lets worker
    processes be pointed at sandbox servers (`R1CI_SANDBOX=remote`) without a code change."""
    return os.environ.get(SANDBOX_VAR) or "docker"


def sandbox_urls() -> list[str]:
    """Sandbox server URLs for the `remote` backend: `$R1CI_SANDBOX_URLS`, comma-separated."""
    return [url.strip() for url in os.environ.get(SANDBOX_URLS_VAR, "").split(",") if url.strip()]


def sandbox_token() -> str | None:
    """The bearer token shared by `r1ci sandbox serve` and its clients: `$R1CI_SANDBOX_TOKEN`."""
    return os.environ.get(SANDBOX_TOKEN_VAR) or None
