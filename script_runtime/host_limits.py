"""The limits the host already imposes (`ulimit`, a service manager): a worker lowers, never raises.

A process may lower its soft and hard limits but not raise a hard one. A worker started under a
hard RLIMIT_AS or RLIMIT_CPU keeps that hard limit and sets its soft limits at or below it; when
the host leaves less address space than a script is promised by default, the worker refuses to
start with a message naming the limit, and the pool reports it instead of starting workers forever.
"""

from __future__ import annotations

import resource

MIB = 1024 * 1024


class HostLimitError(Exception):
    """A limit the host imposes leaves a worker too little to run scripts; the message names it."""


def hard_limit(which: int) -> int | None:
    """The hard limit `which` (a resource.RLIMIT_* constant); None when unlimited."""
    hard = resource.getrlimit(which)[1]
    return None if hard == resource.RLIM_INFINITY else hard


def set_soft(which: int, soft: int, hard: int | None) -> int:
    """Set the soft limit to `soft`, capped at `hard` (kept as it is); return what was set."""
    if hard is None:
        resource.setrlimit(which, (soft, resource.RLIM_INFINITY))
        return soft
    chosen = min(soft, hard)
    resource.setrlimit(which, (chosen, hard))
    return chosen


def check_address_space(base_bytes: int, memory_mb: int) -> None:
    """Raise HostLimitError when a hard RLIMIT_AS leaves less than `memory_mb` above `base_bytes`."""
    hard = hard_limit(resource.RLIMIT_AS)
    if hard is None or hard >= base_bytes + memory_mb * MIB:
        return
    left = max(hard - base_bytes, 0) // MIB
    raise HostLimitError(
        f"the hard address-space limit RLIMIT_AS (ulimit -v, or a service manager's memory "
        f"limit) is {hard // MIB} MiB; a worker takes {base_bytes // MIB} MiB before any "
        f"script, which leaves {left} MiB, less than the scripts' default memory limit of "
        f"{memory_mb} MiB: raise RLIMIT_AS or lower the policy's default memory_mb"
    )
