"""ScienceWorld on the real engine: gold-path expert, splits, seeds, rewards and a JVM that can
die or hang without taking the run down or leaving processes behind."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import gentax  # noqa: F401  (registers the gentax/* ids)
from gentax.agents.policies import RandomPolicy
from gentax.envs import get_domain, make_env
from gentax.envs.sciworld import TASK_TYPES, SciWorldEnv, bounded_actions, engine_splits, pick_reading
from gentax.rollout.episodes import run_episode

pytestmark = pytest.mark.skipif(bool(get_domain("sciworld").problems()),
                                reason="ScienceWorld engine cannot run here (see `gentax envs`)")


def jvm_gone(pid: int, wait_s: float = 20.0, orphan: bool = False) -> bool:
    """True once `pid` no longer exists (no zombie either). An `orphan` JVM, whose Python parent
    was killed, is reaped by init, not by us: there "exited" (a zombie) counts as gone."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if orphan and state == "Z":
            return True
        time.sleep(0.2)
    return False


def play_expert(env, seed=0, options=None):
    """Follow the expert until the episode ends or the expert gives up."""
    obs, info = env.reset(seed=seed, options=options)
    total, steps = 0.0, 0
    while (action := env.unwrapped.expert_action()) is not None:
        obs, reward, terminated, truncated, info = env.step(action)
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            break
    return info, total, steps


@pytest.fixture(scope="module")
def expert_env():
    # Expert data needs no admissible list (the engine's costliest part); gold paths run to 178
    # steps, so the cap is lifted here (the paper's 50 is tested below). Generating the
    # mendelian-genetics gold paths took over 180 s (the default load deadline) on a 2-core
    # machine shared with other jobs: these loads get more time.
    env = make_env("sciworld", admissible=False, max_steps=400, start_timeout_s=900)
    yield env
    env.close()


@pytest.fixture(scope="module")
def env():
    env = make_env("sciworld", gold_path=False)  # the default observation, without the expert
    yield env
    env.close()


# One task type per topic of the engine (matter, chemistry, finding, life stages, forces,
# electricity) by default; the other 24 run with `pytest -m slow` (.ci/run runs both).
SAMPLE = ("boil", "chemistry-mix", "find-animal", "identify-life-stages-1", "inclined-plane-determine-angle",
          "test-conductivity")


OWN_JVM = {"grow-fruit"}


@pytest.mark.parametrize("task", [t if t in SAMPLE else pytest.param(t, marks=pytest.mark.slow)
                                  for t in TASK_TYPES])
def test_expert_gold_path_wins_every_task_type(expert_env, task):
    # Both mendelian-genetics gold paths were recorded in a copy of the world that diverges from
    # the one replayed (ambiguity readings in another order, other random draws): the expert
    # answers questions by meaning and skips gold actions naming objects this world lacks, so
    # they win in every JVM, like the other task types, and never send an invalid action.
    # grow-fruit's replay also depends on what the JVM ran before (its random draws continue across
    # loads): seen winning in a fresh JVM and losing after 7 other tasks, so it gets its own JVM.
    env = make_env("sciworld", admissible=False, max_steps=400, start_timeout_s=900) \
        if task in OWN_JVM else expert_env
    try:
        info, total, steps = play_expert(env, seed=0, options={"task": task})
    finally:
        if env is not expert_env:
            env.close()
    summary = {k: v for k, v in info.items() if k not in ("admissible_actions", "task")}
    assert info["task_name"] == task and info["split"] == "train", summary
    assert info["won"] and info["score"] == 100 and not info["infra_failure"], summary
    # Gold numbers answering questions this world does not ask are skipped, and questions the
    # gold path never met are answered: a few steps more or fewer than the gold sequence.
    assert total == pytest.approx(10.0) and steps <= info["gold_length"] + 5, (total, steps, summary)


@pytest.mark.parametrize("task", ["mendelian-genetics-known-plant", "mendelian-genetics-unknown-plant"])
def test_expert_wins_mendelian_genetics_on_another_variation(expert_env, task):
    # The two task types whose replay diverges from the recorded world, on a second variation.
    info, total, steps = play_expert(expert_env, seed=2, options={"task": task})
    assert info["won"] and total == pytest.approx(10.0) and not info["infra_failure"], info["variation"]


