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
from multiprocessing.connection import Connection
from typing import Any

from script_runtime.errors import Problem
from script_runtime.executor import Executor
from script_runtime.policy import Policy

BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from script_runtime.worker import main; main(int(sys.argv[2]), int(sys.argv[3]))"
)
EXIT_OUT_OF_MEMORY = 3


def _harden() -> None:
    """No core dumps, no files written, no child processes."""
    for limit in (resource.RLIMIT_CORE, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (0, 0))
    sys.dont_write_bytecode = True


def _warm_up(executor: Executor) -> None:
    """Import lazily-loaded modules now (strptime), so no import happens during a script."""
    import _strptime  # noqa: F401

    executor.execute(
        {"op": "run", "source": "x = 1", "data": {}, "session": {}, "limits": _limits(executor)}
    )
    executor.cache.compilations = 0


def _limits(executor: Executor) -> dict[str, Any]:
    limits: dict[str, Any] = executor.policy.defaults.to_dict()
    return limits


def _serve(reader: Connection, writer: Connection, executor: Executor) -> None:
    while True:
        try:
            raw = reader.recv_bytes()
        except (EOFError, OSError):
            return
        request = marshal.loads(raw)  # from the trusted parent; replies go back as JSON
        op = request.get("op")
        if op == "exit":
            return
        if op == "check":
            problems = executor.check(request["source"], request.get("mode", "exec"))
            reply: dict[str, Any] = {"ok": True, "problems": _problems(problems)}
        else:
            payload, recycle = executor.execute(request)
            writer.send_bytes(payload)
            if recycle:
                return
            continue
        writer.send_bytes(json.dumps(reply, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _problems(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {"line": p.line, "column": p.column, "message": p.message, "kind": p.kind, "name": p.name}
        for p in problems
    ]


def main(fd_in: int, fd_out: int) -> None:
    """Worker entry point: read the policy, harden, warm up, say ready, serve until EOF."""
    reader = Connection(fd_in, writable=False)
    writer = Connection(fd_out, readable=False)
    try:
        init = json.loads(reader.recv_bytes())
        _harden()
        executor = Executor(Policy.from_dict(init["policy"]))
        _warm_up(executor)
        writer.send_bytes(b'{"op": "ready"}')
        _serve(reader, writer, executor)
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)
    except (EOFError, BrokenPipeError):
        pass
    os._exit(0)
