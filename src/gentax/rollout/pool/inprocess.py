"""The in-process pool's single "worker": envs live in the caller's process, as they always did."""

from __future__ import annotations

from gentax.rollout.pool.host import EnvHost


class InProcessWorkers:
    """One EnvHost in this process: a finished episode's env is kept for the next episode of the
    same kind (an engine such as ScienceWorld's JVM starts once, not per episode), errors are
    raised where they happen. Nothing here can die on its own, so there is nothing to restart."""

    kind = "inprocess"

    def __init__(self) -> None:
        self.size = 1
        self.host = EnvHost(catch=False)

    def send(self, batches: dict[int, list[tuple[str, tuple]]]) -> dict[int, list]:
        return {index: self.host.batch(calls) for index, calls in batches.items()}

    def restart(self, index: int) -> None:  # pragma: no cover - never lost
        raise RuntimeError("the in-process env host cannot be restarted")

    def close(self) -> None:
        self.host.close()
