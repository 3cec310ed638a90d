"""GiGPO (arXiv 2505.10978): a step-level relative advantage beside GRPO's episode-level one.

Trajectory-level GRPO gives every step of a trajectory the same advantage. GiGPO adds credit per
step at no extra rollout: the G trajectories of one instance often pass through the same state
(an "anchor state"); the steps taken from one anchor state form a step-level group, in which
each step's discounted return is compared with the others'. The definitions of verl-agent's
gigpo/core_gigpo.py (the paper's equations 3, 5, 7 and 8):

  episode level   A_E(traj) = (R(traj) - mean R) / F       over the instance's G trajectories,
                                                            R = the trajectory's summed reward
  step returns    R_t = r_t + gamma * R_{t+1}               from the last step back
  step level      A_S(t) = (R_t - mean R_t') / F            over the steps t' of the instance's
                                                            trajectories with t's anchor state
  combined        A(t) = A_E(traj) + omega * A_S(t)

F is the unbiased std + 1e-6 (`mean_std_norm`) or 1 (`mean_norm`). A group of one step, or of
equal returns, gives A_S = 0. The anchor state is the observation text as the environment gave
it, before augmentation (Episode.env_observations), so distractors never split a group; steps of
one trajectory that revisit a state join that state's group, as in verl-agent.

Where gentax differs: the episode-level mean and std are over the G trajectories, one value
each (the paper's equation 3 and gentax's GRPO); verl-agent by default takes them over the
batch's step rows, so there a longer trajectory weighs more. So with `mean_std_norm` and
omega = 0, GiGPO here is gentax's GRPO exactly.

Shapes: N episodes; advantages come back per episode, one per step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from gentax.rollout.episodes import Episode
from gentax.train.grpo import group_advantages

NORMS = ("mean_std_norm", "mean_norm")


@dataclass
class StepCredit:
    advantages: list[list[float]]  # per episode, per step: A_E + omega * A_S
    step_advantages: list[list[float]]  # per episode, per step: A_S alone

    @property
    def step_advantage_std(self) -> float:
        """Spread of A_S over every step (steps without a partner count with their 0)."""
        flat = torch.tensor([a for steps in self.step_advantages for a in steps], dtype=torch.float64)
        return float(flat.std(unbiased=False)) if flat.numel() else 0.0


def discounted_returns(rewards: Sequence[float], gamma: float) -> list[float]:
    """R_t = r_t + gamma * R_{t+1} for every step t of one trajectory."""
    out, running = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def anchor_groups(episodes: Sequence[Episode]) -> list[list[int]]:
    """Per episode, per step: the id of its anchor group (same instance, same observation as
    the env gave it)."""
    ids: dict[tuple[int, str], int] = {}
    return [[ids.setdefault((e.seed, obs), len(ids)) for obs in e.env_observations] for e in episodes]


def anchor_stats(groups: list[list[int]]) -> dict[str, float]:
    """What GiGPO has to work with: the share of steps whose anchor group has another step
    (`anchor_grouped_steps`), and the mean size of the anchor groups (`anchor_group_size`)."""
    sizes = Counter(g for steps in groups for g in steps)
    steps = sum(sizes.values())
    return {"anchor_grouped_steps": sum(n for n in sizes.values() if n > 1) / max(steps, 1),
            "anchor_group_size": steps / max(len(sizes), 1)}


def gigpo_advantages(episodes: Sequence[Episode], gamma: float = 0.95, omega: float = 1.0,
                     norm: str = "mean_std_norm", eps: float = 1e-6) -> StepCredit:
    """GiGPO's advantage of every step of `episodes` (groups: episodes with the same seed)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    scale = norm == "mean_std_norm"
    returns = torch.tensor([e.total_reward for e in episodes], dtype=torch.float64)  # [N]
    instances = torch.tensor([e.seed for e in episodes], dtype=torch.long)
    episode_adv = group_advantages(returns, instances, eps, scale=scale)  # [N]

    groups = anchor_groups(episodes)
    step_returns = [r for e in episodes for r in discounted_returns([s.reward for s in e.steps], gamma)]
    flat_groups = torch.tensor([g for steps in groups for g in steps], dtype=torch.long)  # [total steps]
    step_adv = group_advantages(torch.tensor(step_returns, dtype=torch.float64), flat_groups, eps,
                                scale=scale)

    advantages, step_advantages, start = [], [], 0
    for i, e in enumerate(episodes):
        mine = step_adv[start:start + e.length]  # float32, as the episode-level term
        start += e.length
        advantages.append((episode_adv[i] + omega * mine).tolist())
        step_advantages.append(mine.tolist())
    return StepCredit(advantages, step_advantages)
