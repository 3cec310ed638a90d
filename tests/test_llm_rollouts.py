"""Batched multi-episode LLM rollouts and evaluation with the real embedded model (tiny budgets), an
evaluation whose agent wins (the scripted policy of tests/scripted.py), and the `eval` and
`rollout --policy model` commands run in-process on the already loaded model."""

import json

import pytest
from scripted import ScriptedGenerator
from typer.testing import CliRunner

import gentax  # noqa: F401
from gentax.agents.models import load_model
from gentax.agents.parsing import INVALID_ACTION
from gentax.agents.prompt import PromptConfig
from gentax.cli import app
from gentax.envs import DOMAINS, REWARD_INVALID, DomainSpec, make_env
from gentax.rollout.batched import run_batched
from gentax.rollout.episodes import episode_metrics
from gentax.rollout.evaluate import evaluate
from gentax.rollout.generation import Sampling
from gentax.rollout.pool import make_pool


class CountingGenerator:
    """The real generator, counting how many prompts each generate call received."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def render(self, messages):
        return self.inner.render(messages)

    def generate(self, prompts, sampling):
        self.calls.append(len(prompts))
        return self.inner.generate(prompts, sampling)


def test_groups_play_together_and_every_step_is_recorded(generator):
    counting = CountingGenerator(generator)
    episodes = run_batched("sokoban", [3, 4], counting, group_size=2, max_steps=2,
                           prompt=PromptConfig(history=0),
                           sampling=Sampling(max_new_tokens=12, temperature=1.0, seed=0))
    assert [(e.seed, e.sample) for e in episodes] == [(3, 0), (3, 1), (4, 0), (4, 1)]
    assert counting.calls[0] == 4  # one generate call for all live episodes
    assert len(counting.calls) == max(e.length for e in episodes)
    for e in episodes:
        assert 1 <= e.length <= 2 and e.task
        for k, step in enumerate(e.steps, start=1):
            assert f"You have already taken {k - 1} step" in step.prompt and step.observation in step.prompt
            assert len(step.token_ids) == len(step.logprobs) >= 1
            assert step.response == generator.tokenizer.decode(step.token_ids, skip_special_tokens=True)
            if not step.well_formed:  # ill-formed output: the invalid action, -0.1, nothing moves
                assert step.action == INVALID_ACTION and step.info["invalid"]
                assert step.reward == REWARD_INVALID
        for before, after in zip(e.steps, e.steps[1:], strict=False):
            if before.info["invalid"]:
                assert after.observation == before.observation
    metrics = episode_metrics(episodes)
    assert 0 <= metrics["format_error_rate"] <= metrics["invalid_action_rate"] <= 1
    assert metrics["mean_observation_chars"] > 100 and metrics["episodes"] == 4


def test_at_most_max_live_episodes_run_at_once_in_the_envs_freed(tiny_model):
    # A ScienceWorld env holds its own JVM (~0.4 GB): 64 episodes at once would fill the machine.
    # With max_live=3, seven episodes play three at a time, each next one in a finished one's env.
    counting = CountingGenerator(ScriptedGenerator(load_model(tiny_model, dtype="float32"), p_expert=0.5,
                                                   seed=1))
    with make_pool("inprocess") as pool:
        episodes = run_batched("sokoban", range(7), counting, max_live=3, max_steps=2, pool=pool,
                               prompt=PromptConfig(history=0, think=False),
                               sampling=Sampling(max_new_tokens=8, temperature=1.0, seed=0),
                               env_kwargs={"max_solution_steps": 1})
        built = [env for envs in pool.workers.host.idle.values() for env in envs]
    assert [e.seed for e in episodes] == list(range(7)) and all(1 <= e.length <= 2 for e in episodes)
    assert max(counting.calls) == 3 and sum(counting.calls) == sum(e.length for e in episodes)
    assert len(counting.calls) > 2  # later episodes started while earlier ones were still playing
    assert len(built) == 3


def test_evaluate_writes_results_and_skips_domains_that_cannot_run(generator, tmp_path, monkeypatch):
    monkeypatch.setitem(DOMAINS, "needs-engine", DomainSpec(
        name="needs-engine", env_id="gentax/NeedsEngine-v0", entry_point="nowhere:Env", max_steps=5,
        expert="none", splits="none", python_packages=(("no_such_engine_module", "pip install engine"),)))
    results = evaluate(generator, ["sokoban", "needs-engine"], episodes=2, max_steps=1, max_new_tokens=8,
                       history=0, think=False, out_dir=tmp_path, meta={"model": "default"})
    assert "no_such_engine_module" in results["needs-engine"]["skipped"]
    sokoban = results["sokoban"]
    assert sokoban["episodes"] == 2 and sokoban["mean_length"] == 1.0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["model"] == "default" and summary["domains"]["sokoban"]["episodes"] == 2
    lines = (tmp_path / "sokoban.jsonl").read_text().splitlines()
    steps = [s for line in lines for s in json.loads(line)["steps"]]
    assert len(steps) == 2 and all("<think>" not in s["prompt"] for s in steps)  # no-think mode


def test_evaluation_reports_exactly_the_episodes_won(tiny_model, tmp_path):
    # One move per episode on rooms solved in one move: an episode is won exactly when the script
    # answered the expert's move, and nothing else wins.
    scripted = ScriptedGenerator(load_model(tiny_model, dtype="float32"), p_expert=0.5, seed=1)
    results = evaluate(scripted, ["sokoban"], episodes=12, max_steps=1, max_new_tokens=8, history=0,
                       think=False, env_kwargs={"max_solution_steps": 1}, out_dir=tmp_path)["sokoban"]
    kinds = [c.kind for c in scripted.choices]
    wins, malformed = kinds.count("expert"), kinds.count("malformed")
    assert len(kinds) == 12 and 0 < wins < 12 and malformed > 0
    assert results["success"] == wins / 12
    assert results["mean_return"] == pytest.approx((10.0 * wins + REWARD_INVALID * malformed) / 12)
    assert results["format_error_rate"] == malformed / 12
    # each recorded episode, replayed in a fresh env, is won exactly when it says so
    env = make_env("sokoban", split="eval", max_solution_steps=1)
    episodes = [json.loads(line) for line in (tmp_path / "sokoban.jsonl").read_text().splitlines()]
    assert [e["seed"] for e in episodes] == list(range(12))
    for e, choice in zip(episodes, scripted.choices, strict=True):
        env.reset(seed=e["seed"])
        *_, info = env.step(e["steps"][0]["action"])
        assert e["won"] == info["won"] == (choice.kind == "expert")


@pytest.fixture
def cli_default_model(generator, monkeypatch):
    """`--model default` in the CLI gets the session's already loaded model (no second load)."""
    import gentax.agents.models as models

    real = models.load_model
    monkeypatch.setattr(models, "load_model", lambda name, *args, **kwargs: generator.loaded
                        if name == "default" else real(name, *args, **kwargs))


