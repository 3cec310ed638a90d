"""Env worker pools: local processes and Ray actors play real episodes of every domain exactly as
in-process envs do, and a worker killed mid-episode is survived (retried once, then reported
as an infrastructure failure)."""

import json
import os
import signal
import time

import pytest
import ray  # `make setup` installs the [ray] extra
import torch
from safetensors.torch import load_file

from gentax.agents.models import load_model
from gentax.agents.prompt import PromptConfig
from gentax.augment import AugmentConfig
from gentax.envs import DOMAINS
from gentax.rollout.batched import run_batched
from gentax.rollout.generation import Sampling, TransformersGenerator
from gentax.rollout.pool import EnvSpec, make_pool, play_batched
from gentax.train.checkpoint import list_checkpoints
from gentax.train.config import ConfigError, TrainConfig
from gentax.train.trainer import train

READY = {d for d in DOMAINS if not DOMAINS[d].problems()}
# ScienceWorld is not reproducible across JVMs (the order of its admissible actions, and with it
# the gold path's length, change from one engine to the next; see tests/test_augment.py): there
# the expert's outcome is compared (task, win, return), not the step-by-step trajectory.
ORDER_VARIES = {"sciworld"}
# What each domain plays through the pools: a cheap policy and seeds, and its env options.
CASES = {
    "sokoban": ("random", [0, 1, 2, 3], {}),
    "webshop": ("random", [0, 1, 2], {}),
    "alfworld": ("expert", [0, 1], {}),
    "sciworld": ("expert", [0], {"tasks": ["find-plant"]}),
}
IN_PROCESS: dict[str, list] = {}  # each domain's in-process episodes, played once for both pools


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray session for the whole module (starting Ray takes seconds)."""
    for attempt in range(3):  # Ray gives its node 30 s to start: not always enough on a busy CPU
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception:  # noqa: BLE001 - "node timed out during startup": try again
            ray.shutdown()
            if attempt == 2:
                raise
    yield
    ray.shutdown()


@pytest.fixture(scope="module", params=["process", "ray"])
def pool(request, ray_session):
    """A 2-worker pool of each kind, shared by the module's tests (workers start once)."""
    with make_pool(request.param, workers=2) as envs:
        yield envs


@pytest.fixture(scope="module")
def generator(tiny_model):
    return TransformersGenerator(load_model(tiny_model, dtype="float32"), batch_size=8)


def spec_for(domain, alfworld_cache):
    policy, seeds, kwargs = CASES[domain]
    if domain == "alfworld":
        kwargs = {**kwargs, "cache_dir": alfworld_cache}
    return policy, seeds, EnvSpec(domain, split="eval", env_kwargs=kwargs)


def trajectory(episode):
    return (episode.seed, episode.task, episode.won, episode.truncated,
            [(s.observation, s.action, s.reward, s.info["invalid"]) for s in episode.steps])


@pytest.mark.parametrize("domain", list(CASES))
def test_pool_plays_every_domain_like_in_process(pool, domain, alfworld_cache):
    if domain not in READY:
        pytest.skip(f"{domain} cannot run here: {DOMAINS[domain].problems()}")
    policy, seeds, spec = spec_for(domain, alfworld_cache)
    if domain not in IN_PROCESS:
        with make_pool("inprocess") as local:
            IN_PROCESS[domain] = play_batched(local, spec, seeds, policy, policy_seed=5)
    expected = IN_PROCESS[domain]
    played = play_batched(pool, spec, seeds, policy, policy_seed=5)
    assert pool.slots == {} and pool.lost_workers == 0
    if domain in ORDER_VARIES:
        assert [(e.seed, e.task, e.won, e.total_reward) for e in played] == \
            [(e.seed, e.task, e.won, e.total_reward) for e in expected]
        assert all(e.won and not e.steps[-1].info["infra_failure"] for e in played)
    else:
        assert [trajectory(e) for e in played] == [trajectory(e) for e in expected]
    if policy == "expert":
        assert all(e.won for e in played)
    else:  # every random episode went somewhere: the trajectories compared are not trivial
        assert all(len({s.observation for s in e.steps}) > 1 for e in played)