def test_the_expert_asks_the_parser_without_acting(env):
    # How the expert tells a gold action naming an object this world lacks (skipped) from one
    # the engine understands, without taking a step or leaving a question pending.
    obs, info = env.reset(seed=0, options={"task": "boil"})  # the hallway: six doors, no jug
    understood = env.unwrapped._understood
    assert understood("open door to kitchen") and understood("open door") and understood("look around")
    assert not understood("move jug to sink") and not understood("dance")
    # Nothing happened: the same scene, no pending question ("look around" is not a number).
    new_obs, reward, _, _, new_info = env.step("look around")
    assert not new_info["invalid"] and new_info["score"] == info["score"]
    assert new_obs == obs


JAR = "(in seed jar, in inventory, in agent, in greenhouse)"
PLANT = "(in pea plant, in flower pot 1, in greenhouse)"
_QUESTION = (
    "Ambiguous request: Please enter the number for the action you intended (or blank to cancel):\n"
    f"0:\tmove pea seed {JAR} to seed jar (in inventory, in agent, in greenhouse)\n"
    f"1:\tmove pea {PLANT} to seed jar (in inventory, in agent, in greenhouse)\n"
    f"2:\tmove pea seed {PLANT} to seed jar (in inventory, in agent, in greenhouse)\n"
    f"3:\tmove pea seed {JAR} to seed jar (in inventory, in agent, in greenhouse)\n"
    f"4:\tmove adult bee {PLANT} to seed jar (in inventory, in agent, in greenhouse)\n"
)


@pytest.mark.parametrize("intended, meant", [
    # a seed on a plant, named by its containers: a reading on the plant, whatever its number
    ("move round green pea seed in the seed stage in reproducing plant to ceramic cup",
     "move pea seed (in pea plant"),
    ("move seed plant to ceramic cup", "move pea seed (in pea plant"),
    # a seed named by the jar it is in: a jar reading
    ("move seed round green pea seed on seed jar to ceramic cup", "move pea seed (in seed jar"),
    # nothing tells them apart: not one that leaves the object where it is
    ("move living thing in living thing to ceramic cup", "(in pea plant"),
    # a seed or a bee on the plant? the kind of object most readings name: a seed
    ("move organism on pea plant to ceramic cup", "move pea seed (in pea plant"),
])
def test_ambiguity_answers_pick_the_reading_that_matches_the_intended_action(intended, meant):
    head, *lines = _QUESTION.splitlines()
    renumbered = {"0:": "2:", "1:": "3:", "2:": "0:", "3:": "4:", "4:": "1:"}  # another world, another order
    for question in (_QUESTION, "\n".join([head] + [renumbered[line[:2]] + line[2:] for line in lines])):
        readings = dict(line.split(":\t") for line in question.splitlines()[1:])
        picked = readings[str(pick_reading(question, intended))]
        assert meant in picked, (intended, picked)
    with pytest.raises(ValueError, match="ambiguity question"):
        pick_reading("You move the pea seed to the seed jar.", intended)


def test_expert_wins_eval_instances_under_the_papers_cap():
    # Short-gold task types, eval split, default observation with admissible actions.
    eval_env = make_env("sciworld", split="eval", tasks=["find-plant", "lifespan-longest-lived",
                                                          "chemistry-mix-paint-secondary-color"])
    try:
        for seed in range(3):
            info, total, steps = play_expert(eval_env, seed=seed)
            variation = info["variation"]
            assert variation in engine_splits(eval_env.unwrapped.engine, info["task_name"])["test"]
            assert info["won"] and total == pytest.approx(10.0) and steps <= 50
    finally:
        eval_env.close()


def test_success_needs_the_full_score_and_partial_score_is_kept(expert_env):
    env = expert_env
    obs, info = env.reset(seed=0, options={"task": "boil"})
    gold = env.unwrapped.gold
    scores = []
    for action in gold[:12]:
        _, reward, terminated, _, info = env.step(action)
        scores.append(info["score"])
        assert reward == 0.0 and not terminated and not info["won"]
    assert 0 < scores[-1] < 100  # progress is visible in info, never in the reward


