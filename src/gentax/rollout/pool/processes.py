"""Env workers as local processes (multiprocessing, 'spawn': torch is loaded in the parent and
must not be forked). Each worker runs an EnvHost and answers one batch of calls per message."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.connection import Connection
from typing import Any

from gentax.rollout.pool.host import EnvHost


class WorkerLost(RuntimeError):
    """The worker died (or stopped answering) with episodes on it: infrastructure, not policy."""


def _serve(conn: Connection) -> None:
    """A worker's whole life: answer batches until told to stop or the parent goes away."""
    host = EnvHost(catch=True)
    try:
        while True:
            try:
                calls = conn.recv()
            except (EOFError, OSError):
                break
            if calls is None:
                break
            conn.send(host.batch(calls))
    finally:
        host.close()


class ProcessWorkers:
    """`size` worker processes; a lost one is replaced by `restart`."""

    kind = "process"

    def __init__(self, size: int = 2, timeout_s: float = 900.0, start_method: str = "spawn"):
        if size < 1:
            raise ValueError(f"env workers must be >= 1, got {size}")
        self.size = size
        self.timeout_s = timeout_s  # a batch not answered by then: the worker is killed as hung
        self.context = mp.get_context(start_method)
        self.procs: list[Any] = [None] * size
        self.conns: list[Connection | None] = [None] * size
        for index in range(size):
            self._spawn(index)

    def _spawn(self, index: int) -> None:
        parent, child = self.context.Pipe()
        proc = self.context.Process(target=_serve, args=(child,), daemon=True, name=f"gentax-env-{index}")
        proc.start()
        child.close()  # so that the worker's death closes the pipe (recv raises EOFError)
        self.procs[index], self.conns[index] = proc, parent

    def send(self, batches: dict[int, list[tuple[str, tuple]]]) -> dict[int, list | WorkerLost]:
        """Send every worker its batch first (they run in parallel), then collect the answers."""
        out: dict[int, list | WorkerLost] = {}
        for index, calls in batches.items():
            try:
                self.conns[index].send(calls)
            except (OSError, ValueError) as e:  # broken pipe: the worker is gone
                out[index] = WorkerLost(f"env worker {index} is gone ({e})")
        for index in batches:
            if index in out:
                continue
            conn = self.conns[index]
            try:
                if not conn.poll(self.timeout_s):
                    self.procs[index].kill()
                    out[index] = WorkerLost(f"env worker {index} did not answer in {self.timeout_s:g} s")
                    continue
                out[index] = conn.recv()
            except (EOFError, OSError) as e:
                code = self.procs[index].exitcode
                out[index] = WorkerLost(f"env worker {index} died (exit code {code}): {e!r}")
        return out

    def pid(self, index: int) -> int:
        return self.procs[index].pid

    def restart(self, index: int) -> None:
        proc, conn = self.procs[index], self.conns[index]
        conn.close()
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=30)
        self._spawn(index)

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
        for proc, conn in zip(self.procs, self.conns, strict=True):
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=10)
            conn.close()
