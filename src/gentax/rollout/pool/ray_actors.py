"""Env workers as Ray actors: the same EnvHost, placed by Ray on any node of a cluster.

`address=None` starts (or joins) a local Ray session; "auto" joins the cluster of `ray start`
on this node; "ray://host:10001" a remote one. Needs the `[ray]` extra."""

from __future__ import annotations

from typing import Any

from gentax.rollout.pool.host import EnvHost
from gentax.rollout.pool.processes import WorkerLost


class RayWorkers:
    """`size` actors (spread over the cluster's nodes); a lost one is replaced by `restart`."""

    kind = "ray"

    def __init__(self, size: int = 2, address: str | None = None, cpus_per_worker: float = 1.0,
                 timeout_s: float = 900.0):
        try:
            import ray
        except ImportError:
            raise RuntimeError("env_pool 'ray' needs Ray: pip install 'gentax[ray]'") from None
        if size < 1:
            raise ValueError(f"env workers must be >= 1, got {size}")
        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False)
        self.size = size
        self.timeout_s = timeout_s
        self.actor_class = ray.remote(EnvHost).options(
            num_cpus=cpus_per_worker, max_restarts=0, scheduling_strategy="SPREAD")
        self.actors: list[Any] = [self._spawn() for _ in range(size)]

    def _spawn(self) -> Any:
        return self.actor_class.remote(catch=True)

    def send(self, batches: dict[int, list[tuple[str, tuple]]]) -> dict[int, list | WorkerLost]:
        ray = self.ray
        refs = {index: self.actors[index].batch.remote(calls) for index, calls in batches.items()}
        out: dict[int, list | WorkerLost] = {}
        for index, ref in refs.items():
            try:
                out[index] = ray.get(ref, timeout=self.timeout_s)
            except ray.exceptions.GetTimeoutError:
                ray.kill(self.actors[index])
                out[index] = WorkerLost(f"env actor {index} did not answer in {self.timeout_s:g} s")
            except ray.exceptions.RayActorError as e:
                out[index] = WorkerLost(f"env actor {index} died: {type(e).__name__}")
        return out

    def pid(self, index: int) -> int:
        return self.ray.get(self.actors[index].pid.remote())

    def restart(self, index: int) -> None:
        self.ray.kill(self.actors[index], no_restart=True)
        self.actors[index] = self._spawn()

    def close(self) -> None:
        for actor in self.actors:
            try:
                self.ray.get(actor.close.remote(), timeout=60)
            except Exception:  # noqa: BLE001 - a dead actor has nothing left to close
                pass
            self.ray.kill(actor, no_restart=True)
