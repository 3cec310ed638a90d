"""Sokoban instance generation: gentax against gym-sokoban's generator, side by side in one run.

Both make 6x6 rooms with one box by reverse play. gym-sokoban's `room_utils.generate_room` is
loaded straight from the installed wheel (its package __init__ needs the old `gym`, the
generator itself only numpy), with the room size and walk length its own SokobanEnv uses.
Run: `make bench` (installs gym-sokoban with --no-deps), or `python bench/sokoban_generation.py`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

from gentax.envs.sokoban import SokobanEnv, generate_room


def load_gym_sokoban_generator():
    spec = importlib.util.find_spec("gym_sokoban")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("gym-sokoban is not installed: pip install --no-deps gym-sokoban==0.0.6")
    path = Path(list(spec.submodule_search_locations)[0]) / "envs" / "room_utils.py"
    module_spec = importlib.util.spec_from_file_location("gym_sokoban_room_utils", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.generate_room


def rate(make_one, seconds: float) -> tuple[float, int]:
    """Rooms per second over about `seconds` of wall time."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        make_one(n)
        n += 1
    return n / (time.perf_counter() - start), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="time budget per contender")
    args = parser.parse_args()

    peer_generate = load_gym_sokoban_generator()
    dim = (6, 6)

    def peer(i: int) -> None:
        random.seed(i)
        np.random.seed(i)
        try:  # gym-sokoban raises when its search finds no solvable start; a retry is part of its cost
            peer_generate(dim=dim, num_steps=int(1.7 * sum(dim)), num_boxes=1)
        except (RuntimeError, RuntimeWarning):
            pass

    def ours_generator(i: int) -> None:
        generate_room(np.random.default_rng(i), *dim, num_boxes=1)

    env = SokobanEnv()

    def ours_reset(i: int) -> None:
        env.reset(seed=i)

    results = {}
    for name, fn in [("gym-sokoban generate_room", peer), ("gentax generate_room", ours_generator),
                     ("gentax SokobanEnv.reset", ours_reset)]:
        per_s, n = rate(fn, args.seconds)
        results[name] = {"rooms_per_s": round(per_s, 1), "rooms": n}
        print(f"{name:28s} {per_s:10.1f} rooms/s  ({n} rooms)")
    base = results["gym-sokoban generate_room"]["rooms_per_s"]
    for name in ("gentax generate_room", "gentax SokobanEnv.reset"):
        results[name]["ratio_vs_gym_sokoban"] = round(results[name]["rooms_per_s"] / base, 1)
        print(f"{name} is {results[name]['ratio_vs_gym_sokoban']}x gym-sokoban")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
