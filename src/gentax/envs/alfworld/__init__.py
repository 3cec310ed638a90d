"""ALFWorld on the real engine, with games generated offline from the wheel's floor plans.

Modules: `scenes` (floor plans -> receptacles and object placements), `generator` (tasks, PDDL
problems, cached game files), `expert` (ALFWorld's hand-coded expert, patched), `env` (the
`gentax/ALFWorld-v0` environment). The `alfworld` and `textworld` packages are imported lazily.
"""

from gentax.envs.alfworld.env import ALFWorldEnv
from gentax.envs.alfworld.scenes import TASK_TYPES

__all__ = ["ALFWorldEnv", "TASK_TYPES"]
