"""GiGPO's step-level advantages (train/gigpo.py) against values worked out by hand, the anchor
state under augmentation, GiGPO in the trainer (resume equality, its metrics), its config and
the study's `advantage` switch.

The hand example: one instance, G = 3 trajectories, gamma = 0.5.
  t1: states A, B     rewards 0, 1     return 1   step returns 0.5, 1
  t2: states A, C, B  rewards 0, 0, 1  return 1   step returns 0.25, 0.5, 1
  t3: states A, A     rewards 0, 0     return 0   step returns 0, 0     (a move that changed nothing)
Anchor groups: A = {t1 s0, t2 s0, t3 s0, t3 s1} (returns 0.5, 0.25, 0, 0), B = {t1 s1, t2 s2}
(equal returns: no signal), C = {t2 s1} (alone: no signal)."""

import math

import pytest
import torch
from scripted import ScriptedGenerator
from test_train import metrics, tiny, weights

from gentax.agents.models import load_model
from gentax.agents.prompt import PromptConfig
from gentax.augment import AugmentConfig
from gentax.config import ConfigError
from gentax.rollout.batched import run_batched
from gentax.rollout.episodes import Episode, Step
from gentax.rollout.generation import Sampling
from gentax.study.config import StudyConfig
from gentax.study.runner import plan_runs
from gentax.train.checkpoint import list_checkpoints
from gentax.train.config import TrainConfig
from gentax.train.gigpo import anchor_groups, anchor_stats, discounted_returns, gigpo_advantages
from gentax.train.grpo import group_advantages
from gentax.train.trainer import train


def episode(seed: int, states: list[str], rewards: list[float]) -> Episode:
    steps = [Step(observation=s, action="move", reward=r, info={})
             for s, r in zip(states, rewards, strict=True)]
    return Episode(domain="sokoban", split="train", seed=seed, task="t", steps=steps)


def hand_example() -> list[Episode]:
    return [episode(7, ["A", "B"], [0, 1]), episode(7, ["A", "C", "B"], [0, 0, 1]),
            episode(7, ["A", "A"], [0, 0])]


def grpo(episodes: list[Episode]) -> list[list[float]]:
    """gentax's GRPO advantage, given to every step of each trajectory."""
    adv = group_advantages(torch.tensor([e.total_reward for e in episodes]),
                           torch.tensor([e.seed for e in episodes])).tolist()
    return [[a] * e.length for a, e in zip(adv, episodes, strict=True)]


def test_discounted_returns_run_from_the_last_step_back():
    assert discounted_returns([1.0, 0.0, 2.0], 0.5) == [1.5, 1.0, 2.0]  # 1 + 0.5 * (0 + 0.5 * 2)
    assert discounted_returns([1.0, 0.0, 2.0], 1.0) == [3.0, 2.0, 2.0]
    assert discounted_returns([1.0, 0.0, 2.0], 0.0) == [1.0, 0.0, 2.0]
    assert discounted_returns([], 0.95) == []


def test_repeated_states_form_step_groups_by_hand():
    credit = gigpo_advantages(hand_example(), gamma=0.5, omega=1.0, norm="mean_std_norm")
    # episode level: returns 1, 1, 0; mean 2/3, unbiased std sqrt(1/3)
    e_win, e_lose = (1 / 3) / (math.sqrt(1 / 3) + 1e-6), (-2 / 3) / (math.sqrt(1 / 3) + 1e-6)
    # step group A: 0.5, 0.25, 0, 0; mean 0.1875, unbiased std sqrt(0.171875 / 3)
    std_a = math.sqrt(0.171875 / 3) + 1e-6
    s1, s2, s3 = 0.3125 / std_a, 0.0625 / std_a, -0.1875 / std_a
    expected_step = [[s1, 0.0], [s2, 0.0, 0.0], [s3, s3]]
    for got, want in zip(credit.step_advantages, expected_step, strict=True):
        assert got == pytest.approx(want, abs=1e-5)
    expected = [[e_win + s1, e_win], [e_win + s2, e_win, e_win], [e_lose + s3, e_lose + s3]]
    for got, want in zip(credit.advantages, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-5)
    # 6 of the 7 steps share their state with another step; groups of 4, 2 and 1
    assert anchor_stats(anchor_groups(hand_example())) == pytest.approx(
        {"anchor_grouped_steps": 6 / 7, "anchor_group_size": 7 / 3})
    assert credit.step_advantage_std == pytest.approx(
        float(torch.tensor([s1, 0, s2, 0, 0, s3, s3], dtype=torch.float64).std(unbiased=False)), rel=1e-5)


