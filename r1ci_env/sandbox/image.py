"""Build and inspect the sandbox image, and the `r1ci sandbox build|check` command handlers.

Two ways to build the same Debian bookworm image (python3 3.11, numpy, sympy, scipy, networkx):
- `dockerfile`: `docker build` of the shipped Dockerfile; needs a registry to pull `debian:bookworm-slim`.
- `debootstrap`: offline, for air-gapped machines and CI: debootstrap a minimal Debian from the Debian
  mirror that this machine's apt already uses, strip it, and `docker import` it. Needs root.

`auto` never probes a registry (that would send traffic off the machine just to decide). It takes
`$R1CI_SANDBOX_BUILD` when set, else `debootstrap` when that tool is installed, else `dockerfile`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .. import settings
from .base import SandboxError

METHODS = ("dockerfile", "debootstrap")
METHOD_VAR = "R1CI_SANDBOX_BUILD"
MIRROR_VAR = "R1CI_DEBIAN_MIRROR"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-numpy", "python3-sympy", "python3-scipy", "python3-networkx")
DOCKERFILE = Path(__file__).with_name("Dockerfile")
# Debian's python3-scipy depends on python3-pythran, a compiler (with g++, boost, openblas-dev:
# ~500 MB) that scipy needs only when it is built. A placeholder package stands in for it.
PLACEHOLDER = "python3-pythran"
PLACEHOLDER_CONTROL = (
    f"Package: {PLACEHOLDER}\nVersion: 99\nArchitecture: all\nMaintainer: r1ci\n"
    "Description: placeholder: scipy uses pythran only when it is built\n"
)
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
}
BUILD_LABEL = "org.r1ci.image.build"
# What the offline build deletes from the root filesystem: package indexes and caches, logs, docs,
# and the libraries' own test suites (~110 MB; importing every other module was checked without them).
STRIP_GLOBS = (
    "var/lib/apt/lists/*",
    "var/cache/apt/*",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "var/log/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "usr/share/lintian/*",
    "usr/lib/python3/dist-packages/**/tests",
)
IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    f"LABEL {BUILD_LABEL}=debootstrap",
    'CMD ["python3"]',
)
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")

Log = Callable[[str], object]


# --- apt configuration -------------------------------------------------------------------------


def discover_mirror(apt_dir: Path | str = "/etc/apt", suite: str = SUITE) -> str:
    """The Debian archive URI this machine's apt uses, read from `sources.list` and
    `sources.list.d/*.list|*.sources` under `apt_dir`, so the offline build needs no configured host.

    Prefers a `deb` source that lists `suite` itself (not `-security`/`-updates`); else one whose URI
    ends in `/debian`, the archive's usual path. Raises `SandboxError` when there is none.
    """
    sources = list(_apt_sources(Path(apt_dir)))
    for uri, suites in sources:
        if suite in suites:
            return uri
    for uri, _ in sources:
        if uri.rstrip("/").endswith("/debian"):
            return uri
    raise SandboxError(
        f"no Debian archive for {suite!r} among the apt sources under {apt_dir}; "
        f"set ${MIRROR_VAR} to a Debian mirror URL"
    )


def _apt_sources(apt_dir: Path) -> Iterator[tuple[str, list[str]]]:
    """(uri, suites) of every enabled binary (`deb`) source with a URI debootstrap can fetch, in apt's order."""
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            entries = _parse_deb822(text)
        elif path.suffix == ".list" or path.name == "sources.list":
            entries = _parse_one_line(text)
        else:
            continue
        yield from ((uri, suites) for uri, suites in entries if re.match(r"(https?|ftp|file)://", uri))


def _parse_one_line(text: str) -> Iterator[tuple[str, list[str]]]:
    """Entries of a one-line-style file: `deb [options] uri suite [component...]`."""
    for line in text.splitlines():
        match = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line.split("#", 1)[0])
        if match:
            yield match.group(1), [match.group(2)]


def _parse_deb822(text: str) -> Iterator[tuple[str, list[str]]]:
    """Entries of a deb822 `.sources` file: one (uri, suites) per URI of each enabled `deb` stanza."""
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields = _deb822_fields(stanza)
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split()


def _deb822_fields(stanza: str) -> dict[str, str]:
    """Fields of one deb822 stanza, keys lower-cased, continuation lines joined, comments dropped."""
    fields: dict[str, str] = {}
    key = None
    for line in stanza.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line[0] in " \t" and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


# --- docker ------------------------------------------------------------------------------------


