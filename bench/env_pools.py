"""Env worker pools: episodes per second of the expert through each pool kind, side by side in
one run: in-process (the default: envs in this process, stepped one after another), 2 local
worker processes, and 2 Ray actors (local Ray).

Each pool first plays a warm-up round (engines start, ALFWorld games are generated into a shared
cache), then the timed round: the same instances again, all episodes live at once, every step of
every episode sent to the workers in one batch per worker. Startup (spawning workers, starting
Ray) is reported apart. Ratios are against in-process on the same domain.
Run: `python bench/env_pools.py [--episodes 4] [--domains sciworld,alfworld]`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from gentax.envs import DOMAINS
from gentax.rollout.pool import EnvSpec, make_pool, play_batched

# Short-gold ScienceWorld task types (the full list has gold paths of 100+ steps); eval split.
SCIWORLD_TASKS = ["find-plant", "find-animal", "lifespan-longest-lived",
                  "chemistry-mix-paint-secondary-color"]
POOLS = (("inprocess", 1), ("process", 2), ("ray", 2))


def spec_for(domain: str, cache: str) -> EnvSpec:
    kwargs = {"sciworld": {"tasks": SCIWORLD_TASKS}, "alfworld": {"cache_dir": cache}}.get(domain, {})
    return EnvSpec(domain, split="eval", env_kwargs=kwargs)


def measure(kind: str, workers: int, spec: EnvSpec, seeds: list[int]) -> dict:
    t0 = time.perf_counter()
    pool = make_pool(kind, workers=workers)
    startup = time.perf_counter() - t0
    try:
        play_batched(pool, spec, seeds, "expert")  # warm-up: engines up, games cached
        t0 = time.perf_counter()
        played = play_batched(pool, spec, seeds, "expert")
        wall = time.perf_counter() - t0
    finally:
        pool.close()
    steps = sum(e.length for e in played)
    return {"pool": f"{kind} x{workers}" if kind != "inprocess" else kind, "startup_s": startup,
            "wall_s": wall, "episodes": len(played), "steps": steps, "won": sum(e.won for e in played),
            "episodes_per_s": len(played) / wall, "steps_per_s": steps / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--domains", default="sciworld,alfworld")
    args = parser.parse_args()
    import ray

    ray_error = None
    for _ in range(3):  # Ray gives its node 30 s to start: not always enough on a busy CPU
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # this machine's 2 CPUs
            break
        except Exception as e:  # noqa: BLE001 - "node timed out during startup": try again
            ray.shutdown()
            ray_error = f"{type(e).__name__}: {e}"
    pools = POOLS if ray.is_initialized() else POOLS[:2]
    if not ray.is_initialized():
        print(f"ray: not measured, it did not start in 3 attempts ({ray_error})")
    results = []
    with tempfile.TemporaryDirectory() as cache:
        for domain in args.domains.split(","):
            if DOMAINS[domain].problems():
                print(f"{domain}: skipped ({'; '.join(DOMAINS[domain].problems())})")
                continue
            spec, seeds = spec_for(domain, cache), list(range(args.episodes))
            rows = [measure(kind, workers, spec, seeds) for kind, workers in pools]
            base = rows[0]["episodes_per_s"]
            print(f"\n{domain}: expert, {args.episodes} episodes, all live at once")
            print(f"{'pool':<12}{'startup s':>10}{'wall s':>9}{'steps':>7}{'won':>5}{'episodes/s':>12}"
                  f"{'steps/s':>9}{'vs inprocess':>14}")
            for r in rows:
                r.update(domain=domain, ratio=r["episodes_per_s"] / base)
                print(f"{r['pool']:<12}{r['startup_s']:>10.1f}{r['wall_s']:>9.1f}{r['steps']:>7}{r['won']:>5}"
                      f"{r['episodes_per_s']:>12.3f}{r['steps_per_s']:>9.1f}{r['ratio']:>13.2f}x")
            results.extend(rows)
    ray.shutdown()
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
