"""ALFWorld: reset and step cost of `gentax/ALFWorld-v0` against ALFWorld's own loading of the same
games, side by side in one run.

The peer is what `AlfredTWEnv.init_env` builds: `textworld.gym.register_games` with ALFWorld's
wrappers (AlfredDemangler, AlfredInfos) and its request infos, one game per env (synchronous, so no
inter-process hop is timed). Both play the same generated games (one per task type, eval split)
and the same commands (each game's stored expert walkthrough). Each side runs in its own process
so neither sees the other's imports or caches. First, ALFWorld's `AlfredTWEnv` game collection is
pointed at the games, to show it accepts them.
Run: `python bench/alfworld_overhead.py [--games 6] [--repeats 2]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def games_for_bench(cache: Path, n: int) -> list[str]:
    from gentax.envs.alfworld import ALFWorldEnv

    env = ALFWorldEnv("eval", cache_dir=cache)
    return [env.game_for(seed) for seed in range(n)]


def time_gentax(games: list[str], repeats: int) -> dict:
    from gentax.envs.alfworld import ALFWorldEnv
    from gentax.envs.alfworld.engine import make_engine

    make_engine().close()  # imports textworld / alfworld before timing, as the peer's imports are
    env = ALFWorldEnv("eval")
    resets, steps = [], []
    for _ in range(repeats):
        for seed, game in enumerate(games):
            walkthrough = json.loads(Path(game).read_text())["walkthrough"]
            env.game_for = lambda s, game=game: game  # the same file the peer plays
            start = time.perf_counter()
            env.reset(seed=seed)
            resets.append(time.perf_counter() - start)
            for command in walkthrough:
                start = time.perf_counter()
                _, _, terminated, _, info = env.step(command)
                steps.append(time.perf_counter() - start)
            assert info["won"], game
    return {"reset": resets, "step": steps}


def time_alfworld(games: list[str], repeats: int) -> dict:
    import textworld
    import textworld.gym
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos

    request_infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])
    resets, steps = [], []
    for _ in range(repeats):
        for game in games:
            walkthrough = json.loads(Path(game).read_text())["walkthrough"]
            start = time.perf_counter()
            env_id = textworld.gym.register_games([game], request_infos, batch_size=1, asynchronous=False,
                                                  max_episode_steps=50,
                                                  wrappers=[AlfredDemangler(shuffle=False), AlfredInfos])
            env = textworld.gym.make(env_id)
            env.reset()
            resets.append(time.perf_counter() - start)
            for command in walkthrough:
                start = time.perf_counter()
                _, _, dones, infos = env.step([command])
                steps.append(time.perf_counter() - start)
            assert infos["won"][0], game
            env.close()
    return {"reset": resets, "step": steps}


def alfredtwenv_collects(folder: Path) -> int:
    from alfworld.agents.environment.alfred_tw_env import AlfredTWEnv

    config = {"env": {"goal_desc_human_anns_prob": 0, "task_types": [1, 2, 3, 4, 5, 6]},
              "dataset": {"eval_ood_data_path": str(folder), "num_eval_games": -1}}
    with contextlib.redirect_stdout(sys.stderr):  # it prints its progress
        return AlfredTWEnv(config, train_eval="eval_out_of_distribution").num_games


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median_s": statistics.median(ordered), "p95_s": ordered[int(0.95 * (len(ordered) - 1))],
            "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", type=int, default=6, help="games (seed i plays task type i mod 6)")
    parser.add_argument("--repeats", type=int, default=2, help="plays of each game per side")
    parser.add_argument("--side", choices=["gentax", "alfworld"], help=argparse.SUPPRESS)
    parser.add_argument("--game-list", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.side:  # child process: time one side, print JSON
        games = json.loads(Path(args.game_list).read_text())
        timer = time_gentax if args.side == "gentax" else time_alfworld
        print(json.dumps(timer(games, args.repeats)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        games = games_for_bench(Path(tmp), args.games)
        collected = alfredtwenv_collects(Path(tmp))
        game_list = Path(tmp) / "games.json"
        game_list.write_text(json.dumps(games))
        results = {side: {"reset": [], "step": []} for side in ("alfworld", "gentax")}
        for repeat in range(args.repeats):  # alternate the order: the machine's load drifts
            for side in ("alfworld", "gentax") if repeat % 2 == 0 else ("gentax", "alfworld"):
                out = subprocess.run([sys.executable, __file__, "--side", side, "--game-list", str(game_list),
                                      "--repeats", "1"], capture_output=True, text=True, check=True)
                for what, times in json.loads(out.stdout.strip().splitlines()[-1]).items():
                    results[side][what] += times
    report = {"games": len(games), "alfredtwenv_collected": collected, "repeats": args.repeats}
    for what in ("reset", "step"):
        ours, theirs = summary(results["gentax"][what]), summary(results["alfworld"][what])
        report[what] = {"gentax": ours, "alfworld": theirs,
                        "ratio_gentax_over_alfworld": ours["median_s"] / theirs["median_s"]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