def _docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run the docker CLI; a missing CLI, an unreachable daemon or (with `check`) a failure is a SandboxError."""
    if shutil.which("docker") is None:
        raise SandboxError("the docker CLI is not installed (Debian: apt-get install docker.io)")
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, **kwargs)
    if proc.returncode != 0 and "cannot connect to the docker daemon" in proc.stderr.lower():
        raise SandboxError(f"the Docker daemon does not answer: {proc.stderr.strip()}")
    if check and proc.returncode != 0:
        raise SandboxError(f"docker {args[0]} failed (exit {proc.returncode}): {_tail(proc.stderr or proc.stdout)}")
    return proc


def image_exists(image: str) -> bool:
    """True when the local Docker daemon has `image`. Never pulls."""
    proc = _docker("image", "inspect", "--format", "{{.Id}}", image, check=False)
    if proc.returncode == 0:
        return True
    if "no such image" in proc.stderr.lower():
        return False
    raise SandboxError(f"docker could not inspect {image}: {proc.stderr.strip()}")


def image_digest(image: str) -> str:
    """The image ID (`sha256:...`), which pins the exact image a run used, for manifests."""
    return _docker("image", "inspect", "--format", "{{.Id}}", image).stdout.strip()


def _image_size(image: str) -> int:
    return int(_docker("image", "inspect", "--format", "{{.Size}}", image).stdout)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- building ----------------------------------------------------------------------------------


def resolve_method(method: str = "auto") -> str:
    """The build method `auto` stands for here: `$R1CI_SANDBOX_BUILD`, else `debootstrap` when it is
    installed (offline, needs no registry), else `dockerfile`."""
    if method == "auto":
        method = os.environ.get(METHOD_VAR) or ("debootstrap" if _find_debootstrap() else "dockerfile")
    if method not in METHODS:
        raise ValueError(f"unknown sandbox build method {method!r}; choose auto, {', '.join(METHODS)}")
    return method


def build_image(image: str | None = None, method: str = "auto", force: bool = False, log: Log = print) -> str:
    """Build the sandbox image unless it already exists (or `force`), and return its tag.

    The default tag is `settings.sandbox_image()`. Raises `SandboxError` when the build fails.
    """
    image = image or settings.sandbox_image()
    previous = image_digest(image) if image_exists(image) else None
    if previous and not force:
        log(f"sandbox image {image} already exists ({previous[:19]}); --force rebuilds it")
        return image
    method = resolve_method(method)
    log(f"building sandbox image {image} with {method}")
    start = time.monotonic()
    (_build_with_dockerfile if method == "dockerfile" else _build_with_debootstrap)(image, log)
    log(
        f"built {image} in {time.monotonic() - start:.0f} s: {image_digest(image)[:19]}, "
        f"{_image_size(image) / 1e6:.0f} MB"
    )
    if previous and previous != image_digest(image):
        _docker("image", "rm", previous, check=False)  # the old image; kept if a container still uses it
    return image


def _build_with_dockerfile(image: str, log: Log) -> None:
    """`docker build` of the shipped Dockerfile, given on stdin (it needs no build context)."""
    log(f"docker build --tag {image} - < {DOCKERFILE}")
    _docker("build", "--tag", image, "-", input=DOCKERFILE.read_text())


def _build_with_debootstrap(image: str, log: Log) -> None:
    """debootstrap a minbase bookworm with the packages into a temporary directory, strip it, import it."""
    debootstrap = _find_debootstrap()
    if debootstrap is None:
        raise SandboxError("debootstrap is not installed (Debian: apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise SandboxError(
            "the offline build runs debootstrap, which needs root: run it as root "
            '(e.g. sudo -E env PATH="$PATH" r1ci sandbox build) or use --method dockerfile'
        )
    mirror = os.environ.get(MIRROR_VAR) or discover_mirror()
    root = Path(tempfile.mkdtemp(prefix="r1ci-rootfs-"))
    try:
        log(f"debootstrap {SUITE} from {mirror} into {root} (downloads are cached in {_cache_dir()})")
        _debootstrap(debootstrap, root, mirror)
        log(f"replacing {PLACEHOLDER} with a placeholder and purging what only it needed")
        _drop_build_only_packages(root)
        _strip(root)
        log(f"root filesystem: {_du(root) / 1e6:.0f} MB; importing into docker")
        _import(root, image)
    finally:
        _remove_tree(root)


def _find_debootstrap() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN_DIRS])
    return shutil.which("debootstrap", path=path)


def _cache_dir() -> Path:
    """Where debootstrap keeps the .debs it downloaded, so a rebuild fetches only the package indexes."""
    path = Path.home() / ".cache" / "r1ci" / "debootstrap"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _debootstrap(debootstrap: str, root: Path, mirror: str) -> None:
    cmd = [
        debootstrap,
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        f"--cache-dir={_cache_dir()}",
        SUITE,
        str(root),
        mirror,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        log_file = root / "debootstrap" / "debootstrap.log"
        detail = log_file.read_text(errors="replace") if log_file.exists() else proc.stdout + proc.stderr
        raise SandboxError(f"debootstrap failed (exit {proc.returncode}):\n{_tail(detail)}")


def _drop_build_only_packages(root: Path) -> None:
    """Swap the placeholder in for `PLACEHOLDER`, then purge every package that nothing wanted needs any more."""
    package_dir = root / "tmp" / PLACEHOLDER
    (package_dir / "DEBIAN").mkdir(parents=True)
    (package_dir / "DEBIAN" / "control").write_text(PLACEHOLDER_CONTROL)
    _chroot(root, "dpkg-deb", "--build", f"/tmp/{PLACEHOLDER}", f"/tmp/{PLACEHOLDER}.deb")
    _chroot(root, "dpkg", "--install", f"/tmp/{PLACEHOLDER}.deb")
    shutil.rmtree(package_dir)
    (root / "tmp" / f"{PLACEHOLDER}.deb").unlink()
    unneeded = unneeded_packages((root / "var/lib/dpkg/status").read_text(), PACKAGES)
    if unneeded:
        _chroot(root, "dpkg", "--purge", *sorted(unneeded))


def _chroot(root: Path, *cmd: str) -> None:
    proc = subprocess.run(
        ["chroot", str(root), *cmd], capture_output=True, text=True, env=CHROOT_ENV, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise SandboxError(
            f"{' '.join(cmd[:2])} in the new root failed (exit {proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}"
        )


def unneeded_packages(status: str, wanted: Iterable[str]) -> set[str]:
    """Installed packages, per the dpkg `status` text, that are not essential, required or important
    and that no such package nor any of `wanted` depends on (Depends or Pre-Depends, transitively;
    of alternatives, the first one installed counts)."""
    packages = {
        fields["package"]: fields
        for fields in map(_deb822_fields, re.split(r"\n\s*\n", status))
        if fields.get("status", "").endswith(" installed")
    }
    providers = {name: name for name in packages}
    for name, fields in packages.items():
        for provided in _names(fields.get("provides", "")):
            providers.setdefault(provided, name)
    needed = {
        name
        for name, fields in packages.items()
        if fields.get("essential") == "yes" or fields.get("priority") in ("required", "important")
    }
    queue = [*needed, *(name for name in wanted if name in packages)]
    while queue:
        name = queue.pop()
        needed.add(name)
        depends = packages[name].get("depends", "") + "," + packages[name].get("pre-depends", "")
        for clause in filter(str.strip, depends.split(",")):
            chosen = next((providers[n] for n in _names(clause.replace("|", ",")) if n in providers), None)
            if chosen and chosen not in needed:
                queue.append(chosen)
    return set(packages) - needed


def _names(relations: str) -> list[str]:
    """Package names of a comma-separated relation list, without versions or architecture qualifiers."""
    return [re.split(r"[\s(:\[]", item.strip(), maxsplit=1)[0] for item in relations.split(",") if item.strip()]


def _strip(root: Path) -> None:
    """Delete what a sandbox never needs (apt indexes, caches, logs, docs, locales) and the build
    host's identity that debootstrap copied in."""
    for pattern in STRIP_GLOBS:
        for path in list(root.glob(pattern)):
            if path.exists() or path.is_symlink():  # not inside a directory removed just before
                _remove(path)
    for name in ("etc/hostname", "etc/resolv.conf"):
        path = root / name
        if path.is_file() and not path.is_symlink():
            path.write_text("")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _du(root: Path) -> int:
    return int(subprocess.run(["du", "-sxb", str(root)], capture_output=True, text=True, check=True).stdout.split()[0])


