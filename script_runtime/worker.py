"""The worker process: hardens itself, then serves requests from its parent over two pipes.

Started by `ScriptPool` as `python -I -B -c BOOTSTRAP <path> <fd_in> <fd_out>`; it never runs in the
caller's process. One request at a time; a crash, a CPU signal or a kill only costs this process.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import resource
import sys

from script_runtime import framing
from script_runtime.executor import Executor
from script_runtime.host_limits import HostLimitError, check_address_space
from script_runtime.policy import Policy
from script_runtime.replies import problem_list

BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from script_runtime.worker import main; main(int(sys.argv[2]), int(sys.argv[3]))"
)
EXIT_OUT_OF_MEMORY = 3
EXIT_START_FAILED = 4
WORKER_NICENESS = 10  # added to the parent's nice value: scripts yield the CPU to requests
_REQUEST_BYTES = 1 << 31  # requests come from the trusted parent; its own checks bound them


def _harden() -> None:
    """No core dumps, no files written, no child processes; a lower CPU priority than the
    server's own threads, so scripts burning CPU do not slow requests that run none."""
    for limit in (resource.RLIMIT_CORE, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (0, 0))
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    sys.dont_write_bytecode = True


def _warm_up(executor: Executor) -> None:
    """Import lazily-loaded modules now (strptime), so no import happens during a script."""
    import _strptime  # noqa: F401

    executor.execute(("run", "x = 1", {}, {}, executor.policy.defaults.to_wire()))
    executor.cache.compilations = 0


def _serve(fd_in: int, fd_out: int, executor: Executor) -> None:
    while True:
        try:
            raw = framing.receive(fd_in, _REQUEST_BYTES)
        except (EOFError, OSError):
            return
        request = marshal.loads(raw)  # from the trusted parent; replies go back as JSON
        if request[0] == "check":
            _, source, mode = request
            reply = {"ok": True, "problems": problem_list(executor.check(source, mode))}
            framing.send(
                fd_out, json.dumps(reply, ensure_ascii=False).encode("utf-8", "surrogatepass")
            )
            continue
        payload, recycle = executor.execute(request)
        framing.send(fd_out, payload)
        if recycle:
            return


def _start(init: bytes) -> Executor:
    """Harden, check the host's limits, build the executor and warm it up; raise if it cannot."""
    policy = Policy.from_dict(json.loads(init)["policy"])
    _harden()
    executor = Executor(policy)
    check_address_space(executor.memory_base, policy.defaults.memory_mb)
    _warm_up(executor)
    return executor


def _start_failed(fd_out: int, exc: BaseException) -> None:
    """Tell the parent why this worker cannot start (instead of "ready"), then exit."""
    if isinstance(exc, HostLimitError):
        reason = str(exc)
    elif isinstance(exc, MemoryError):
        reason = "out of memory while starting (is the address space limited? see ulimit -v)"
    else:
        reason = f"{type(exc).__name__}: {exc}"
    with contextlib.suppress(BaseException):
        framing.send(fd_out, json.dumps({"op": "failed", "error": reason}).encode())
    with contextlib.suppress(OSError):  # and the host's log (the pool forwards stderr)
        os.write(2, f"cannot start: {reason}\n".encode())
    os._exit(EXIT_START_FAILED)


def main(fd_in: int, fd_out: int) -> None:
    """Worker entry point: read the policy, harden, warm up, say ready (or why it cannot start),
    serve until EOF."""
    try:
        init = framing.receive(fd_in, _REQUEST_BYTES)
    except (EOFError, OSError):
        os._exit(0)
    try:
        executor = _start(init)
    except BaseException as exc:  # a worker that cannot start says why, whatever it was
        _start_failed(fd_out, exc)
    try:
        framing.send(fd_out, b'{"op": "ready"}')
        _serve(fd_in, fd_out, executor)
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)
    except (EOFError, BrokenPipeError):
        pass
    os._exit(0)
