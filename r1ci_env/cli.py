"""Moved: the `r1ci` command line is `agents.cli` (the core package imports no application)."""

raise ImportError("r1ci_env.cli moved to agents.cli: use `python -m agents.cli` or the `r1ci` command")
