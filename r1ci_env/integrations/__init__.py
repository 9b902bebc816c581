"""r1ci inside the engines researchers scale with: OpenEnv (`openenv`), verl (`verl`, `verl_data`) and
TRL (`trl`). Each module imports its engine at the top, so import only the one you use; none of them
imports r1ci's application layer (`agents`) or torch-pinned training code.

`episode` holds what they share: how an engine-side request names an episode (task, seed, knobs) and
the env settings that stay fixed per server or trainer."""
