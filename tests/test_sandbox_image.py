"""The sandbox image: its contents (Docker tests; `scripts/setup.sh` builds the image, not these tests),
the apt mirror discovery the offline build relies on, and the package pruning it does."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import docker_unavailable

from r1ci_env import settings
from r1ci_env.sandbox import SandboxError
from r1ci_env.sandbox.image import discover_mirror, image_exists, resolve_method, unneeded_packages

LIBRARIES_PROBE = (
    "import sys, numpy, sympy, scipy, networkx, scipy.optimize, scipy.linalg, scipy.stats\n"
    "print(sys.version_info[:2], sympy.factor('x**2 - 1'), round(scipy.optimize.brentq(lambda x: x*x - 2, 0, 2), 6))"
)


@pytest.fixture(scope="module")
def built_image() -> str:
    """The configured sandbox image, which must already exist (`bash scripts/setup.sh` builds it)."""
    image = settings.sandbox_image()
    try:
        present = image_exists(image)
    except SandboxError as exc:
        docker_unavailable(str(exc))
    if not present:
        docker_unavailable(f"sandbox image {image} is missing: run `r1ci sandbox build`")
    return image


def _docker_run(image: str, *cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--read-only", image, *cmd],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.docker
def test_image_has_python3_and_the_libraries(built_image: str) -> None:
    proc = _docker_run(built_image, "/usr/bin/python3", "-I", "-c", LIBRARIES_PROBE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["(3,", "11)", "(x", "-", "1)*(x", "+", "1)", "1.414214"]


@pytest.mark.docker
def test_image_has_a_shell_and_id(built_image: str) -> None:
    proc = _docker_run(built_image, "sh", "-c", "id -u")
    assert (proc.returncode, proc.stdout.strip()) == (0, "0")


@pytest.mark.docker
def test_image_exists_is_false_for_an_unknown_tag() -> None:
    try:
        assert image_exists(f"r1ci-no-such-image-{uuid.uuid4().hex}:latest") is False
    except SandboxError as exc:
        docker_unavailable(str(exc))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_mirror_from_one_line_sources_list(tmp_path: Path) -> None:
    _write(
        tmp_path / "sources.list",
        (
            "# deb http://commented.example/debian bookworm main\n"
            "deb-src http://source.example/debian bookworm main\n"
            "deb http://security.example/debian-security bookworm-security main\n"
            "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib\n"
            "deb http://later.example/debian bookworm main\n"
        ),
    )
    assert discover_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_from_deb822_sources(tmp_path: Path) -> None:
    _write(
        tmp_path / "sources.list.d" / "debian.sources",
        (
            "Types: deb\n"
            "# a comment inside the stanza\n"
            "URIs: http://disabled.example/debian\n"
            "Suites: bookworm\n"
            "Enabled: no\n"
            "\n"
            "Types: deb deb-src\n"
            "URIs: https://mirror.example/debian\n"
            "  http://second.example/debian\n"
            "Suites: bookworm bookworm-updates\n"
            "Components: main\n"
            "\n"
            "Types: deb\n"
            "URIs: http://security.example/debian-security\n"
            "Suites: bookworm-security\n"
        ),
    )
    _write(tmp_path / "sources.list.d" / "other.list.disabled", "deb http://ignored.example/debian bookworm main\n")
    assert discover_mirror(tmp_path) == "https://mirror.example/debian"


def test_mirror_falls_back_to_a_debian_archive_of_another_release(tmp_path: Path) -> None:
    _write(
        tmp_path / "sources.list.d" / "debian.sources",
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: trixie\nComponents: main\n",
    )
    _write(tmp_path / "sources.list.d" / "a.list", "deb http://ppa.example/ubuntu jammy main\n")
    assert discover_mirror(tmp_path) == "http://mirror.example/debian/"


def test_mirror_missing_is_a_clear_error(tmp_path: Path) -> None:
    _write(tmp_path / "sources.list", "deb http://ppa.example/ubuntu jammy main\n")
    with pytest.raises(SandboxError, match="R1CI_DEBIAN_MIRROR"):
        discover_mirror(tmp_path)


def _status(*stanzas: str) -> str:
    return "\n\n".join(f"Package: {s}\nStatus: install ok installed" if "\n" not in s else s for s in stanzas)


def test_unneeded_packages_follows_depends_alternatives_and_provides() -> None:
    status = _status(
        "Package: base\nStatus: install ok installed\nPriority: required\nPre-Depends: libc (>= 2)",
        "libc",
        "Package: app\nStatus: install ok installed\nDepends: blas-ref | blas.so, virtual-x, python3:any",
        "blas-ref",
        "Package: blas-fast\nStatus: install ok installed\nProvides: blas.so",
        "Package: x-impl\nStatus: install ok installed\nProvides: virtual-x (= 1)",
        "python3",
        "Package: compiler\nStatus: install ok installed\nDepends: libc",
        "Package: gone\nStatus: deinstall ok config-files",
    )
    assert unneeded_packages(status, ["app"]) == {"blas-fast", "compiler"}


def test_auto_method_honours_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R1CI_SANDBOX_BUILD", "dockerfile")
    assert resolve_method("auto") == "dockerfile"
    assert resolve_method("debootstrap") == "debootstrap"
    monkeypatch.setenv("R1CI_SANDBOX_BUILD", "podman")
    with pytest.raises(ValueError):
        resolve_method("auto")
