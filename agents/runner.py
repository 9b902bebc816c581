"""`r1ci run`: play a few episodes of one task with any agent spec and print each transcript and reward."""

from __future__ import annotations

import argparse

from . import fresh_agent, make_agent
from .episode import play_with_retries


def run_command(args: argparse.Namespace) -> int:
    """Play `args.n` episodes from `args.seed` with `args.agent`; print transcripts and the mean reward.
    Bad input raises `BenchError`/`ValueError` (one line, from the CLI); an infrastructure failure (the
    sandbox or the agent's backend) ends the command with status 2 after a one-line message."""
    import gymnasium as gym

    import r1ci_env  # noqa: F401 - registers the environments
    from r1ci_env.sandbox import DEFAULT_TIMEOUT, SandboxError
    from r1ci_env.tasks.registry import env_id

    from .bench import (
        agent_options_from_args,
        check_no_seed_option,
        check_positive,
        default_max_code_calls,
        import_modules,
        parse_key_values,
        resolve_tasks,
        sample_seed,
    )
    from .errors import AgentError

    check_positive("--n", args.n)
    import_modules(args.import_module)
    (task,), _ = resolve_tasks(tasks=[args.task])
    options = agent_options_from_args(args)
    check_no_seed_option(options)
    agent = make_agent(args.agent, **options)
    max_code_calls = default_max_code_calls(args.prompt_style) if args.max_code_calls is None else args.max_code_calls
    check_positive("--max-code-calls", max_code_calls, 0)
    settings = {
        "sandbox": args.sandbox,
        "max_code_calls": max_code_calls,
        "prompt": args.prompt_style,
        "timeout": DEFAULT_TIMEOUT if args.code_timeout is None else args.code_timeout,
        **parse_key_values(args.env_option, "--env-option"),
    }
    gym.make(env_id(task), disable_env_checker=True, **settings).close()  # bad knobs fail here, before any episode
    rewards = []
    for i in range(args.n):
        seed = args.seed + i
        agent.seed = sample_seed(args.sampling_seed, task, seed, 0)  # as `r1ci bench` seeds sample 0
        try:
            episode, _ = play_with_retries(
                lambda: gym.make(env_id(task), disable_env_checker=True, **settings),
                lambda: fresh_agent(agent),
                seed,
                retries=0,
            )
        except (SandboxError, AgentError) as exc:
            print(f"r1ci run: episode seed={seed}: infrastructure failure (not scored): {exc}")
            return 2
        rewards.append(episode.reward)
        if not args.quiet:
            print(f"===== {episode.task} seed={seed} instance={episode.instance_id} =====")
            print(episode.transcript)
        print(
            f"[{episode.task} seed={seed}] reward={episode.reward:.1f} code_calls={episode.code_calls} "
            f"answer={episode.answer!r} gold={episode.gold!r}"
        )
    print(f"mean reward over {len(rewards)} episodes: {sum(rewards) / max(len(rewards), 1):.3f}")
    return 0
