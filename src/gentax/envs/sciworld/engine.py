"""One ScienceWorld JVM, reused across episodes, with a deadline on every call.

The engine is the `scienceworld` wheel's jar, driven through py4j. The JVM is a separate
process that can die or hang, so every call runs on a helper thread with a deadline: past it
(or on a broken connection) the JVM is killed, reaped, and `EngineFailure` is raised; the next
call starts a fresh JVM. No JVM outlives its owner: `close()` and a finalizer kill and reap it,
and the JVM is launched with py4j's die-on-exit, so it quits by itself when this Python process
dies (even by SIGKILL), because its stdin pipe closes.
"""

from __future__ import annotations

import logging
import subprocess
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

T = TypeVar("T")


class _DropPy4JTracebacks(logging.Filter):
    """py4j logs a traceback (partly through the root logger) for every call to a JVM that is
    gone. Here that is expected, and reported as `EngineFailure` instead; worse, formatting those
    tracebacks from a helper thread or a garbage-collection callback runs `ast.parse`, which
    CPython 3.11 before 3.11.9 does not survive concurrently ("AST constructor recursion depth
    mismatch")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "py4j" not in record.pathname


for _name in ("", "py4j.java_gateway", "py4j.clientserver"):
    logging.getLogger(_name).addFilter(_DropPy4JTracebacks())


# Java's default heap limit is a quarter of the machine's memory, and its collector grows the heap
# toward it rather than collect: the 16 engines of a study's evaluation held 10.7 GB (0.7-1.05 GB
# each) while one engine's live objects after a full collection were 15 MB. 256 MB is ample room
# and keeps 16 engines under ~5 GB.
JVM_OPTIONS = ("-Xmx256m",)


class EngineFailure(RuntimeError):
    """The JVM died, hung past its deadline or broke the connection (infrastructure, not policy)."""


def _release(handles: dict[str, Any]) -> None:
    """Disconnect py4j, then kill and reap the JVM (no zombie left behind)."""
    gateway, proc = handles.pop("gateway", None), handles.pop("proc", None)
    if gateway is not None:
        try:  # first, so that py4j's object finalizers stop calling a JVM about to die
            gateway._gateway_client.is_connected = False  # py4j's close() leaves it True
            gateway.close(keep_callback_server=False)
        except Exception:  # noqa: BLE001 - the other side may already be gone
            pass
    if proc is None:
        return
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - a kill -9 that does not land
        pass
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass


class Engine:
    """A ScienceWorld JVM (started lazily) plus its py4j gateway."""

    def __init__(self, call_timeout_s: float = 60.0, start_timeout_s: float = 120.0):
        if call_timeout_s <= 0 or start_timeout_s <= 0:
            raise ValueError("engine timeouts must be positive")
        self.call_timeout_s = call_timeout_s
        self.start_timeout_s = start_timeout_s
        self.restarts = 0  # JVMs started after the first one (each follows a failure)
        self._starts = 0
        self._handles: dict[str, Any] = {}  # "proc" and "gateway" of the running JVM
        self.server: Any = None  # scienceworld.runtime.pythonapi.PythonInterface, in the JVM
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sciworld-engine")
        # Kill the JVM when this object is collected or the interpreter exits.
        self._finalizer = weakref.finalize(self, Engine._shutdown, self._handles, self._worker)

    # ----- life cycle ---------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The JVM's process id (None when no JVM is running)."""
        proc = self._handles.get("proc")
        return proc.pid if proc is not None and proc.poll() is None else None

    def _start(self) -> None:
        from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway
        from scienceworld.constants import BASEPATH, JAR_PATH

        port, proc = launch_gateway(classpath=JAR_PATH, die_on_exit=True, cwd=BASEPATH, return_proc=True,
                                    javaopts=list(JVM_OPTIONS))
        self._handles["proc"] = proc
        gateway = JavaGateway(gateway_parameters=GatewayParameters(auto_field=True, port=port),
                              java_process=proc)
        self._handles["gateway"] = gateway
        self.server = gateway.jvm.scienceworld.runtime.pythonapi.PythonInterface()
        self._starts += 1
        self.restarts = max(self._starts - 1, 0)

    def kill(self) -> None:
        """Kill the JVM now (the next call starts a new one)."""
        self.server = None
        _release(self._handles)

    def close(self) -> None:
        """Stop the JVM (it keeps no state worth a graceful exit) and the helper thread."""
        self.kill()
        self._finalizer.detach()
        self._worker.shutdown(wait=False)

    @staticmethod
    def _shutdown(handles: dict[str, Any], worker: ThreadPoolExecutor) -> None:
        _release(handles)
        worker.shutdown(wait=False)

    # ----- calls --------------------------------------------------------------------------
    def call(self, fn: Callable[[Any], T], timeout_s: float | None = None) -> T:
        """Run `fn(server)` against the JVM within `timeout_s` (default `call_timeout_s`).

        Starts the JVM first if none is running. On a deadline miss or a broken / dead JVM the
        JVM is killed and `EngineFailure` raised."""
        with self._lock:
            if self.server is not None and self.pid is None:  # died since the last call
                self.kill()
                raise EngineFailure("ScienceWorld JVM dead before a call")
            if self.server is None:
                self._timed(lambda: self._start(), self.start_timeout_s, "starting the JVM")
            server = self.server
            return self._timed(lambda: fn(server), timeout_s or self.call_timeout_s, "a call")

    def _timed(self, fn: Callable[[], T], timeout_s: float, what: str) -> T:
        future = self._worker.submit(fn)
        try:
            return future.result(timeout=timeout_s)
        except FutureTimeout:
            self.kill()  # unblocks the helper thread: its socket closes with the JVM
            raise EngineFailure(f"ScienceWorld JVM hung: {what} took over {timeout_s:.0f}s") from None
        except Exception as e:  # noqa: BLE001 - py4j raises many kinds on a dead JVM
            alive = self.pid is not None
            self.kill()
            state = "alive but failing" if alive else "dead"
            raise EngineFailure(f"ScienceWorld JVM {state} during {what}: {type(e).__name__}: {e}") from e