def test_llm_rollouts_through_a_pool_match_in_process(pool, generator):
    kwargs = dict(group_size=2, max_steps=3, prompt=PromptConfig(history=0),
                  sampling=Sampling(max_new_tokens=12, temperature=1.0, seed=0))
    expected = run_batched("sokoban", [3, 4], generator, **kwargs)
    played = run_batched("sokoban", [3, 4], generator, pool=pool, **kwargs)
    assert [(e.seed, e.sample) for e in played] == [(3, 0), (3, 1), (4, 0), (4, 1)]
    for a, b in zip(played, expected, strict=True):
        assert trajectory(a) == trajectory(b)
        assert [s.response for s in a.steps] == [s.response for s in b.steps]
    assert pool.slots == {}


def kill_worker(pool, index):
    """Kill a worker the hard way: SIGKILL of the process, ray.kill of the actor."""
    if pool.kind == "ray":
        actor = pool.workers.actors[index]
        ray.kill(actor, no_restart=True)
        # ray.kill only asks for the kill: on a loaded machine a call sent right after it could
        # still be answered (the CI saw a "lost" worker step on), so wait until the actor is gone
        for _ in range(600):
            try:
                ray.get(actor.pid.remote(), timeout=60)
            except ray.exceptions.RayActorError:
                return
            time.sleep(0.1)
        raise AssertionError(f"env actor {index} still answers a minute after ray.kill")
    else:
        os.kill(pool.workers.pid(index), signal.SIGKILL)
        pool.workers.procs[index].join(timeout=10)


def kill_during(pool, monkeypatch, at_steps, worker=0):
    """Kill `worker` just before the pool's step calls number `at_steps` (1-based)."""
    step, calls = pool.step, [0]

    def killing_step(actions):
        calls[0] += 1
        if calls[0] in at_steps:
            kill_worker(pool, worker)
        return step(actions)

    monkeypatch.setattr(pool, "step", killing_step)


def test_killed_worker_is_replaced_and_its_episodes_start_over(pool, monkeypatch):
    spec = EnvSpec("sokoban", split="eval")
    seeds = [0, 1, 2, 3]
    with make_pool("inprocess") as local:
        expected = play_batched(local, spec, seeds, "expert")
    lost = pool.lost_workers
    kill_during(pool, monkeypatch, at_steps={3})
    played = play_batched(pool, spec, seeds, "expert")
    assert pool.lost_workers == lost + 1
    # the episodes of the killed worker restarted from reset and still match step for step
    assert [trajectory(e) for e in played] == [trajectory(e) for e in expected]
    retried = [e for e in played if e.reset_info.get("infra_retry")]
    assert len(retried) == 2 and all(e.won for e in played)


def test_worker_lost_twice_reports_infra_failure(pool, monkeypatch):
    spec = EnvSpec("sokoban", split="eval")
    kill_during(pool, monkeypatch, at_steps={2, 4})
    played = play_batched(pool, spec, [0, 1, 2, 3], "expert")
    failed = [e for e in played if e.steps and e.steps[-1].info.get("infra_failure")]
    assert len(failed) == 2  # the two episodes of worker 0: retried once, then reported
    for e in failed:
        assert not e.won and e.reset_info.get("infra_retry")
        assert "worker" in e.steps[-1].info["infra_error"] or "actor" in e.steps[-1].info["infra_error"]
    assert all(e.won for e in played if e not in failed)  # the other worker's episodes went on
    assert pool.slots == {}
    # and the replaced workers serve the next rollout as usual
    assert all(e.won for e in play_batched(pool, spec, [5, 6], "expert"))


def test_llm_rollout_survives_a_killed_worker(pool, generator, monkeypatch):
    kill_during(pool, monkeypatch, at_steps={2})
    played = run_batched("sokoban", [3, 4], generator, group_size=2, max_steps=3, pool=pool,
                         prompt=PromptConfig(history=0), sampling=Sampling(max_new_tokens=12, seed=0))
    retried = [e for e in played if e.reset_info.get("infra_retry")]
    assert len(retried) == 2 and len(played) == 4
    for e in played:  # every episode finished, the retried ones from a fresh reset
        assert 1 <= e.length <= 3 and not any(s.info.get("infra_failure") for s in e.steps)


