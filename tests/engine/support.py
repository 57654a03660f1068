"""Helpers of the engine tests: the BPMN files on disk and the public corpora beside the checkout."""

from __future__ import annotations

from pathlib import Path

BPMN_DIR = Path(__file__).resolve().parent / "bpmn"


REALWORLD_DIR = Path(__file__).resolve().parents[3] / "shared" / "realworld-bpmn"


def bpmn_bytes(name: str) -> bytes:
    return (BPMN_DIR / name).read_bytes()


def line_containing(name: str, text: str) -> int:
    """The 1-based line of the first occurrence of `text` in a test BPMN file."""
    for number, line in enumerate((BPMN_DIR / name).read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {name}")
