"""gentax: multi-turn RL for LLM agents on text environments, and the generalization tax."""

from gentax.envs import DOMAINS, make_env, register_all

__version__ = "0.1.0"
__all__ = ["DOMAINS", "make_env", "register_all", "__version__"]

register_all()
