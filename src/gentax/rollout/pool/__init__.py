"""Env worker pools behind the rollout engine: in-process, local processes, or Ray actors."""

from gentax.rollout.pool.host import EnvSpec
from gentax.rollout.pool.play import play_batched
from gentax.rollout.pool.pool import POOL_KINDS, EnvPool, Outcome, make_pool

__all__ = ["POOL_KINDS", "EnvPool", "EnvSpec", "Outcome", "make_pool", "play_batched"]