def test_observation_is_the_engines_answer_and_info_lists_templates_objects_and_actions(env):
    obs, info = env.reset(seed=4)
    actions = info["admissible_actions"]
    assert 5 < len(actions) <= 100 and len(set(actions)) == len(actions)
    assert info["admissible_total"] > len(actions)  # the engine offered far more
    assert {"look around", "inventory"} <= set(actions) and "reset task" not in actions
    # The observation is the engine's answer only (here to "look around"); what composes an
    # action is in info, for the prompt to list once.
    templates, objects = info["action_templates"], info["objects"]
    assert {"open OBJ", "look around", "connect OBJ to OBJ"} <= set(templates)
    assert "reset task" not in templates and "agent" in objects and objects == sorted(set(objects))
    assert obs.startswith("This room is called") and "OBJ" not in obs
    assert "Action templates" not in obs and "Objects:" not in obs and "Admissible actions" not in obs
    assert ", ".join(objects[:3]) not in obs and "\n".join(actions[:2]) not in obs
    for action in actions[5:: max(len(actions) // 4, 1)][:4]:  # listed actions are understood
        env.reset(seed=4)
        _, reward, _, _, step_info = env.step(action)
        assert not step_info["invalid"], action
        assert step_info["action_templates"] == templates and step_info["objects"]  # on every step


def test_bounded_actions_keeps_every_template_and_one_name_per_object():
    valid = [{"action": f"open {n}", "template_id": 1, "obj_ids": [i]} for i, n in enumerate("abcdef")]
    valid += [{"action": "open door to a", "template_id": 1, "obj_ids": [0]}]  # same object, new name
    valid += [{"action": f"move {n} to x", "template_id": 2, "obj_ids": [i, 9]} for i, n in enumerate("abc")]
    valid += [{"action": f"eat {n}", "template_id": 3, "obj_ids": [i]} for i, n in enumerate("ab")]
    kept, total = bounded_actions(valid, ["look around"], limit=5)
    assert total == 1 + 6 + 3 + 2
    assert kept == ["look around", "open a", "eat a", "open b", "eat b"]
    kept, _ = bounded_actions(valid, ["look around"], limit=100)
    assert "open door to a" not in kept and kept[-3:] == ["move a to x", "move b to x", "move c to x"]
    kept, total = bounded_actions(valid, [], limit=100, referable={0, 1})  # 9 (x) is out of reach
    assert total == 4 and kept == ["open a", "eat a", "open b", "eat b"]


def test_unknown_actions_are_invalid_and_change_nothing(env):
    obs, info = env.reset(seed=2)
    for action in ["dance", "", "   ", "focus on the moon", "🙂" * 30, "x" * 2000, "0"]:
        new_obs, reward, terminated, truncated, new_info = env.step(action)
        assert new_info["invalid"] and reward == pytest.approx(-0.1) and not terminated, action
        assert new_info["score"] == info["score"]
    assert env.step("look around")[0] == obs


def test_made_without_gold_path_there_is_no_expert(env):
    env.reset(seed=2)
    with pytest.raises(RuntimeError, match="gold_path=False"):
        env.unwrapped.expert_action()


def test_ambiguous_actions_ask_for_a_reading_and_the_numbers_become_admissible(env):
    env.reset(seed=0, options={"task": "boil"})  # starts in the hallway: six doors
    obs, reward, _, _, info = env.step("open door")
    assert obs.startswith("Ambiguous request") and not info["invalid"]
    assert info["admissible_actions"] == [str(i) for i in range(6)]
    reading = next(line for line in obs.splitlines() if line.startswith("2:"))  # 2: open door between X and Y
    room = reading.split("between ")[1].split(" and")[0]
    obs, reward, _, _, info = env.step("2")
    assert not info["invalid"] and obs.startswith("The door is now open")
    assert "look around" in info["admissible_actions"]
    assert f"door to the {room} (that is open)" in env.step("look around")[0]  # the chosen door
    env.step("open door")
    obs, reward, _, _, info = env.step("dance")  # not a number: the question is dropped, invalid
    assert info["invalid"] and reward == pytest.approx(-0.1)


def test_same_seed_same_instance(env):
    first = [(env.reset(seed=s)[1]["task_name"], env.unwrapped.variation, env.unwrapped.task) for s in (1, 2)]
    other = make_env("sciworld", admissible=False, gold_path=False)
    try:
        again = [(other.reset(seed=s)[1]["task_name"], other.unwrapped.variation, other.unwrapped.task)
                 for s in (1, 2)]
    finally:
        other.close()
    assert first == again


class _Drawn(Exception):
    """Stops a reset once the env has chosen its instance (loading 300 of them would take long)."""


def test_seeds_reach_every_task_type_and_only_their_splits_variations(env, monkeypatch):
    drawn = []

    def record(task, variation):
        drawn.append((task, variation))
        raise _Drawn

    monkeypatch.setattr(env.unwrapped, "_start_episode", record)
    for split in ("train", "eval"):
        monkeypatch.setattr(env.unwrapped, "split", split)
        for seed in range(300):
            with pytest.raises(_Drawn):
                env.reset(seed=seed)
        chosen, drawn[:] = list(drawn), []
        assert {task for task, _ in chosen} == set(TASK_TYPES), split  # every task type is reachable
        engine_split = "train" if split == "train" else "test"
        assert all(v in engine_splits(env.unwrapped.engine, t)[engine_split] for t, v in chosen), split


def test_train_and_eval_variations_are_disjoint_for_every_task(expert_env):
    engine = expert_env.unwrapped.engine
    for task in TASK_TYPES:
        splits = engine_splits(engine, task)
        train, dev, test = set(splits["train"]), set(splits["dev"]), set(splits["test"])
        assert train and test and not train & test and not train & dev and not dev & test
        assert set(expert_env.unwrapped.variations(task, "train")) == train
        assert set(expert_env.unwrapped.variations(task, "eval")) == test


def test_pinning_a_variation_outside_the_split_is_a_clear_error(expert_env):
    test_variation = engine_splits(expert_env.unwrapped.engine, "melt")["test"][0]
    with pytest.raises(ValueError, match="not in the train split"):
        expert_env.reset(seed=0, options={"task": "melt", "variation": test_variation})
    with pytest.raises(ValueError, match="unknown ScienceWorld task"):
        expert_env.reset(seed=0, options={"task": "juggle"})
    with pytest.raises(ValueError, match="unknown ScienceWorld task"):
        SciWorldEnv(tasks=["juggle"])


def test_random_play_rarely_wins(env):
    policy = RandomPolicy(seed=0)
    tasks = ["find-animal", "boil", "lifespan-shortest-lived", "test-conductivity", "grow-plant"]
    capped = make_env("sciworld", max_steps=20, gold_path=False, tasks=tasks)
    try:
        episodes = [run_episode(capped, policy, seed) for seed in range(8)]
    finally:
        capped.close()
    # none of 8 wins (an env that let random play win half the time would pass this 1 in 256)
    assert sum(e.won for e in episodes) == 0
    assert all(not s.info["infra_failure"] for e in episodes for s in e.steps)


def test_killed_jvm_fails_the_episode_as_infrastructure_then_recovers():
    env = make_env("sciworld", tasks=["find-plant"], admissible=False)
    try:
        env.reset(seed=0)
        engine = env.unwrapped.engine
        pid = engine.pid
        os.kill(pid, signal.SIGKILL)
        obs, reward, terminated, truncated, info = env.step("look around")
        assert terminated and info["infra_failure"] and "JVM" in info["infra_error"]
        assert reward == 0.0 and not info["invalid"] and not info["won"]
        assert info["action_templates"] == info["objects"] == info["admissible_actions"] == []
        assert jvm_gone(pid)  # killed and reaped, no zombie
        info, total, _ = play_expert(env, seed=0)  # reset starts a fresh JVM: same instance, wins
        assert engine.pid not in (None, pid) and info["engine_restarts"] == 1
        assert info["won"] and not info["infra_failure"]
    finally:
        env.close()


def test_hung_jvm_is_detected_by_the_deadline_and_replaced():
    env = make_env("sciworld", tasks=["find-plant"], admissible=False, call_timeout_s=3.0)
    try:
        env.reset(seed=0)
        pid = env.unwrapped.engine.pid
        os.kill(pid, signal.SIGSTOP)  # alive but silent: a hang
        start = time.monotonic()
        obs, reward, terminated, truncated, info = env.step("look around")
        assert time.monotonic() - start < 30
        assert terminated and info["infra_failure"] and "hung" in info["infra_error"]
        assert jvm_gone(pid)
        assert play_expert(env, seed=0)[0]["won"]
    finally:
        env.close()


def test_close_leaves_no_jvm_behind():
    env = make_env("sciworld", tasks=["find-plant"], admissible=False, gold_path=False)
    env.reset(seed=0)
    pid = env.unwrapped.engine.pid
    env.close()
    assert jvm_gone(pid)


def test_an_engines_heap_is_bounded():
    # a study evaluates with 16 engines at once; under Java's default limit (a quarter of the
    # machine's memory) their heaps grew to 0.7-1.05 GB each and the machine ran out
    env = make_env("sciworld", tasks=["find-plant"], admissible=False, gold_path=False)
    try:
        env.reset(seed=0)
        jvm = env.unwrapped.engine._handles["gateway"].jvm
        assert jvm.java.lang.Runtime.getRuntime().maxMemory() <= 256 * 2**20
    finally:
        env.close()


@pytest.mark.parametrize("how", ["sigkill", "exit-without-close"])
def test_no_jvm_survives_its_python_process(how):
    script = textwrap.dedent("""
        import sys, time
        from gentax.envs import make_env
        env = make_env("sciworld", tasks=["find-plant"], admissible=False, gold_path=False)
        env.reset(seed=0)
        print(env.unwrapped.engine.pid, flush=True)
        if sys.argv[1] == "sigkill":
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, how], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(proc.stdout.readline())
        assert not jvm_gone(pid, wait_s=0.5) or how != "sigkill"
        if how == "sigkill":
            proc.kill()
        proc.wait(timeout=60)
        assert jvm_gone(pid, wait_s=30, orphan=True)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def gentax_cli(*args, stdin=None):
    """The `gentax` command, in-process (typer's CliRunner on the same app)."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from gentax.cli import app

    out = CliRunner().invoke(app, list(args), input=stdin)
    return SimpleNamespace(returncode=out.exit_code, stdout=out.output, stderr=out.output)


def test_cli_rollout_expert_and_random_through_the_registry(tmp_path):
    out = gentax_cli("envs", "--json")
    rows = {r["domain"]: r for r in json.loads(out.stdout)}
    assert rows["sciworld"]["ready"] and rows["sciworld"]["max_steps"] == 50
    path = tmp_path / "sciworld.jsonl"
    out = gentax_cli("rollout", "sciworld", "--policy", "expert", "--episodes", "2", "--seed", "6",
                     "--out", str(path), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["success"] == 1.0 and summary["episodes"] == 2 and summary["mean_observation_chars"] > 20
    assert path.read_text().count("\n") == 2
    out = gentax_cli("rollout", "sciworld", "--policy", "random", "--episodes", "2", "--max-steps", "4",
                     "--json")
    assert out.returncode == 0, out.stderr
    random_play = json.loads(out.stdout)
    assert random_play["episodes"] == 2 and random_play["success"] == 0
    assert 1 <= random_play["mean_length"] <= 4


def test_cli_play_takes_a_persons_actions_until_the_win(expert_env):
    expert_env.reset(seed=11)
    gold = expert_env.unwrapped.gold
    out = gentax_cli("play", "sciworld", "--seed", "11", stdin="dance\n" + "\n".join(gold) + "\n")
    assert out.returncode == 0, out.stderr
    assert "invalid action" in out.stdout and "You won" in out.stdout
