"""Infrastructure faults: a container killed mid-run, a stopped daemon, a missing image, stale and
orphaned containers, and a pool spread over two Docker engines (a second dockerd on its own socket)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from r1ci_env.sandbox import SandboxError, make_sandbox
from r1ci_env.sandbox.docker_pool import LABEL, OWNER_LABEL
from r1ci_env.settings import sandbox_image

pytestmark = pytest.mark.docker

docker = pytest.importorskip("docker")


def owned_containers(client, pid: int | None = None) -> list:
    owner = f"{socket.gethostname()}:{pid or os.getpid()}"
    return client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={owner}"}, ignore_removed=True)


@pytest.fixture
def client(docker_sandbox):  # depends on docker_sandbox so that a missing daemon fails or skips alike
    return docker.from_env()


def kill_soon(client, delay: float, seen: list) -> threading.Thread:
    """Kill the first pool container of this process after `delay` seconds (from another thread)."""

    def kill() -> None:
        time.sleep(delay)
        victim = owned_containers(client)[0]
        seen.append(victim.id)
        victim.kill()

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


def test_container_killed_mid_run_is_retried_on_a_replacement(client, docker_sandbox):
    with make_sandbox("docker", containers=1, slots=1) as sandbox:
        seen: list = []
        thread = kill_soon(client, 1.0, seen)
        result = sandbox.run("import time; time.sleep(2.5); print('finished')", timeout=10)
        thread.join()
        assert result.stdout == "finished\n"  # the transparent retry ran it again on a fresh container
        assert sandbox.run("print(2)").stdout == "2\n"
        assert seen[0] not in [c.id for c in owned_containers(client) if c.status == "running"]


def test_container_killed_mid_run_without_retry_raises_and_the_pool_recovers(client, docker_sandbox):
    with make_sandbox("docker", containers=1, slots=1, retries=0) as sandbox:
        thread = kill_soon(client, 1.0, [])
        with pytest.raises(SandboxError, match="infrastructure, not the program"):
            sandbox.run("import time; time.sleep(3); print('finished')", timeout=10)
        thread.join()
        assert sandbox.run("print('recovered')").stdout == "recovered\n"


def test_missing_image_names_the_build_command(docker_sandbox):
    with pytest.raises(SandboxError, match="r1ci sandbox build"):
        make_sandbox("docker", image="r1ci-no-such-image:never")


def test_unreachable_daemon_is_a_clear_error(tmp_path):
    with pytest.raises(SandboxError, match="cannot reach the Docker daemon"):
        make_sandbox("docker", engines=[f"unix://{tmp_path}/nothing.sock"])


def test_close_removes_every_container(client, docker_sandbox):
    sandbox = make_sandbox("docker", containers=2, slots=1)
    before = {c.id for c in owned_containers(client)}
    ids = {c.container.id for c in sandbox._containers}
    assert ids <= before
    sandbox.close()
    assert not ids & {c.id for c in owned_containers(client)}


def test_stale_containers_of_a_dead_owner_are_swept_at_start(client, docker_sandbox):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = client.containers.create(
        sandbox_image(),
        command=["sleep", "600"],
        network_mode="none",
        labels={LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{dead.pid}"},
    )
    with make_sandbox("docker", containers=1, slots=1):
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(stale.id)


def test_a_container_removed_by_another_process_during_the_sweep_is_skipped(client, docker_sandbox, monkeypatch):
    """Another pool closing while this one starts: a labelled container disappears between the sweep's
    list and its inspection of that container (seen in CI as a 404 that failed the pool's start)."""
    from r1ci_env.sandbox.docker_pool import sweep_stale

    going = client.containers.create(
        sandbox_image(), command=["sleep", "600"], network_mode="none", labels={LABEL: "1", OWNER_LABEL: "elsewhere:1"}
    )
    inspect = client.api.inspect_container

    def removed_first(container_id, *args, **kwargs):
        if container_id == going.id:
            client.api.remove_container(going.id, force=True)
        return inspect(container_id, *args, **kwargs)

    monkeypatch.setattr(client.api, "inspect_container", removed_first)
    assert sweep_stale(client) == 0  # no NotFound; this process's own pool is alive, so nothing is swept
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(going.id)


def test_containers_of_a_killed_host_process_remove_themselves(client, docker_sandbox):
    script = (
        "from r1ci_env.sandbox import make_sandbox\n"
        "s = make_sandbox('docker', containers=1, slots=1)\n"
        "print('ready', flush=True)\n"
        "import time; time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert owned_containers(client, proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 30
    while owned_containers(client, proc.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not owned_containers(client, proc.pid)  # stdin EOF stopped the executor; auto-remove did the rest


def test_a_pool_never_closed_leaves_no_container_at_interpreter_exit(client, docker_sandbox):
    """A pool nobody closes is closed by its finalizer at interpreter exit. The containers it closes
    must not be replaced: at exit a replacement was created but never started, so auto-remove never
    removed it (seen after `r1ci run`). Here the finalizer runs in a live process, so a replacement
    would start and show."""
    before = {c.id for c in owned_containers(client)}  # the session pool's
    pool = make_sandbox("docker", containers=2, slots=1)
    assert pool.run("print(6 * 7)").stdout == "42\n"
    assert len({c.id for c in owned_containers(client)} - before) == 2
    pool._finalizer()  # what interpreter exit runs for a pool that was never closed
    time.sleep(3)  # a replacement container starts within this time
    assert {c.id for c in owned_containers(client)} <= before


# -- a second Docker engine -------------------------------------------------------------------


class Engine:
    """A second dockerd on its own unix socket, data root and exec root; its image is loaded once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"unix://{root}/docker.sock"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / "dockerd.log", "ab")
        self.proc = subprocess.Popen(
            [
                "dockerd",
                "--bridge=none",
                "--iptables=false",
                "-H",
                self.url,
                "--data-root",
                str(self.root / "data"),
                "--exec-root",
                str(self.root / "exec"),
                "--pidfile",
                str(self.root / "docker.pid"),
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                client = docker.DockerClient(base_url=self.url)
                break
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"second dockerd did not start; see {self.root}/dockerd.log")
                time.sleep(0.5)
        wanted = docker.from_env().images.get(sandbox_image()).id
        if wanted not in {image.id for image in client.images.list()}:
            saved = subprocess.Popen(["docker", "save", sandbox_image()], stdout=subprocess.PIPE)
            subprocess.run(["docker", "-H", self.url, "load", "-q"], stdin=saved.stdout, check=True)
            saved.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)


@pytest.fixture(scope="module")
def second_engine(docker_sandbox):
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip("needs root and dockerd to start a second engine")
    engine = Engine(Path("/var/lib/r1ci-test-engine2"))
    engine.start()
    yield engine
    engine.stop()


def test_pool_spreads_over_two_engines(second_engine):
    engines = ["unix:///var/run/docker.sock", second_engine.url]
    with make_sandbox("docker", engines=engines, containers=2, slots=2) as sandbox:
        assert sorted(c.engine for c in sandbox._containers) == sorted(engines)
        results = []
        threads = [
            threading.Thread(target=lambda i=i: results.append(sandbox.run(f"print({i})").stdout)) for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [f"{i}\n" for i in range(8)]
        assert {stat["engine"] for stat in sandbox.ping()} == set(engines)


def test_stopped_daemon_gives_a_sandbox_error(second_engine):
    sandbox = make_sandbox("docker", engines=[second_engine.url], containers=1, slots=1)
    try:
        second_engine.stop()
        with pytest.raises(SandboxError):
            sandbox.run("print(1)", timeout=5)
    finally:
        sandbox.close()
        second_engine.start()
