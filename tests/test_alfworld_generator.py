"""ALFWorld game generation: floor plans per task type, disjoint splits, reproducible games,
ALFWorld's phrasing, and the expert patch. Pure Python (no engine run), so these are fast."""

import json
import re

import pytest

pytest.importorskip("alfworld")

from gentax.envs.alfworld.expert import PatchedHandCodedExpert, tracking_command  # noqa: E402
from gentax.envs.alfworld.generator import (  # noqa: E402
    APPLIANCE,
    fix_pddl_str_chars,
    game_file,
    generate,
    problem_pddl,
    task_description,
    task_floor_plans,
)
from gentax.envs.alfworld.scenes import TASK_TYPES, room_type, split_floor_plans  # noqa: E402


def test_train_and_eval_floor_plans_are_disjoint_for_every_task_type():
    assert not set(split_floor_plans("train")) & set(split_floor_plans("eval"))
    for task_type in TASK_TYPES:
        train, evaluation = task_floor_plans(task_type, "train"), task_floor_plans(task_type, "eval")
        assert train and evaluation, task_type
        assert not set(train) & set(evaluation)


def test_floor_plans_are_chosen_per_task_type():
    # Heat and cool need a kitchen's microwave / fridge; lamps are in living rooms and bedrooms.
    for task_type in ("pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep"):
        assert {room_type(fp) for fp in task_floor_plans(task_type, "train")} == {"Kitchen"}
    lamp_rooms = {room_type(fp) for fp in task_floor_plans("look_at_obj_in_light", "train")}
    assert lamp_rooms <= {"LivingRoom", "Bedroom"}
    assert "Bathroom" in {room_type(fp) for fp in task_floor_plans("pick_clean_then_place_in_recep", "train")}


@pytest.mark.parametrize("task_type", TASK_TYPES)
@pytest.mark.parametrize("split", ["train", "eval"])
def test_every_task_is_well_posed(task_type, split):
    for seed in range(8):
        scene, task = generate(seed, split, task_type)
        assert scene.floor_plan in task_floor_plans(task_type, split)
        targets = [o for o in scene.objects if o.cls == task.object_target]
        assert targets, "the object to find is in the scene"
        if task_type == "look_at_obj_in_light":
            lamp = next(o for o in scene.objects if o.cls == task.toggle_target)
            assert scene.receptacle_of(lamp), "a lamp stands in some receptacle (toggling needs it)"
            continue
        assert task.parent_target in scene.receptacle_classes()
        assert task.parent_target != APPLIANCE.get(task_type)
        # Not satisfied at the start: no target object begins in the destination class.
        assert all(scene.receptacle_of(o).cls != task.parent_target for o in targets)
        if task_type == "pick_two_obj_and_place":
            assert len(targets) >= 2
        if task_type in APPLIANCE:
            assert APPLIANCE[task_type] in scene.receptacle_classes()


def test_same_seed_same_game_and_different_seeds_differ(tmp_path):
    a = problem_pddl(*generate(5, "train", "pick_and_place_simple"), "p")
    b = problem_pddl(*generate(5, "train", "pick_and_place_simple"), "p")
    c = problem_pddl(*generate(11, "train", "pick_and_place_simple"), "p")
    assert a == b and a != c
    first = game_file(3, "eval", "pick_cool_then_place_in_recep", tmp_path / "one", verify=False).read_text()
    second = game_file(3, "eval", "pick_cool_then_place_in_recep", tmp_path / "two", verify=False).read_text()
    assert first == second


def test_game_files_have_alfworld_layout(tmp_path):
    path = game_file(2, "train", "pick_clean_then_place_in_recep", tmp_path, verify=False)
    game = json.loads(path.read_text())
    traj = json.loads((path.parent / "traj_data.json").read_text())
    assert game["solvable"] is True and "(define (domain alfred)" in game["pddl_domain"]
    assert "UNKNOWN GOAL" not in game["grammar"]
    assert traj["task_type"] == "pick_clean_then_place_in_recep"
    assert set(traj["pddl_params"]) == {"object_target", "parent_target", "toggle_target", "mrecep_target",
                                        "object_sliced"}
    problem = game["pddl_problem"]
    assert "|" not in problem and "(canContain" in problem and "(atLocation agent1" in problem
    # Sinks are named so ALFWorld's demangler shows "sinkbasin N".
    assert re.search(r"Sink_bar_[^\s]*_bar_SinkBasin", problem)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_task_text_is_one_of_alfworlds_templates(task_type):
    import alfworld.gen.goal_library as glib

    _, task = generate(1, "train", task_type)
    text = task_description(task, seed=1)
    p = task.pddl_params()
    options = [t.format(obj=p["object_target"].lower(), recep=p["parent_target"].lower(),
                        toggle=p["toggle_target"].lower(), mrecep="")
               for t in glib.gdict[task_type]["templates"]]
    assert text in options


def test_pddl_escaping_matches_alfworld():
    escaped = "Apple_bar__plus_01_dot_00_bar__minus_02_dot_50 - object"
    assert fix_pddl_str_chars("Apple|+01.00|-02.50 # object") == escaped


def test_expert_patch_tracks_move_commands(tmp_path):
    """alfworld 0.4.2's expert only tracks "put": without the patch it keeps believing it holds the
    first object of pick_two and never finishes."""
    assert tracking_command("move apple 1 to countertop 2") == "put apple 1 in/on countertop 2"
    assert tracking_command("go to countertop 2") == "go to countertop 2"
    path = game_file(0, "train", "pick_two_obj_and_place", tmp_path, verify=False)
    expert = PatchedHandCodedExpert(str(path), seed=0)
    policy = expert.agent.policy
    target = json.loads((path.parent / "traj_data.json").read_text())["pddl_params"]["object_target"].lower()
    policy.inventory = [f"{target} 1"]
    state = {"feedback": f"You move the {target} 1 to the shelf 1.", "admissible_commands": [], "facts": []}
    policy.update_state_tracking(state, f"move {target} 1 to shelf 1")
    assert policy.inventory == [] and f"{target} 1" in policy.object_blacklist
