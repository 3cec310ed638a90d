"""gentax: multi-turn RL for LLM agents on text environments, and the generalization tax."""

import os

# Idle OpenMP threads sleep rather than spin (libgomp's default). On a CPU whose cores also run
# other work, torch's spinning threads take the cores its working threads wait for: a decoding
# step took 5-9x longer on a busy 2-core machine (docs/training.md, "Decoding speed"). OpenMP reads
# this when torch loads, so it applies when gentax is imported first; a value already set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from gentax.envs import DOMAINS, make_env, register_all

__version__ = "0.1.0"
__all__ = ["DOMAINS", "make_env", "register_all", "__version__"]

register_all()
