"""ScienceWorld: the gentax wrapper's cost per reset and per step against the raw `scienceworld`
API, side by side in one run (interleaved, same instances, same gold actions, one JVM each).

Raw = `scienceworld.ScienceWorldEnv`: `load(task, variation, generateGoldPath=True)` + `reset()`
per episode, `step(action)` per step (its info includes the valid actions, as ours does).
gentax = `make_env("sciworld")` with pinned task / variation: `reset()` and `step(action)`,
the observation with the bounded admissible list; and once more with `admissible=False`.
Run: `python bench/sciworld_overhead.py [--tasks ...] [--repeats N]`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from scienceworld import ScienceWorldEnv

from gentax.envs import make_env

DEFAULT_TASKS = ["find-plant", "chemistry-mix-paint-secondary-color", "lifespan-longest-lived",
                 "test-conductivity", "use-thermometer"]


def time_episode(reset: Callable[[], object], step: Callable[[str], object], actions: list[str]
                 ) -> tuple[float, list[float]]:
    """Seconds for one `reset()`, then for each `step(action)` of `actions`."""
    start = time.perf_counter()
    reset()
    reset_s = time.perf_counter() - start
    steps = []
    for action in actions:
        start = time.perf_counter()
        step(action)
        steps.append(time.perf_counter() - start)
    return reset_s, steps


def time_raw(raw: ScienceWorldEnv, task: str, variation: int, actions: list[str]
             ) -> tuple[float, list[float]]:
    def reset() -> None:
        raw.load(task, variation, "", generateGoldPath=True)
        raw.reset()
    return time_episode(reset, raw.step, actions)


def time_gentax(env, task: str, variation: int, actions: list[str]) -> tuple[float, list[float]]:
    return time_episode(lambda: env.reset(seed=0, options={"task": task, "variation": variation}),
                        env.step, actions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=DEFAULT_TASKS)
    parser.add_argument("--repeats", type=int, default=2, help="episodes per task and contender")
    args = parser.parse_args()

    raw = ScienceWorldEnv("", envStepLimit=10_000)
    contenders = {"gentax": make_env("sciworld", max_steps=10_000),
                  "gentax (admissible=False)": make_env("sciworld", max_steps=10_000, admissible=False)}
    results: dict[str, dict[str, list[float]]] = {
        name: {"reset": [], "step": []} for name in ["raw scienceworld", *contenders]}
    try:
        for task in args.tasks:
            env = contenders["gentax"]
            env.reset(seed=0, options={"task": task})  # warm-up, and the instance + gold path to replay
            variation, gold = env.unwrapped.variation, []
            for action in env.unwrapped.gold:  # the gold actions up to the task's completion
                gold.append(action)
                if env.step(action)[2]:
                    break
            raw.load(task, variation, "", generateGoldPath=True)  # warm-up for the other JVMs
            for other in contenders.values():
                if other is not env:
                    other.reset(seed=0, options={"task": task, "variation": variation})
            for _ in range(args.repeats):
                timings = {"raw scienceworld": time_raw(raw, task, variation, gold)}
                for name, contender in contenders.items():
                    timings[name] = time_gentax(contender, task, variation, gold)
                for name, (reset_s, steps) in timings.items():
                    results[name]["reset"].append(reset_s)
                    results[name]["step"].extend(steps)
    finally:
        raw.close()
        for env in contenders.values():
            env.close()

    base = {k: sum(v) / len(v) for k, v in results["raw scienceworld"].items()}
    summary = {}
    print(f"{'contender':28s} {'reset ms':>10s} {'step ms':>10s} {'reset ratio':>12s} {'step ratio':>11s}")
    for name, r in results.items():
        reset_ms = 1000 * sum(r["reset"]) / len(r["reset"])
        step_ms = 1000 * sum(r["step"]) / len(r["step"])
        summary[name] = {"reset_ms": round(reset_ms, 1), "step_ms": round(step_ms, 2),
                         "resets": len(r["reset"]), "steps": len(r["step"]),
                         "reset_ratio_vs_raw": round(reset_ms / (1000 * base["reset"]), 3),
                         "step_ratio_vs_raw": round(step_ms / (1000 * base["step"]), 3)}
        s = summary[name]
        print(f"{name:28s} {reset_ms:10.1f} {step_ms:10.2f} {s['reset_ratio_vs_raw']:11.2f}x "
              f"{s['step_ratio_vs_raw']:10.2f}x")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
