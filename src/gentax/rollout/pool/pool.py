"""The env pool behind the rollout engine: episodes placed on workers, stepped in batches, and
survived when a worker dies.

A worker that dies (or hangs) mid-episode is replaced; each episode it held restarts from its
reset (same instance seed) on the new worker, once. An episode that loses its worker a second
time ends as an infrastructure failure (info["infra_failure"] = True, the convention of
ScienceWorld's own engine failures), so a run never crashes on a lost worker. Errors raised by
an env itself (bad options, bugs) are not infrastructure: they reach the caller as they are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gentax.rollout.pool.host import EnvSpec
from gentax.rollout.pool.processes import WorkerLost

POOL_KINDS = ("inprocess", "process", "ray")


@dataclass
class Outcome:
    """What an episode's env did: a step, a fresh start (after reset), or an infra failure.

    `restarted`: its worker was lost, the episode started over from reset; observation and info
    are the new reset's and the caller drops the steps it had recorded. `expert`: the expert's
    next action (when asked for)."""

    observation: str
    info: dict[str, Any]
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    expert: str | None = None
    restarted: bool = False


@dataclass
class _Slot:
    spec: EnvSpec
    seed: int
    worker: int
    expert: bool
    retries_left: int
    task: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class EnvPool:
    """Episodes ("slots") on the workers of one of the three backends (see make_pool)."""

    def __init__(self, workers: Any, retries: int = 1):
        self.workers = workers
        self.kind: str = workers.kind
        self.retries = retries
        self.slots: dict[int, _Slot] = {}
        self._next_slot = 0
        self.lost_workers = 0  # workers replaced so far (for logs and tests)

    # ----- the rollout engine's calls ----------------------------------------------------
    def start(self, spec: EnvSpec, seeds: Sequence[int], expert: bool = False) -> list[tuple[int, Outcome]]:
        """One new episode per seed, spread over the workers; returns (slot, outcome of reset)."""
        load = [0] * self.workers.size
        for s in self.slots.values():
            load[s.worker] += 1
        new = []
        for seed in seeds:
            worker = min(range(len(load)), key=load.__getitem__)
            load[worker] += 1
            slot = self._next_slot
            self._next_slot += 1
            self.slots[slot] = _Slot(spec, int(seed), worker, expert, self.retries)
            new.append(slot)
        try:
            results = self._run({slot: ("start", ()) for slot in new})
        except BaseException:
            self.release(new)  # an env that cannot be built or reset: leave no episode behind
            raise
        return [(slot, results[slot]) for slot in new]

    def step(self, actions: dict[int, str]) -> dict[int, Outcome]:
        """Apply one action per slot, all workers at once."""
        return self._run({slot: ("step", (action,)) for slot, action in actions.items()})

    def release(self, slots: Sequence[int]) -> None:
        """These episodes are over: their workers may reuse their envs."""
        batches: dict[int, list] = {}
        for slot in slots:
            s = self.slots.pop(slot, None)
            if s is not None:
                batches.setdefault(s.worker, []).append(("release", (slot,)))
        if batches:
            self.workers.send(batches)  # a worker lost here held nothing that still matters

    def close(self) -> None:
        self.slots.clear()
        self.workers.close()

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ----- batching and failure handling ---------------------------------------------------
    def _call(self, slot: int, method: str, args: tuple) -> tuple[str, tuple]:
        s = self.slots[slot]
        if method == "start":
            return "start", (slot, s.spec, s.seed, s.expert)
        return method, (slot, *args, s.expert)

    def _run(self, requests: dict[int, tuple[str, tuple]]) -> dict[int, Outcome]:
        batches: dict[int, list[int]] = {}
        # episodes whose worker was replaced while they were not being stepped: env gone
        restart = [slot for slot, (method, _) in requests.items()
                   if method != "start" and self.slots[slot].extra.get("lost")]
        for slot in requests:
            if slot not in restart:
                batches.setdefault(self.slots[slot].worker, []).append(slot)
        answers = self.workers.send(
            {w: [self._call(slot, *requests[slot]) for slot in slots] for w, slots in batches.items()})
        out: dict[int, Outcome] = {}
        for worker, slots in batches.items():
            answer = answers[worker]
            if isinstance(answer, WorkerLost):
                self._replace(worker, str(answer))
                restart.extend(slots)
                continue
            for slot, (status, value) in zip(slots, answer, strict=True):
                if status == "error":
                    raise value
                out[slot] = self._outcome(slot, requests[slot][0], value)
        if restart:
            out.update(self._restart(restart, first=[s for s in restart if requests[s][0] == "start"]))
        return out

    def _outcome(self, slot: int, method: str, value: tuple) -> Outcome:
        if method == "start":
            obs, info, expert = value
            self.slots[slot].task = info.get("task", "")
            return Outcome(obs, info, expert=expert)
        obs, reward, terminated, truncated, info, expert = value
        return Outcome(obs, info, reward, terminated, truncated, expert)

    def _replace(self, worker: int, reason: str) -> None:
        self.lost_workers += 1
        self.workers.restart(worker)
        # every episode that lived on it lost its env (also those not in the call that found out)
        for s in self.slots.values():
            if s.worker == worker:
                s.extra.update(lost=True, infra_error=reason)

    def _restart(self, slots: list[int], first: list[int]) -> dict[int, Outcome]:
        """Start these episodes over on live workers (once); the rest end as infra failures."""
        out: dict[int, Outcome] = {}
        retry = []
        for slot in slots:
            s = self.slots[slot]
            if s.retries_left > 0:
                s.retries_left -= 1
                retry.append(slot)
            else:
                out[slot] = self._failure(slot)
        if retry:
            for slot in retry:
                self.slots[slot].extra.pop("lost", None)
            started = self._run({slot: ("start", ()) for slot in retry})
            for slot in retry:
                outcome = started[slot]
                if outcome.info.get("infra_failure") or slot in first:
                    out[slot] = outcome  # a start that had to be retried is still just a start
                else:
                    outcome.restarted = True
                    outcome.info = {**outcome.info, "infra_retry": True}
                    out[slot] = outcome
        return out

    def _failure(self, slot: int) -> Outcome:
        s = self.slots[slot]
        info = {"task": s.task, "admissible_actions": [], "won": False, "invalid": False,
                "instance": s.seed, "split": s.spec.split, "infra_failure": True,
                "infra_error": s.extra.get("infra_error", "env worker lost")}
        return Outcome("", info, terminated=True)


def make_pool(kind: str = "inprocess", workers: int = 2, ray_address: str | None = None,
              retries: int = 1, **options: Any) -> EnvPool:
    """An env pool by name: "inprocess" (envs in this process, stepped one after another: the
    default), "process" (`workers` local processes) or "ray" (`workers` Ray actors; local Ray,
    or the cluster at `ray_address`, e.g. "auto")."""
    if kind == "inprocess":
        from gentax.rollout.pool.inprocess import InProcessWorkers

        return EnvPool(InProcessWorkers(), retries)
    if kind == "process":
        from gentax.rollout.pool.processes import ProcessWorkers

        return EnvPool(ProcessWorkers(workers, **options), retries)
    if kind == "ray":
        from gentax.rollout.pool.ray_actors import RayWorkers

        return EnvPool(RayWorkers(workers, address=ray_address, **options), retries)
    raise ValueError(f"unknown env pool {kind!r}; choose one of {', '.join(POOL_KINDS)}")
