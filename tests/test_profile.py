"""Profiles: the numbers match trajectories the test plays itself."""

import json
import subprocess
import sys

import gymnasium
import pytest

import gentax  # noqa: F401
from gentax.agents.policies import RandomPolicy
from gentax.profile import profile_domain


def test_profile_matches_independently_played_trajectories():
    prof, _ = profile_domain("sokoban", policy="random", episodes=30, max_steps=20, seed=5)
    env = gymnasium.make("gentax/Sokoban-v0", split="eval", max_episode_steps=20)
    policy = RandomPolicy(5)
    chars, offered, lengths, wins = [], [], [], []
    for seed in range(5, 35):
        obs, info = env.reset(seed=seed)
        steps = 0
        while True:
            steps += 1
            chars.append(len(obs))
            offered.append(len(info["admissible_actions"]))
            obs, _, terminated, truncated, info = env.step(policy(obs, info))
            if terminated or truncated:
                break
        wins.append(info["won"])
        lengths.append(steps if info["won"] else 20)
    assert prof.richness_chars == pytest.approx(sum(chars) / len(chars))
    assert prof.planning_complexity == pytest.approx(sum(lengths) / 30)
    assert prof.success_rate == pytest.approx(sum(wins) / 30)
    assert prof.admissible_per_state == pytest.approx(sum(offered) / len(offered))
    optimal = [env.reset(seed=s)[1]["optimal_length"] for s in range(5, 35)]
    assert prof.expert_success == 1.0 and prof.expert_length == pytest.approx(sum(optimal) / 30)


def test_profile_cli_writes_json_and_plot(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "gentax.cli", "profile", "sokoban", "--episodes", "8", "--max-steps", "10",
         "--augment", "80", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = json.loads((tmp_path / "profile.json").read_text())
    assert [r["augment_eps"] for r in rows] == [0.0, 80.0]
    assert rows[1]["richness_chars"] > rows[0]["richness_chars"]
    assert rows[1]["planning_complexity"] == rows[0]["planning_complexity"]  # same world, same seeds
    assert (tmp_path / "profile.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "sokoban-eps80.jsonl").read_text().splitlines()) == 8
