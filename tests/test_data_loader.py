"""The data loader: local copies, pinned checksums, downloads (via file:// URLs, no network) and offline errors."""

from __future__ import annotations

import hashlib

import pytest

from r1ci_env.data import ChecksumError, DataError, fetch, sha256_of
from r1ci_env.tasks.bbh import SHA256, URL

PAYLOAD = b'{"examples": []}\n'
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def empty_data_dir(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("R1CI_DATA_DIR", str(root))
    return root


@pytest.fixture
def remote(tmp_path) -> str:
    """A file:// URL standing in for a public download."""
    source = tmp_path / "remote.json"
    source.write_bytes(PAYLOAD)
    return source.as_uri()


def test_pinned_bbh_checksums_match_the_reference_files(data_dir):
    assert len(SHA256) == 27
    for subtask, digest in SHA256.items():
        assert sha256_of(data_dir / "bbh" / f"{subtask}.json") == digest, subtask
    assert URL.format(subtask="navigate") == (
        "https://raw.githubusercontent.com/suzgunmirac/BIG-Bench-Hard/9ee07bd/bbh/navigate.json"
    )


def test_local_copy_is_used_without_network(data_dir):
    path = fetch("bbh/date_understanding.json", "http://127.0.0.1:9/unused", SHA256["date_understanding"])
    assert path == data_dir / "bbh" / "date_understanding.json"


def test_missing_file_offline_names_file_url_and_setting(empty_data_dir):
    url = "http://127.0.0.1:9/bbh/navigate.json"
    with pytest.raises(DataError) as err:
        fetch("bbh/navigate.json", url, SHA256["navigate"])
    message = str(err.value)
    assert "bbh/navigate.json" in message and url in message and "R1CI_DATA_DIR" in message
    assert not any(p.is_file() for p in empty_data_dir.rglob("*"))  # nothing half-written


def test_download_is_verified_and_cached(empty_data_dir, remote):
    path = fetch("x/remote.json", remote, PAYLOAD_SHA)
    assert path == empty_data_dir / "x" / "remote.json" and path.read_bytes() == PAYLOAD
    # Second call: served from the cache, the URL is not needed any more.
    assert fetch("x/remote.json", "http://127.0.0.1:9/gone", PAYLOAD_SHA) == path


def test_download_with_wrong_checksum_is_rejected_and_removed(empty_data_dir, remote):
    with pytest.raises(ChecksumError, match="x/remote.json"):
        fetch("x/remote.json", remote, "0" * 64)
    assert not any(p.is_file() for p in empty_data_dir.rglob("*"))


def test_local_copy_with_wrong_checksum_is_reported_not_deleted(empty_data_dir):
    local = empty_data_dir / "bbh" / "navigate.json"
    local.parent.mkdir(parents=True)
    local.write_bytes(PAYLOAD)
    with pytest.raises(ChecksumError, match="not the pinned"):
        fetch("bbh/navigate.json", "http://127.0.0.1:9/unused", SHA256["navigate"])
    assert local.read_bytes() == PAYLOAD
