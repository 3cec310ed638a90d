"""Random or expert play through an env pool: every live episode stepped at once per turn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gentax.agents.policies import RandomPolicy
from gentax.rollout.episodes import Episode, Step
from gentax.rollout.pool.host import EnvSpec
from gentax.rollout.pool.pool import EnvPool


def play_batched(
    pool: EnvPool,
    spec: EnvSpec,
    seeds: Sequence[int],
    policy: str = "expert",
    policy_seed: int = 0,
    on_episode_end: Callable[[Episode], None] | None = None,
) -> list[Episode]:
    """Play one episode per instance seed with the "random" or "expert" policy.

    The random policy of an episode is seeded by (policy_seed, instance seed), so its actions do
    not depend on which worker or in which order the episode runs. The expert is asked in the
    worker that holds the env."""
    if policy not in ("random", "expert"):
        raise ValueError(f"unknown policy {policy!r}; choose random or expert")
    expert = policy == "expert"
    episodes: dict[int, Episode] = {}
    state: dict[int, tuple[str, dict[str, Any], str | None, RandomPolicy | None]] = {}

    def begin(slot: int, seed: int, outcome: Any) -> None:
        episode = Episode(domain=spec.domain, split=spec.split, seed=int(seed),
                          task=outcome.info.get("task", ""), reset_info=outcome.info)
        episodes[slot] = episode
        if outcome.info.get("infra_failure"):
            finish(slot)
            return
        rng = None if expert else RandomPolicy([int(policy_seed), int(seed)])
        state[slot] = (outcome.observation, outcome.info, outcome.expert, rng)

    def finish(slot: int) -> None:
        pool.release([slot])
        state.pop(slot, None)
        if on_episode_end:
            on_episode_end(episodes[slot])

    order = []
    for (slot, outcome), seed in zip(pool.start(spec, seeds, expert=expert), seeds, strict=True):
        order.append(slot)
        begin(slot, seed, outcome)
    try:
        while state:
            actions = {slot: (expert_action if expert else rng(obs, info))
                       for slot, (obs, info, expert_action, rng) in state.items()}
            for slot, outcome in pool.step(actions).items():
                episode = episodes[slot]
                if outcome.restarted:  # its worker was lost: the episode starts over
                    begin(slot, episode.seed, outcome)
                    continue
                obs, info, _, rng = state[slot]
                episode.steps.append(Step(obs, actions[slot], outcome.reward, outcome.info))
                if outcome.terminated or outcome.truncated:
                    episode.won = bool(outcome.info["won"])
                    episode.truncated = bool(outcome.truncated and not outcome.terminated)
                    finish(slot)
                else:
                    state[slot] = (outcome.observation, outcome.info, outcome.expert, rng)
    finally:
        pool.release(list(state))
    return [episodes[slot] for slot in order]