def _import(root: Path, image: str) -> None:
    """Stream the root filesystem as a tar into `docker import` (device nodes and mount points left
    empty: docker provides /dev, /proc and /sys at run time)."""
    tar = subprocess.Popen(
        [
            "tar",
            "--numeric-owner",
            "--exclude=./dev/*",
            "--exclude=./proc/*",
            "--exclude=./sys/*",
            "-C",
            str(root),
            "-c",
            ".",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    changes = [f"--change={change}" for change in IMPORT_CHANGES]
    try:
        _docker("import", *changes, "-", image, stdin=tar.stdout)
    finally:
        tar.stdout.close()
        _, tar_err = tar.communicate()
    if tar.returncode != 0:
        raise SandboxError(f"tar of {root} failed (exit {tar.returncode}): {_tail(tar_err.decode(errors='replace'))}")


def _remove_tree(root: Path) -> None:
    """Delete the build directory, first unmounting anything debootstrap left mounted inside it after
    a failure, and never crossing into another file system."""
    prefix = str(root) + "/"
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix)), reverse=True):
        subprocess.run(["umount", "--lazy", mount], capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], capture_output=True)


# --- command line ------------------------------------------------------------------------------


def build_command(args: argparse.Namespace) -> int:
    """`r1ci sandbox build`: build the image if missing; exit status 0 on success, 1 on failure."""
    try:
        image = build_image(args.image, method=args.method, force=args.force)
    except (SandboxError, ValueError) as exc:
        print(f"r1ci sandbox build: {exc}", file=sys.stderr)
        return 1
    print(f"sandbox image ready: {image} ({image_digest(image)})")
    return 0


