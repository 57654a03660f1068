"""Where a form may send the browser back to: a path on this site, never another host, never a
header-breaking character (a line break in `next=` or `back=` is refused, not a 500)."""

from __future__ import annotations

from urllib.parse import urlsplit


def local_path(target: str | None, default: str, prefix: str = "/") -> str:
    """`target` when it is a path of this site under `prefix`, else `default`."""
    if (
        target
        and target.startswith(prefix)
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 32 or ord(c) == 127 for c in target)
        and not urlsplit(target).netloc
    ):
        return target
    return default