def test_gentax_eval_cli_reports_its_trajectories(tmp_path, cli_default_model):
    out = CliRunner().invoke(app, ["eval", "--model", "default", "--domains", "sokoban", "--episodes", "2",
                                   "--max-steps", "2", "--max-new-tokens", "8", "--history", "0",
                                   "--out", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    results = json.loads(out.output.strip().splitlines()[-1])["sokoban"]
    episodes = [json.loads(x) for x in (tmp_path / "sokoban.jsonl").read_text().splitlines()]
    assert [e["seed"] for e in episodes] == [0, 1]
    steps = [s for e in episodes for s in e["steps"]]
    assert all("<think>your reasoning</think>" in s["prompt"] for s in steps)
    # the summary is the trajectories', counted by hand
    assert results["episodes"] == 2 and results["success"] == sum(e["won"] for e in episodes) / 2
    assert results["mean_length"] == len(steps) / 2
    assert results["mean_return"] == pytest.approx(sum(s["reward"] for s in steps) / 2)
    assert results["invalid_action_rate"] == sum(s["info"]["invalid"] for s in steps) / len(steps)
    assert results["format_error_rate"] == sum(not s["well_formed"] for s in steps) / len(steps)
    assert results["mean_observation_chars"] == sum(len(s["observation"]) for s in steps) / len(steps)
    assert json.loads((tmp_path / "summary.json").read_text())["domains"]["sokoban"] == results


def test_gentax_rollout_with_a_model_policy_and_a_bad_model(tmp_path, cli_default_model):
    path = tmp_path / "t.jsonl"
    runner = CliRunner()
    out = runner.invoke(app, ["rollout", "sokoban", "--policy", "model", "--model", "default",
                              "--episodes", "1", "--group-size", "2", "--max-steps", "1", "--max-new-tokens",
                              "6", "--no-think", "--history", "0", "--out", str(path), "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output.strip().splitlines()[-1])
    assert summary["episodes"] == 2 and summary["policy"] == "model"
    episodes = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(e["seed"], e["sample"]) for e in episodes] == [(0, 0), (0, 1)]  # a group of 2 rollouts
    steps = [e["steps"][0] for e in episodes]
    assert all(1 <= len(s["token_ids"]) == len(s["logprobs"]) <= 6 and "prompt" in s for s in steps)
    bad = runner.invoke(app, ["eval", "--model", str(tmp_path / "nothing"), "--domains", "sokoban"])
    assert bad.exit_code == 2 and "cannot load model" in bad.output