PROBE = r"""
import json, os, socket, sys
import numpy, sympy, scipy, networkx
print(json.dumps({
    "python": sys.version.split()[0],
    "libraries": {m.__name__: m.__version__ for m in (numpy, sympy, scipy, networkx)},
    "factor": str(sympy.factor("x**2 - 1")),
    "interfaces": sorted(name for _, name in socket.if_nameindex()),
    "root_read_only": bool(os.statvfs("/").f_flag & os.ST_RDONLY),
    "uid": os.getuid(),
}))
"""


def check_command(args: argparse.Namespace) -> int:
    """`r1ci sandbox check`: start a docker sandbox on the image, run a probe program, print a report;
    exit status 0 when every check passes."""
    image = args.image or settings.sandbox_image()
    try:
        if not image_exists(image):
            print(f"r1ci sandbox check: image {image} not found; build it with `r1ci sandbox build`", file=sys.stderr)
            return 1
        print(f"sandbox check: image {image} ({image_digest(image)[:19]})")
        probe, timings = _run_probe(image)
    except ImportError as exc:
        print(
            f"r1ci sandbox check: the docker backend needs the docker SDK (pip install 'r1ci[docker]'): {exc}",
            file=sys.stderr,
        )
        return 1
    except SandboxError as exc:
        print(f"r1ci sandbox check: the sandbox failed: {exc}", file=sys.stderr)
        return 1
    ok = _report(probe, timings)
    print("sandbox check passed" if ok else "sandbox check FAILED")
    return 0 if ok else 1


def _run_probe(image: str) -> tuple[dict, dict[str, float]]:
    """Start the pool, run the probe once and a trivial program a few times; the probe's answer and timings."""
    from . import make_sandbox

    start = time.monotonic()
    sandbox = make_sandbox("docker", image=image)
    try:
        started = time.monotonic()
        result = sandbox.run(PROBE, timeout=60)
        probed = time.monotonic()
        if not result.ok:
            raise SandboxError(
                f"the probe program failed (exit {result.exit_code}, timed out: {result.timed_out}):\n"
                f"{_tail(result.stdout + result.stderr)}"
            )
        runs = []
        for _ in range(5):
            t0 = time.monotonic()
            sandbox.run("print(1)", timeout=10)
            runs.append(time.monotonic() - t0)
    finally:
        sandbox.close()
    timings = {"start": started - start, "probe": probed - started, "run": statistics.median(runs)}
    return json.loads(result.stdout.strip().splitlines()[-1]), timings


def _report(probe: dict, timings: dict[str, float]) -> bool:
    """Print what the probe saw, one line per check; True when all checks pass."""
    libraries = ", ".join(f"{name} {version}" for name, version in probe["libraries"].items())
    print(f"  python {probe['python']}: {libraries}")
    checks = [
        ("sympy works", probe["factor"] == "(x - 1)*(x + 1)", probe["factor"]),
        (
            "network off",
            set(probe["interfaces"]) <= {"lo"},
            "interfaces: " + (", ".join(probe["interfaces"]) or "none"),
        ),
        ("root filesystem read-only", probe["root_read_only"], ""),
        ("user code not root", probe["uid"] != 0, f"uid {probe['uid']}"),
    ]
    for name, passed, detail in checks:
        print(f"  [{'ok' if passed else 'FAIL'}] {name}" + (f" ({detail})" if detail else ""))
    print(
        f"  pool start {timings['start']:.2f} s, probe {timings['probe']:.2f} s, "
        f"then {timings['run'] * 1000:.0f} ms per run (median of 5)"
    )
    return all(passed for _, passed, _ in checks)
