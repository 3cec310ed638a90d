"""ScienceWorld on the real engine: the JVM manager (`engine`) and the TextEnv (`env`)."""

from gentax.envs.sciworld.engine import Engine, EngineFailure
from gentax.envs.sciworld.env import TASK_TYPES, SciWorldEnv, bounded_actions, engine_splits, pick_reading

__all__ = ["TASK_TYPES", "Engine", "EngineFailure", "SciWorldEnv", "bounded_actions", "engine_splits",
           "pick_reading"]
