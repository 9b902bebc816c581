"""The one loader for data-backed tasks: find a file in the data directory, or download it once from
its public source into that directory, always checking a pinned SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from .settings import DATA_DIR_VAR, data_dir

DOWNLOAD_TIMEOUT = 60.0  # seconds without progress before a download is abandoned
_CHUNK = 1 << 16


class DataError(RuntimeError):
    """A data file is missing and cannot be downloaded, or is not the pinned version."""


class ChecksumError(DataError):
    """A data file's SHA-256 differs from the pinned one."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(relpath: str, url: str, sha256: str) -> Path:
    """The path of `<data dir>/<relpath>`, downloading it from `url` first when it is absent.

    Both a local copy and a download must have the SHA-256 `sha256`; a failed download leaves
    nothing behind. Raises `DataError` when the file is absent and cannot be downloaded (offline)
    and `ChecksumError` when the bytes are not the pinned version.
    """
    path = data_dir() / relpath
    if path.is_file():
        actual = sha256_of(path)
        if actual != sha256:
            raise ChecksumError(
                f"{path} has SHA-256 {actual}, not the pinned {sha256}: it is not the expected version "
                f"of {relpath}. Delete it to download it again from {url}."
            )
        return path
    _download(relpath, url, sha256, path)
    return path


def _download(relpath: str, url: str, sha256: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except OSError as exc:  # URLError, HTTPError, timeouts and connection errors
                raise DataError(
                    f"{relpath} is not in the data directory {data_dir()} and downloading it from {url} "
                    f"failed ({exc}). Connect to the internet, or set {DATA_DIR_VAR} to a directory that "
                    f"holds {relpath}."
                ) from exc
        if digest.hexdigest() != sha256:
            raise ChecksumError(
                f"the download of {relpath} from {url} has SHA-256 {digest.hexdigest()}, not the pinned "
                f"{sha256}; it was discarded."
            )
        os.replace(part, path)
    finally:
        if os.path.exists(part):
            os.remove(part)
