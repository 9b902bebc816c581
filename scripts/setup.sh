#!/usr/bin/env bash
# Set up a machine for r1ci, idempotently (the README's first command; CI runs it too):
#   1. docker.io and debootstrap, installed with apt only when missing;
#   2. a Docker daemon, started as `dockerd --bridge=none --iptables=false` only when none answers;
#   3. torch 2.13.0, installed before anything else so that pip never pulls a CUDA build;
#   4. this package, editable, with all extras (skipped when nothing it needs has changed);
#   5. the sandbox image, built when missing (offline with debootstrap when that is installed).
# Usage: bash scripts/setup.sh    Environment: PYTHON (default python3), R1CI_SANDBOX_IMAGE,
# R1CI_SANDBOX_BUILD (dockerfile|debootstrap). Runs as root, or through sudo for the steps that need it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PYTHON:-python3}"
TORCH_VERSION=2.13.0
DOCKERD_WAIT_S=60
DOCKERD_LOG=/var/log/r1ci-dockerd.log
INSTALL_STAMP=.cache/setup-install.stamp

say() { echo "[setup] $*"; }
die() { echo "[setup] error: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

# Run one step with a heading and its duration.
step() {
    local name="$1" start
    shift
    say "$name ..."
    start=$(now_ms)
    "$@"
    local ms=$(( $(now_ms) - start ))
    say "$name: done in $((ms / 1000)).$((ms % 1000 / 100)) s"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "this step needs root and sudo is not installed: $*"
    fi
}

# 1. ------------------------------------------------------------------------------------------
install_system_packages() {
    local missing=()
    # The engine, not the client: some machine images ship a `docker` client binary without dockerd.
    PATH="$PATH:/usr/sbin:/sbin" command -v dockerd >/dev/null || missing+=(docker.io)
    PATH="$PATH:/usr/sbin:/sbin" command -v debootstrap >/dev/null || missing+=(debootstrap debian-archive-keyring)
    if [ ${#missing[@]} -eq 0 ]; then
        say "docker and debootstrap are installed"
        return
    fi
    say "installing ${missing[*]}"
    # Keep the package scripts from starting a daemon with a bridge network; step 2 starts ours.
    local guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 755 /usr/sbin/policy-rc.d
        guard=1
    fi
    local rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || rc=$?
    if [ -n "$guard" ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
    [ "$rc" -eq 0 ] || die "apt-get could not install ${missing[*]} (exit $rc)"
}

# 2. ------------------------------------------------------------------------------------------
start_docker() {
    if docker info >/dev/null 2>&1; then
        say "the Docker daemon answers"
        return
    fi
    if [ "$(id -u)" -ne 0 ] && sudo -n docker info >/dev/null 2>&1; then
        die "the Docker daemon runs but $(id -un) may not use it: sudo usermod -aG docker $(id -un), then log in again"
    fi
    say "starting dockerd --bridge=none --iptables=false (log: $DOCKERD_LOG)"
    # shellcheck disable=SC2016  # $1 is expanded by the inner shell
    as_root sh -c 'setsid dockerd --bridge=none --iptables=false </dev/null >>"$1" 2>&1 &' sh "$DOCKERD_LOG"
    local waited=0
    until docker info >/dev/null 2>&1; do
        if [ "$waited" -ge "$DOCKERD_WAIT_S" ]; then
            as_root tail -n 20 "$DOCKERD_LOG" >&2 || true
            die "the Docker daemon did not answer within ${DOCKERD_WAIT_S} s (log above, full log: $DOCKERD_LOG)"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

# 3. ------------------------------------------------------------------------------------------
install_torch() {
    local version
    version=$("$PY" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)
    if [ "${version%%+*}" = "$TORCH_VERSION" ]; then
        say "torch $version is installed"
        return
    fi
    "$PY" -m pip install --progress-bar off "torch==$TORCH_VERSION"
}

# 4. ------------------------------------------------------------------------------------------
# Exit status 0 when r1ci is installed editable from this checkout and every requirement of
# r1ci[all] is met; a stamp of the package metadata covers changes to the requirements themselves.
installed_and_current() {
    [ -f "$INSTALL_STAMP" ] && [ "$(cat "$INSTALL_STAMP")" = "$(metadata_hash)" ] || return 1
    "$PY" - <<'EOF'
import importlib.metadata as md, json, pathlib, sys
from packaging.requirements import Requirement

# The installed metadata, not the r1ci.egg-info that setuptools leaves in the checkout.
installed = [d for d in md.distributions(name="r1ci") if d.read_text("direct_url.json")]
if not installed:
    sys.exit(1)
dist = installed[0]
origin = json.loads(dist.read_text("direct_url.json"))
if origin.get("url") != pathlib.Path.cwd().as_uri() or not origin.get("dir_info", {}).get("editable"):
    sys.exit(1)
for line in dist.requires or []:
    req = Requirement(line)
    if req.marker and not req.marker.evaluate({"extra": "all"}):
        continue
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        sys.exit(1)
    if not req.specifier.contains(version, prereleases=True):
        sys.exit(1)
EOF
}

metadata_hash() { cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1; }

install_package() {
    if installed_and_current; then
        say "r1ci is installed from this checkout and its requirements are met"
        return
    fi
    "$PY" -m pip install -q --progress-bar off -e ".[all]"
    if command -v pyenv >/dev/null; then pyenv rehash; fi  # makes the new `r1ci` command visible
    mkdir -p "$(dirname "$INSTALL_STAMP")"
    metadata_hash >"$INSTALL_STAMP"
}

# 5. ------------------------------------------------------------------------------------------
build_sandbox_image() {
    local python
    python=$("$PY" -c 'import sys; print(sys.executable)')
    if [ "$(id -u)" -eq 0 ]; then
        "$python" -m agents.cli sandbox build
    else  # the offline build runs debootstrap, which needs root
        as_root env "PATH=$PATH" ${R1CI_SANDBOX_IMAGE:+"R1CI_SANDBOX_IMAGE=$R1CI_SANDBOX_IMAGE"} \
            ${R1CI_SANDBOX_BUILD:+"R1CI_SANDBOX_BUILD=$R1CI_SANDBOX_BUILD"} "$python" -m agents.cli sandbox build
    fi
}

total_start=$(now_ms)
step "system packages" install_system_packages
step "docker daemon" start_docker
step "torch $TORCH_VERSION" install_torch
step "r1ci package" install_package
step "sandbox image" build_sandbox_image
total_ms=$(( $(now_ms) - total_start ))
say "machine ready in $((total_ms / 1000)).$((total_ms % 1000 / 100)) s"