def test_mean_norm_only_subtracts_the_group_means():
    credit = gigpo_advantages(hand_example(), gamma=0.5, omega=0.5, norm="mean_norm")
    expected = [[1 / 3 + 0.5 * 0.3125, 1 / 3], [1 / 3 + 0.5 * 0.0625, 1 / 3, 1 / 3],
                [-2 / 3 - 0.5 * 0.1875, -2 / 3 - 0.5 * 0.1875]]
    for got, want in zip(credit.advantages, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-6)


def test_omega_zero_is_grpo_exactly():
    episodes = hand_example()
    credit = gigpo_advantages(episodes, gamma=0.5, omega=0.0, norm="mean_std_norm")
    assert any(a != 0 for steps in credit.step_advantages for a in steps)  # a step-level term to drop
    assert credit.advantages == grpo(episodes)


def test_without_shared_states_gigpo_is_grpo():
    # two instances, every observation its own (the same text in another instance is another state)
    episodes = [episode(1, ["A", "B"], [0, 1]), episode(1, ["C"], [0]), episode(1, ["D", "E"], [0, 1]),
                episode(2, ["A"], [1]), episode(2, ["G", "H"], [0, 0])]
    assert anchor_stats(anchor_groups(episodes))["anchor_grouped_steps"] == 0.0
    credit = gigpo_advantages(episodes, gamma=0.95, omega=1.0)
    assert all(a == 0.0 for steps in credit.step_advantages for a in steps)
    assert credit.advantages == grpo(episodes)


def test_discounting_credits_the_shorter_way_from_a_shared_state():
    # both trajectories win from state A; t1 in one more move, t2 in three
    episodes = [episode(3, ["A", "B"], [0, 1]), episode(3, ["A", "C", "D", "E"], [0, 0, 0, 1])]
    discounted = gigpo_advantages(episodes, gamma=0.9, omega=1.0, norm="mean_norm").step_advantages
    # from A: 0.9 against 0.9^3 = 0.729, mean 0.8145
    assert discounted[0][0] == pytest.approx(0.9 - 0.8145)
    assert discounted[1][0] == pytest.approx(0.729 - 0.8145)
    undiscounted = gigpo_advantages(episodes, gamma=1.0, omega=1.0, norm="mean_norm").step_advantages
    assert undiscounted[0][0] == undiscounted[1][0] == 0.0  # gamma = 1: both ways are worth the same


def test_augmentation_does_not_split_anchor_groups(tiny_model):
    """The same scripted answers on the same Sokoban instances, with and without distractors:
    the anchor groups are the same, although the augmented texts of one state differ."""
    loaded = load_model(tiny_model, dtype="float32")

    def play(augment):
        return run_batched(
            "sokoban", [11, 12], ScriptedGenerator(loaded, p_expert=0.5, seed=4), group_size=4, split="train",
            max_steps=4, prompt=PromptConfig(history=0, think=False), augment=augment,
            sampling=Sampling(max_new_tokens=8, temperature=1.0, seed=5),
            env_kwargs={"rows": 5, "cols": 5, "max_solution_steps": 2})

    plain, augmented = play(None), play(AugmentConfig(30, 1.0, "domain", seed=9))
    assert [e.env_observations for e in augmented] == [[s.observation for s in e.steps] for e in plain]
    assert anchor_groups(augmented) == anchor_groups(plain)
    stats = anchor_stats(anchor_groups(plain))
    assert 0 < stats["anchor_grouped_steps"] < 1 and stats["anchor_group_size"] > 1
    # grouping by the text the agent read would have split some of these groups
    shown: dict[tuple[int, str], int] = {}
    by_text = [[shown.setdefault((e.seed, s.observation), len(shown)) for s in e.steps] for e in augmented]
    assert len(shown) > len({g for steps in anchor_groups(augmented) for g in steps})
    assert by_text != anchor_groups(augmented)
    credit = gigpo_advantages(augmented, omega=1.0)
    assert credit.advantages == gigpo_advantages(plain, omega=1.0).advantages


