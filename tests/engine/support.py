"""Helpers of the engine tests: the BPMN files on disk and the public corpora beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

BPMN_DIR = Path(__file__).resolve().parent / "bpmn"


def _realworld_dir() -> Path:
    """../shared/realworld-bpmn beside the checkout (a git worktree may sit one level deeper),
    or the folder named by BPM_LIVECHAT_REALWORLD_DIR (for trying more corpora)."""
    override = os.environ.get("BPM_LIVECHAT_REALWORLD_DIR")
    if override:
        return Path(override)
    here = Path(__file__).resolve()
    candidates = [parent / "shared" / "realworld-bpmn" for parent in here.parents[3:5]]
    return next((c for c in candidates if c.is_dir()), candidates[0])


REALWORLD_DIR = _realworld_dir()


def bpmn_bytes(name: str) -> bytes:
    return (BPMN_DIR / name).read_bytes()


def line_containing(name: str, text: str) -> int:
    """The 1-based line of the first occurrence of `text` in a test BPMN file."""
    for number, line in enumerate((BPMN_DIR / name).read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {name}")
