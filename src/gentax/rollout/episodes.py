"""Run a policy for whole episodes and record every step."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium

from gentax.agents.policies import Policy


@dataclass
class Step:
    observation: str  # what the agent read before acting
    action: str
    reward: float
    info: dict[str, Any]  # the env's info after the action
    # Filled by LLM policies only (None otherwise, and then left out of the JSONL):
    prompt: str | None = None  # the model's whole input (chat-templated text)
    response: str | None = None  # the model's raw answer
    thought: str | None = None  # what it wrote inside <think>
    well_formed: bool | None = None  # the answer followed the requested format
    token_ids: list[int] | None = None  # response tokens (re-tokenise `prompt` for its tokens)
    logprobs: list[float] | None = None  # log-prob of each response token when it was sampled
    prompt_cut: dict[str, int] | None = None  # how the prompt was cut to fit its token budget


@dataclass
class Episode:
    domain: str
    split: str
    seed: int
    task: str
    reset_info: dict[str, Any] = field(default_factory=dict)  # what the agent saw at the start
    steps: list[Step] = field(default_factory=list)
    won: bool = False
    truncated: bool = False
    sample: int = 0  # index of this rollout within its group (rollouts of the same instance)

    @property
    def length(self) -> int:
        return len(self.steps)

    @property
    def total_reward(self) -> float:
        return sum(s.reward for s in self.steps)

    @property
    def env_observations(self) -> list[str]:
        """What each step's agent read, as the env gave it: before augmentation, the text
        AugmentWrapper keeps in the info that came with the observation, else `Step.observation`.
        (Step k's observation came with the reset's info for k = 0, else with step k-1's.)"""
        infos = [self.reset_info] + [s.info for s in self.steps[:-1]]
        return [info.get("augment", {}).get("observation", step.observation)
                for info, step in zip(infos, self.steps, strict=True)]

    @property
    def observation_chars(self) -> list[int]:
        return [len(s.observation) for s in self.steps]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["steps"] = [{k: v for k, v in step.items() if v is not None} for step in out["steps"]]
        out.update(length=self.length, total_reward=self.total_reward)
        return out


def run_episode(env: gymnasium.Env, policy: Policy, seed: int) -> Episode:
    """Play one episode of instance `seed` until it ends or hits the step cap."""
    obs, info = env.reset(seed=seed)
    unwrapped = env.unwrapped
    episode = Episode(
        domain=unwrapped.domain, split=unwrapped.split, seed=seed, task=info["task"], reset_info=info
    )
    while True:
        action = policy(obs, info)
        next_obs, reward, terminated, truncated, info = env.step(action)
        episode.steps.append(Step(obs, action, float(reward), info))
        obs = next_obs
        if terminated or truncated:
            episode.won = bool(info["won"])
            episode.truncated = bool(truncated and not terminated)
            return episode


def episode_metrics(episodes: list[Episode]) -> dict[str, float]:
    """The one summary of played episodes (CLI, eval, study and trainer): success (pass@1), mean
    return, mean length, invalid-action rate, format-error rate (LLM answers that did not parse; 0
    for scripted policies), mean observation characters and the share of LLM prompts cut to fit
    their token budget, the last four per step."""
    n = max(len(episodes), 1)
    steps = [s for e in episodes for s in e.steps]
    m = max(len(steps), 1)
    return {
        "episodes": len(episodes),
        "success": sum(e.won for e in episodes) / n,
        "mean_return": sum(e.total_reward for e in episodes) / n,
        "mean_length": sum(e.length for e in episodes) / n,
        "invalid_action_rate": sum(bool(s.info["invalid"]) for s in steps) / m,
        "format_error_rate": sum(s.well_formed is False for s in steps) / m,
        "mean_observation_chars": sum(len(s.observation) for s in steps) / m,
        "truncated_prompt_rate": sum(s.prompt_cut is not None for s in steps) / m,
    }


def write_jsonl(episodes: Iterable[Episode], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for e in episodes:
            f.write(json.dumps(e.to_json()) + "\n")
