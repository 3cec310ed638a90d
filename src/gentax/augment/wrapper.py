"""The augmentation wrapper: s' = Augment(s, delta, eps), applied to a trajectory with prob. p.

Only the observation the agent reads changes. Transitions, rewards, termination, success and
the admissible actions are those of the wrapped environment, untouched (docs/paper.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import gymnasium
import numpy as np

from gentax.augment.injectors import cross_domain
from gentax.envs import get_domain, load_object

Kind = Literal["domain", "cross"]


@dataclass(frozen=True)
class AugmentConfig:
    """eps: volume of injected text (its per-domain meaning is in injectors.py);
    prob: chance that a trajectory is augmented; kind: distractors of the domain itself, or a
    description of another domain's state; seed: makes the injections reproducible."""

    eps: float
    prob: float = 1.0
    kind: Kind = "domain"
    seed: int = 0

    def __post_init__(self):
        if self.eps < 0:
            raise ValueError(f"augment eps must be >= 0, got {self.eps}")
        if not 0.0 <= self.prob <= 1.0:
            raise ValueError(f"augment prob must be in [0, 1], got {self.prob}")
        if self.kind not in ("domain", "cross"):
            raise ValueError(f"augment kind must be 'domain' or 'cross', got {self.kind!r}")


def with_augment(env: gymnasium.Env, config: AugmentConfig | None) -> gymnasium.Env:
    """`env` with distractors when `config` is given, else `env` itself."""
    return env if config is None else AugmentWrapper(env, config)


class AugmentWrapper(gymnasium.Wrapper):
    """Injects distractors into every observation of an augmented trajectory.

    `info["augment"]` says whether this trajectory is augmented and how many characters were
    injected into this observation, and, when it is, holds the observation as the env gave it
    (`observation`: GiGPO groups steps by the state, not by the distractors drawn for it)."""

    def __init__(self, env: gymnasium.Env, config: AugmentConfig):
        super().__init__(env)
        self.config = config
        spec = get_domain(env.unwrapped.domain)
        if config.kind == "cross":
            self.inject = cross_domain(spec.name)
        elif spec.distractors is None:
            raise ValueError(f"domain {spec.name!r} has no distractor injector (its DomainSpec.distractors)")
        else:
            self.inject = load_object(spec.distractors)
        self.active = False
        self.rng = np.random.default_rng()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        # One stream per (augmentation seed, instance): the same instance gets the same text.
        self.rng = np.random.default_rng([self.config.seed, int(self.env.unwrapped.instance_seed)])
        self.active = self.config.eps > 0 and self.rng.random() < self.config.prob
        return self._augment(obs, info)

    def step(self, action: str):
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs, info = self._augment(obs, info)
        return obs, reward, terminated, truncated, info

    def _augment(self, obs: str, info: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if not self.active:
            return obs, {**info, "augment": {"active": False, "chars": 0}}
        new = self.inject(obs, self.env.unwrapped, self.rng, self.config.eps)
        return new, {**info, "augment": {"active": True, "chars": len(new) - len(obs), "observation": obs}}
