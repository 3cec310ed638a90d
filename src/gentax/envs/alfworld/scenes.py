"""ALFRED scenes rebuilt from the floor-plan layouts that ship in the `alfworld` wheel.

A floor plan gives the receptacles (ids and navigation points in `-openable.json`), the object
classes present (`-objects.json`) and the reachable grid (`-layout.npy`). A scene places 1-3
instances of each object class in receptacles that may hold it (ALFRED's
`VAL_RECEPTACLE_OBJECTS`), gives every receptacle its own location (ALFWorld's hand-coded expert
gets confused by "You are facing the shelf 4, shelf 3, and shelf 2") and starts the agent in the
middle of the room.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

# Task types, in ALFWorld's numbering order (alfworld.agents.environment.alfred_tw_env.TASK_TYPES).
TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)
LAMPS = ("DeskLamp", "FloorLamp")
# Where a lamp stands: nothing "can contain" a lamp in ALFRED, but toggling one needs it to be in
# some receptacle (the domain's ToggleObject precondition), so it is put on a piece of furniture.
LAMP_HOSTS = ("Desk", "SideTable", "Dresser", "Shelf", "DiningTable", "CoffeeTable", "TVStand", "Ottoman",
              "Cart")
MAX_INSTANCES = 3  # ALFRED's MAX_NUM_OF_OBJ_INSTANCES


def _constants():
    import alfworld.gen.constants as constants  # lazy: the alfworld wheel is an optional engine

    return constants


def layouts_dir() -> Path:
    import alfworld.gen

    return Path(alfworld.gen.__file__).parent / "layouts"


def floor_plans() -> list[int]:
    """Every floor plan whose layout ships in the wheel (ALFRED's 120 scenes)."""
    names = (p.name for p in layouts_dir().glob("*-objects.json"))
    return sorted(int(n[len("FloorPlan"):-len("-objects.json")]) for n in names)


def split_floor_plans(split: str) -> list[int]:
    """ALFRED's own scene split: 7-30 of each room type train, 1-6 held out (the unseen split)."""
    c = _constants()
    numbers = c.TRAIN_SCENE_NUMBERS if split == "train" else c.TEST_SCENE_NUMBERS
    shipped = set(floor_plans())
    return sorted(n for n in numbers if n in shipped)


def room_type(floor_plan: int) -> str:
    for name, numbers in _constants().SCENE_TYPE.items():
        if floor_plan in numbers:
            return name
    raise ValueError(f"FloorPlan{floor_plan} is not an ALFRED scene")


@dataclass
class Receptacle:
    id: str  # THOR-style id, e.g. "Cabinet|+00.68|+00.50|-02.20" or "Sink|-01.90|+00.97|-01.50|SinkBasin"
    cls: str  # receptacle class, e.g. "Cabinet", "SinkBasin"
    location: str  # a location of its own


@dataclass
class Obj:
    id: str
    cls: str
    receptacle: str  # id of the receptacle it starts in


@dataclass
class Scene:
    floor_plan: int
    receptacles: list[Receptacle]
    objects: list[Obj] = field(default_factory=list)
    agent_location: str = "loc|start"

    def receptacle_classes(self) -> set[str]:
        return {r.cls for r in self.receptacles}

    def object_classes(self) -> set[str]:
        return {o.cls for o in self.objects}

    def receptacle_of(self, obj: Obj) -> Receptacle:
        return next(r for r in self.receptacles if r.id == obj.receptacle)


@cache
def _layout(floor_plan: int) -> tuple[tuple[str, ...], dict[str, list[float]], np.ndarray]:
    base = layouts_dir() / f"FloorPlan{floor_plan}"
    if not (base.parent / f"FloorPlan{floor_plan}-objects.json").exists():
        raise ValueError(f"no layout for FloorPlan{floor_plan} in the alfworld wheel")
    objects = tuple(json.loads(Path(f"{base}-objects.json").read_text()))
    points = json.loads(Path(f"{base}-openable.json").read_text())
    grid = np.load(f"{base}-layout.npy")
    return objects, points, grid


def receptacle_class(thor_id: str) -> str:
    """The receptacle class of a THOR id: sinks and bathtubs are used through their basins."""
    head = thor_id.split("|", 1)[0]
    return {"Sink": "SinkBasin", "Bathtub": "BathtubBasin"}.get(head, head)


def _thor_id(cls: str, x: float, y: float, z: float) -> str:
    return f"{cls}|{x:+06.2f}|{y:+06.2f}|{z:+06.2f}"


def _location(x: float, z: float, rotation: float, horizon: float, taken: set[str]) -> str:
    """A location name in ALFRED's `loc|x|z|rotation|horizon` style (grid units), unique in the scene."""
    gx, gz, rot, hor = int(round(x / 0.25)), int(round(z / 0.25)), int(rotation), int(horizon)
    name = f"loc|{gx}|{gz}|{rot}|{hor}"
    while name in taken:  # one location per receptacle: nudge the rotation label
        rot += 1
        name = f"loc|{gx}|{gz}|{rot}|{hor}"
    taken.add(name)
    return name


def build_scene(floor_plan: int, rng: np.random.Generator) -> Scene:
    """Receptacles of the floor plan and a random placement of its objects."""
    c = _constants()
    classes, points, grid = _layout(floor_plan)
    static = set(c.RECEPTACLES) - set(c.MOVABLE_RECEPTACLES)
    taken: set[str] = set()
    receptacles = []
    for thor_id, (x, z, rotation, horizon) in sorted(points.items()):
        cls = receptacle_class(thor_id)
        if cls in static:
            receptacles.append(Receptacle(thor_id, cls, _location(x, z, rotation, horizon, taken)))
    # Receptacle classes the scene has but `-openable.json` lacks (stove burners, toasters, ...):
    # made-up ids at reachable grid points.
    present = {r.cls for r in receptacles}
    missing = sorted({cls for cls in classes if cls in static} - present - {"Sink", "Bathtub"})
    for cls in missing:
        count = int(rng.integers(2, 5)) if cls == "StoveBurner" else 1
        for _ in range(count):
            x, z = (float(v) for v in grid[int(rng.integers(len(grid)))])
            thor_id = _thor_id(cls, x, 0.9 + 0.01 * len(receptacles), z)
            receptacles.append(Receptacle(thor_id, cls, _location(x, z, 0, 30, taken)))
    scene = Scene(floor_plan, receptacles)

    # Objects: every pickupable class of the floor plan (and its lamps), 1-3 instances each.
    for cls in sorted(set(classes) & set(c.OBJECTS)):
        if cls in static:
            continue
        if cls in LAMPS:
            hosts = [r for r in receptacles if r.cls in LAMP_HOSTS]
            count = 1
        else:
            hosts = [r for r in receptacles if cls in c.VAL_RECEPTACLE_OBJECTS.get(r.cls, ())]
            count = int(rng.integers(1, MAX_INSTANCES + 1))
        if hosts:
            for _ in range(count):
                place_object(scene, cls, hosts[int(rng.integers(len(hosts)))])
    return scene


def place_object(scene: Scene, cls: str, receptacle: Receptacle) -> Obj:
    """Add one instance of `cls` in `receptacle`, with a THOR-style id unique in the scene."""
    k = len(scene.objects)
    parts = receptacle.id.split("|")
    x, y, z = (float(v) for v in parts[1:4])
    obj = Obj(_thor_id(cls, x + 0.01 * (k % 50), y + 0.05, z - 0.01 * (k // 50)), cls, receptacle.id)
    scene.objects.append(obj)
    return obj
