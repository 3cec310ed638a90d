"""Per-domain distractor injectors, following PAPER.md.

An injector is `(observation, unwrapped_env, rng, eps) -> augmented observation`. It may read
the env to stay clear of real objects and reachable cells, and must never change the env.
What eps means, per domain:
  sokoban   max(1, floor(eps / 10)) lines "(r, c) shows a <obj> (<desc>; unreachable)", with
            coordinates outside the room, at random line positions (paper: eps = 80).
  cross     a description of another domain's state ("There is a monitor showing a shopping
            webpage: ..."), about eps characters of it (whole lines), at a random line position.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Injector = Callable[[str, object, np.random.Generator, float], str]


def _insert_lines(lines: list[str], extra: list[str], rng: np.random.Generator) -> list[str]:
    """Insert each extra line at a random position (order of the original lines kept)."""
    out = list(lines)
    for line in extra:
        out.insert(int(rng.integers(0, len(out) + 1)), line)
    return out


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


# ----- Sokoban --------------------------------------------------------------------------
SOKOBAN_OBJECTS = ("broken crate", "sealed door", "pile of rubble", "rusty barrel", "cracked pillar",
                   "locked chest", "collapsed shelf", "stack of planks", "iron grate", "dusty statue")
SOKOBAN_DESCRIPTORS = ("outside the room", "beyond the wall", "behind iron bars", "across a chasm",
                       "sealed off", "out of reach")


def _outside_cell(rng: np.random.Generator, rows: int, cols: int) -> tuple[int, int]:
    """A coordinate outside the rows x cols grid (so never a cell anyone can reach)."""
    side = int(rng.integers(4))
    along_r, along_c = int(rng.integers(-2, rows + 2)), int(rng.integers(-2, cols + 2))
    if side == 0:
        return int(rng.integers(-3, 0)), along_c
    if side == 1:
        return rows + int(rng.integers(0, 3)), along_c
    if side == 2:
        return along_r, int(rng.integers(-3, 0))
    return along_r, cols + int(rng.integers(0, 3))


def sokoban(obs: str, env, rng: np.random.Generator, eps: float) -> str:
    rows, cols = env.size
    extra = []
    for _ in range(max(1, int(eps // 10))):
        r, c = _outside_cell(rng, rows, cols)
        extra.append(f"({r}, {c}) shows a {_pick(rng, SOKOBAN_OBJECTS)} "
                     f"({_pick(rng, SOKOBAN_DESCRIPTORS)}; unreachable)")
    return "\n".join(_insert_lines(obs.splitlines(), extra, rng))


DOMAIN_INJECTORS: dict[str, Injector] = {"sokoban": sokoban}


def for_domain(domain: str) -> Injector:
    if domain not in DOMAIN_INJECTORS:
        raise ValueError(f"no distractor injector for domain {domain!r}; have {sorted(DOMAIN_INJECTORS)}")
    return DOMAIN_INJECTORS[domain]


# ----- Cross-domain ---------------------------------------------------------------------
# How a foreign state shows up in the scene; the first ready source that is not the target wins.
CROSS_FRAMES = {
    "webshop": "There is a monitor showing a shopping webpage:",
    "sokoban": "There is a poster on the wall with a puzzle grid listed on it:",
}


def cross_domain(target: str) -> Injector:
    """Show a real state of another domain (one instance per trajectory, drawn by the rng)."""
    from gentax.envs import DOMAINS, make_env

    sources = [d for d in CROSS_FRAMES if d in DOMAINS and not DOMAINS[d].problems()]
    source = next((d for d in sources if d != target), sources[-1])
    source_env = make_env(source, split="eval")
    current: dict[str, object] = {"rng": None, "text": ""}

    def inject(obs: str, env, rng: np.random.Generator, eps: float) -> str:
        # The wrapper makes a new rng per trajectory: one foreign state per trajectory.
        if current["rng"] is not rng:
            foreign, _ = source_env.reset(seed=int(rng.integers(0, 2**31 - 1)))
            shown, size = [], 0
            for line in foreign.splitlines():
                if size + len(line) > eps and shown:
                    break
                shown.append(line)
                size += len(line) + 1
            current.update(rng=rng, text=CROSS_FRAMES[source] + " " + " | ".join(shown))
        return "\n".join(_insert_lines(obs.splitlines(), [str(current["text"])], rng))

    return inject
