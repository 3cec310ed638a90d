"""The `gentax` command: the entry point once in a subprocess, as a user runs it; the commands
in-process (typer's CliRunner on the same app), which spares each test a fresh interpreter."""

import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import gentax  # noqa: F401
from gentax.cli import app
from gentax.envs import make_env


def gentax_cli(*args, stdin=None):
    out = CliRunner().invoke(app, list(args), input=stdin)
    return out.exit_code, out.output


def test_the_module_entry_point_lists_sokoban_ready():
    out = subprocess.run([sys.executable, "-m", "gentax.cli", "envs", "--json"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = {r["domain"]: r for r in json.loads(out.stdout)}
    assert rows["sokoban"]["ready"] and rows["sokoban"]["max_steps"] == 15


def test_rollout_expert_writes_trajectories(tmp_path):
    path = tmp_path / "traj.jsonl"
    code, output = gentax_cli("rollout", "sokoban", "--policy", "expert", "--episodes", "6", "--split",
                              "eval", "--seed", "3", "--out", str(path), "--json")
    assert code == 0, output
    summary = json.loads(output)
    assert summary["success"] == 1.0 and summary["episodes"] == 6 and summary["mean_observation_chars"] > 100
    episodes = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["seed"] for e in episodes] == list(range(3, 9))
    for e in episodes:
        assert e["won"] and e["split"] == "eval" and e["total_reward"] == 10.0
        assert all({"observation", "action", "reward", "info"} <= set(s) for s in e["steps"])
        assert e["steps"][-1]["info"]["won"]
    assert summary["mean_length"] == sum(len(e["steps"]) for e in episodes) / 6


def test_rollout_random_reports_a_table_of_the_runs_numbers():
    args = ["rollout", "sokoban", "--policy", "random", "--episodes", "5", "--max-steps", "7"]
    code, output = gentax_cli(*args, "--json")
    assert code == 0, output
    summary = json.loads(output)
    assert summary["mean_length"] > 1 and summary["success"] < 1
    code, table = gentax_cli(*args)
    assert code == 0, table
    for key in ("success", "mean_return", "mean_length", "mean_observation_chars", "invalid_action_rate"):
        shown = f"{summary[key]:.3f}" if isinstance(summary[key], float) else str(summary[key])
        assert re.search(rf"\b{key}\b[^\n]*\s{re.escape(shown)}\s", table), (key, shown, table)


def test_play_takes_moves_from_a_person_until_the_win():
    env = make_env("sokoban")
    env.reset(seed=4)
    moves = []
    while not env.unwrapped.won:
        moves.append(env.unwrapped.expert_action())
        env.step(moves[-1])
    code, output = gentax_cli("play", "sokoban", "--seed", "4", stdin="dance\n" + "\n".join(moves) + "\n")
    assert code == 0, output
    assert output.count("invalid action") == 1 and "You won" in output
    assert f"total {10.0 - 0.1:+.1f}" in output  # +10 for the win, -0.1 for "dance"


def test_play_quit_ends_cleanly():
    code, output = gentax_cli("play", "sokoban", stdin="left\nquit\n")
    assert code == 0 and "Bye" in output and "You won" not in output


@pytest.mark.parametrize(("args", "message"), [
    (["rollout", "chess"], "unknown domain 'chess'"),
    (["rollout", "sokobn"], "did you mean 'sokoban'?"),
    (["rollout", "sokoban", "--policy", "genius"], "'genius' is not one of 'random', 'expert', 'model'"),
    (["rollout", "sokoban", "--split", "test"], "'test' is not one of 'train', 'eval'"),
    (["rollout", "sokoban", "--bogus"], "No such option: --bogus"),
    (["train", "group_size=1"], "group_size: must be >= 2"),
    (["train", "domains=sokoban:abc"], "domains: weight of 'sokoban' must be a number"),
    (["train", "--config", "no/such.yaml"], "no/such.yaml: no such config file"),
    (["study", "no/such.yaml"], "no/such.yaml: no such config file"),
    (["eval", "--domains", "chess"], "unknown domain 'chess'"),
    (["sft", "--data", "no/such.jsonl", "--out", "x"], "no such file no/such.jsonl"),
])
def test_bad_input_is_one_line_and_exit_status_2(args, message, capsys):
    from gentax.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(args)  # the console entry point, as `gentax ...` runs it
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit_.value.code == 2 and len(lines) == 1 and message in lines[0], lines


def test_train_help_lists_the_config_fields():
    code, output = gentax_cli("train", "--help")
    assert code == 0
    for field in ("group_size", "rollouts per instance (GRPO group)", "kl_coef", "env_kwargs"):
        assert field in output


def test_env_args_reach_the_environment(tmp_path):
    path = tmp_path / "traj.jsonl"
    code, output = gentax_cli("rollout", "sokoban", "--policy", "expert", "--episodes", "3", "--env-arg",
                              "rows=5", "--env-arg", "cols=5", "--env-arg", "max_solution_steps=1", "--out",
                              str(path), "--json")
    assert code == 0, output
    for episode in map(json.loads, path.read_text().splitlines()):
        assert episode["won"] and episode["total_reward"] == 10.0 and len(episode["steps"]) == 1
        assert "5x5 grid" in episode["steps"][0]["info"]["task"]
    code, output = gentax_cli("collect", "sokoban", "--episodes", "1", "--env-arg", "rows",
                              "--out", str(tmp_path / "x"))
    assert code == 2 and "KEY=VALUE" in output


def test_a_model_rollout_without_a_terminal_prints_progress_with_tokens_per_second(tiny_model, monkeypatch):
    import gentax.cli.common as common

    monkeypatch.setattr(common, "PROGRESS_LINE_EVERY_S", 0.005)
    out = CliRunner().invoke(app, ["rollout", "sokoban", "--policy", "model", "--model", tiny_model,
                                   "--episodes", "1", "--max-steps", "2", "--max-new-tokens", "24"])
    assert out.exit_code == 0, out.output
    lines = [line for line in out.stderr.splitlines() if line.startswith("sokoban / model: 0/1 episodes")]
    assert lines, out.stderr
    rates = [re.search(r", ([\d,]+) tokens, ([\d.]+) tokens/s$", line) for line in lines]
    assert all(rates), lines
    assert max(int(r.group(1).replace(",", "")) for r in rates) > 0