def test_killed_and_resumed_gigpo_run_matches_the_uninterrupted_one(tmp_path, tiny_model, scripted):
    def cfg(name, **changes):
        return tiny(tmp_path / name, tiny_model, max_env_steps={"sokoban": 3}, advantage="gigpo", **changes)

    whole = train(cfg("whole"))
    train(cfg("killed"), stop_after=1)
    resumed = train(cfg("killed"), resume=True)
    rows = metrics(whole)
    assert [r["step"] for r in metrics(resumed)] == [1, 2] and metrics(resumed) == rows
    a, b = weights(whole), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # GiGPO had something to work with, and its step-level term changed the update
    for row in rows:
        assert 0 < row["anchor_grouped_steps"] <= 1 and row["anchor_group_size"] > 1, row
        assert row["step_advantage_std"] > 0 and row["grad_norm"] > 0, row
    # GRPO from the same start: the same rollouts at step 1, another update
    grpo_run = train(tiny(tmp_path / "grpo", tiny_model, max_env_steps={"sokoban": 3}), stop_after=1)
    (grpo_row,) = metrics(grpo_run)
    assert "step_advantage_std" not in grpo_row and "anchor_grouped_steps" in grpo_row
    outcomes = ("success", "mean_return", "samples", "anchor_grouped_steps", "anchor_group_size")
    assert [rows[0][k] for k in outcomes] == [grpo_row[k] for k in outcomes]
    assert [p.name for p in list_checkpoints(whole)] == ["step-000001", "step-000002"]
    first, grpo_first = weights(whole, 0), weights(grpo_run, 0)
    assert any(not torch.equal(first[k], grpo_first[k]) for k in first)


@pytest.mark.parametrize("override, message", [
    ("advantage=ppo", "advantage: must be one of grpo, gigpo, got 'ppo'"),
    ("gigpo_gamma=1.5", "gigpo_gamma: must be <= 1.0, got 1.5"),
    ("gigpo_gamma=.nan", "gigpo_gamma: must be a finite number, got nan"),
    ("gigpo_omega=-1", "gigpo_omega: must be >= 0.0, got -1"),
    ("gigpo_omega=.inf", "gigpo_omega: must be a finite number, got inf"),
    ("gigpo_norm=std", "gigpo_norm: must be one of mean_std_norm, mean_norm, got 'std'"),
])
def test_bad_gigpo_settings_are_one_clear_line(override, message):
    with pytest.raises(ConfigError) as e:
        TrainConfig.load(None, [override])
    assert str(e.value) == message


def test_defaults_are_grpo_and_verl_agents_gamma_and_omega():
    cfg = TrainConfig()
    assert (cfg.advantage, cfg.gigpo_gamma, cfg.gigpo_omega, cfg.gigpo_norm) == (
        "grpo", 0.95, 1.0, "mean_std_norm")


def test_advantage_is_a_study_variant_switch():
    cfg = StudyConfig.from_dict({"eval_domains": ["sokoban"], "variants": [
        {}, {"advantage": "gigpo", "train": {"gigpo_omega": 0.5}}, {"augment": True, "advantage": "gigpo"}]})
    # variants that differ only in their advantage are two settings; GRPO names are as before
    assert [v.name for v in cfg.variants] == ["think", "gigpo-think", "aug-gigpo-think"]
    assert [r.id for r in plan_runs(cfg)] == ["sokoban-think-seed0", "sokoban-gigpo-think-seed0",
                                              "sokoban-aug-gigpo-think-seed0"]
    runs = [cfg.run_config("sokoban", v, 0, cfg.model, "x") for v in cfg.variants]
    assert [(r.advantage, r.gigpo_omega) for r in runs] == [("grpo", 1.0), ("gigpo", 0.5), ("gigpo", 1.0)]