@pytest.mark.skipif("sciworld" not in READY, reason="ScienceWorld cannot run here")
@pytest.mark.parametrize("pool", ["process"], indirect=True)  # one kind: each JVM start costs seconds
def test_killed_sciworld_worker_takes_its_jvm_along_and_the_episode_is_retried(pool, monkeypatch):
    _, seeds, spec = spec_for("sciworld", "")
    lost = pool.lost_workers
    kill_during(pool, monkeypatch, at_steps={2})
    [episode] = play_batched(pool, spec, seeds, "expert")
    assert episode.reset_info.get("infra_retry") and episode.won and pool.lost_workers == lost + 1


def test_training_config_switches_the_pool(tmp_path, tiny_model, scripted):
    def run(name, env_pool):
        cfg = TrainConfig(model=tiny_model, domains={"sokoban": 1.0}, steps=1, instances_per_step=2,
                          group_size=4, lr=1e-3, max_response_tokens={"sokoban": 8},
                          max_env_steps={"sokoban": 2}, env_kwargs={"sokoban": {"max_solution_steps": 1}},
                          think=False, history=0, val_every=0, seed=3, env_pool=env_pool, env_workers=2,
                          skip_zero_advantage=False, out=str(tmp_path / name))
        line = json.loads((train(cfg) / "metrics.jsonl").read_text())
        weights = load_file(str(list_checkpoints(tmp_path / name)[-1] / "model.safetensors"))
        return {k: v for k, v in line.items() if not k.endswith("_s") and k != "tokens_per_s"}, weights

    (pooled, a), (local, b) = run("process", "process"), run("inprocess", "inprocess")
    # a step with a learning signal (groups of unequal returns) is the same step in both
    assert pooled["grad_norm"] > 0 and 0 < pooled["success"] < 1 and pooled["zero_variance_groups"] < 1
    assert pooled == local and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="env_pool: must be one of inprocess, process, ray"):
        TrainConfig(env_pool="threads")


def test_unknown_pool_and_env_errors_are_clear(pool):
    with pytest.raises(ValueError, match="unknown env pool 'gpu'"):
        make_pool("gpu")
    lost = pool.lost_workers
    with pytest.raises(TypeError, match="no_such_option"):  # an env's own error: not infrastructure
        pool.start(EnvSpec("sokoban", env_kwargs={"no_such_option": 1}), [0])
    assert pool.lost_workers == lost


def test_cli_rollout_plays_through_a_process_pool():
    from typer.testing import CliRunner

    from gentax.cli import app

    runner = CliRunner()
    args = ["rollout", "sokoban", "--policy", "expert", "--episodes", "3", "--json"]
    pooled = runner.invoke(app, [*args, "--env-pool", "process", "--env-workers", "2"])
    local = runner.invoke(app, args)
    assert pooled.exit_code == 0 and local.exit_code == 0, pooled.output
    assert json.loads(pooled.output) == json.loads(local.output)
    bad = runner.invoke(app, [*args, "--env-pool", "gpu"])
    assert bad.exit_code == 2 and "'gpu' is not one of 'inprocess', 'process', 'ray'" in bad.output


@pytest.mark.parametrize("domain, policy", [("sokoban", "random"), ("webshop", "random")])
def test_in_process_pool_reuses_its_envs_and_plays_as_fresh_ones(domain, policy):
    # A finished episode's env serves the next episode (an engine starts once per pool, not per
    # episode), with distractors on so that the wrapper's state is reused too; a reused env
    # plays each instance exactly as a new one does.
    if domain not in READY:
        pytest.skip(f"{domain} cannot run here: {DOMAINS[domain].problems()}")
    spec = EnvSpec(domain, split="eval", augment=AugmentConfig(eps=20, seed=3))
    with make_pool("inprocess") as local:
        play_batched(local, spec, [0, 1], policy, policy_seed=5)
        idle = [id(env) for envs in local.workers.host.idle.values() for env in envs]
        replayed = play_batched(local, spec, [2, 3], policy, policy_seed=5)
        assert sorted(id(env) for envs in local.workers.host.idle.values() for env in envs) == sorted(idle)
    with make_pool("inprocess") as fresh:
        expected = play_batched(fresh, spec, [2, 3], policy, policy_seed=5)
    assert len(idle) == 2 and [trajectory(e) for e in replayed] == [trajectory(e) for e in expected]
