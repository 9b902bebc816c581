"""Moved: `r1ci sandbox bench` is `agents.sandbox_bench` (a benchmark is an application, not the sandbox)."""

raise ImportError("r1ci_env.sandbox.bench moved to agents.sandbox_bench (or run `r1ci sandbox bench`)")
