"""`gentax rollout webshop` and `gentax play webshop`, run as a user runs them."""

import json
import subprocess
import sys

from gentax.envs import make_env


def gentax_cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "gentax.cli", *args], input=stdin, capture_output=True, text=True, timeout=300
    )


def test_envs_lists_webshop_ready_with_cap_15():
    out = gentax_cli("envs", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["domain"]: r for r in json.loads(out.stdout)}
    assert rows["webshop"]["ready"] and rows["webshop"]["max_steps"] == 15
    assert rows["webshop"]["env_id"] == "gentax/WebShop-v0"


def test_rollout_expert_and_random_through_the_registry(tmp_path):
    path = tmp_path / "ws.jsonl"
    out = gentax_cli(
        "rollout",
        "webshop",
        "--policy",
        "expert",
        "--episodes",
        "8",
        "--split",
        "eval",
        "--out",
        str(path),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["success"] == 1.0 and summary["mean_return"] == 10.0
    episodes = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(e["steps"][-1]["info"]["score"] == 1.0 for e in episodes)
    assert episodes[0]["steps"][0]["action"].startswith("search[")
    out = gentax_cli(
        "rollout", "webshop", "--policy", "random", "--episodes", "4", "--split", "train", "--json"
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["success"] <= 0.25


def test_play_webshop_with_typed_actions_until_the_purchase():
    env = make_env("webshop", split="train")
    env.reset(seed=2)
    actions = []
    while True:
        actions.append(env.unwrapped.expert_action())
        *_, terminated, truncated, _ = env.step(actions[-1])
        if terminated or truncated:
            break
    out = gentax_cli("play", "webshop", "--seed", "2", stdin="click[nothing]\n" + "\n".join(actions) + "\n")
    assert out.returncode == 0, out.stderr
    assert "invalid action" in out.stdout and "You won" in out.stdout
