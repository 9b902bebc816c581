"""The `r1ci` command line: `list` (the task catalogue), `run` (play episodes with an agent), `bench`
(benchmark an agent on a suite), `sandbox build|check|bench|serve`,
`model prepare` (a small real model).

It lives in the application layer (`agents`): it may import everything, and nothing in `r1ci_env`
imports it."""
from __future__ import annotations

import argparse
import sys

from r1ci_env.sandbox.bench import add_arguments as add_bench_arguments


def _add_sandbox_commands(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="build, check or benchmark the Docker sandbox")
    ssub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    build = ssub.add_parser("build", help="build the sandbox image (Dockerfile, or offline with debootstrap)")
    build.add_argument("--image", default=None, help="image tag (default: $R1CI_SANDBOX_IMAGE or r1ci-sandbox:latest)")
    build.add_argument("--method", choices=("auto", "dockerfile", "debootstrap"), default="auto",
                       help="auto: $R1CI_SANDBOX_BUILD if set, else debootstrap (offline) when installed, else the Dockerfile")
    build.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    check = ssub.add_parser("check", help="start the pool, run a probe program, report")
    check.add_argument("--image", default=None, help="image tag to check")
    bench = ssub.add_parser("bench", help="measure the pool's latency, throughput and cold start against "
                            "docker run / docker exec, and the env's overhead per step")
    add_bench_arguments(bench)
    _add_serve_command(ssub)


def _add_serve_command(ssub: argparse._SubParsersAction) -> None:
    from r1ci_env.sandbox.server import add_arguments as add_serve_arguments

    serve = ssub.add_parser("serve", help="serve the sandbox pool over HTTP to remote workers (sandbox='remote'; "
                            "SandboxFusion-compatible POST /run_code)")
    add_serve_arguments(serve)


def _add_run_command(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="play episodes of one task with an agent and print each transcript")
    run.add_argument("--task", required=True, help="task name, e.g. BlocksWorld (see `r1ci list`)")
    run.add_argument("--agent", default="oracle",
                     help="agent spec: oracle, null, human, hf:<model path>, openai:<model>, vllm:<model path>")
    run.add_argument("--n", type=int, default=5, help="number of episodes")
    run.add_argument("--seed", type=int, default=0, help="seed of the first episode; episode i uses seed+i")
    run.add_argument("--quiet", action="store_true", help="print only the reward line of each episode")
    from .bench import add_episode_arguments

    add_episode_arguments(run)


def _add_bench_command(sub: argparse._SubParsersAction) -> None:
    from .bench import add_arguments as add_agent_bench_arguments

    bench = sub.add_parser("bench", help="benchmark an agent on a suite: N episodes per task, concurrently; "
                           "transcripts, summary beside published references, plot, manifest; resumable")
    add_agent_bench_arguments(bench)


def _add_list_command(sub: argparse._SubParsersAction) -> None:
    listing = sub.add_parser("list", help="list the tasks: gym id, name, source, category, split, checker, "
                             "question count")
    listing.add_argument("--suite", default=None,
                         help="only this suite: paper, train, test, symbench, bbh, reasoning_gym, execution, "
                              "planning, reasoning or extra (default: every registered task)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="r1ci", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_list_command(sub)
    _add_run_command(sub)
    _add_bench_command(sub)
    _add_sandbox_commands(sub)
    from .models import add_model_command

    add_model_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        from r1ci_env.catalog import list_command

        return list_command(args)
    if args.command == "run":
        from .runner import run_command

        return run_command(args)
    if args.command == "bench":
        from .bench import bench_command

        return bench_command(args)
    if args.command == "sandbox":
        from r1ci_env.sandbox import image

        if args.sandbox_command == "build":
            return image.build_command(args)
        if args.sandbox_command == "serve":
            from r1ci_env.sandbox.server import serve_command

            return serve_command(args)
        if args.sandbox_command == "bench":
            from r1ci_env.sandbox.bench import bench_command

            return bench_command(args)
        return image.check_command(args)
    if args.command == "model":
        from .models import model_command

        return model_command(args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
