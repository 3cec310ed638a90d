"""Non-learning policies: uniform random over admissible actions, and each domain's expert.

A policy is any callable `(observation, info) -> action text`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

Policy = Callable[[str, dict[str, Any]], str]


class RandomPolicy:
    """Picks uniformly among the admissible actions (the base policy of PAPER.md's profiling)."""

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(seed)

    def __call__(self, observation: str, info: dict[str, Any]) -> str:
        actions = info.get("admissible_actions") or []
        if not actions:
            return ""  # nothing admissible: an empty answer is an (honest) invalid action
        return str(actions[int(self.rng.integers(len(actions)))])


class ExpertPolicy:
    """Asks the domain's expert (solver, planner or gold path) for the next action."""

    def __init__(self, env: gymnasium.Env):
        self.env = env.unwrapped

    def __call__(self, observation: str, info: dict[str, Any]) -> str:
        action = self.env.expert_action()
        return "" if action is None else action


def make_policy(name: str, env: gymnasium.Env, seed: int | None = None) -> Policy:
    if name == "random":
        return RandomPolicy(seed)
    if name == "expert":
        return ExpertPolicy(env)
    raise ValueError(f"unknown policy {name!r}; choose random or expert")
