"""Length-prefixed messages over raw pipe file descriptors, shared by the pool and its workers.

A plain `os.read`/`os.write` pair: one system call each way for a typical message, where
`multiprocessing.connection.Connection` makes two reads and buffers through BytesIO (about 5 µs
per round trip on the hot path). Framing only: what the bytes mean is `protocol.py`'s business.
"""

from __future__ import annotations

import os

_HEADER = 4
_CHUNK = 65536


class MessageTooLarge(Exception):
    """The announced message size is above the reader's limit (the rest is left unread)."""


def send(fd: int, body: bytes) -> None:
    """Write one message: a 4-byte big-endian size, then the body."""
    view = memoryview(len(body).to_bytes(_HEADER, "big") + body)
    while view:
        view = view[os.write(fd, view) :]


def receive(fd: int, limit: int) -> bytes:
    """Read one message of at most `limit` bytes; EOFError when the writer closed its end."""
    buffer = _read(fd, _CHUNK)
    while len(buffer) < _HEADER:
        buffer += _read(fd, _HEADER - len(buffer))
    size = int.from_bytes(buffer[:_HEADER], "big")
    if size > limit:
        raise MessageTooLarge(f"message of {size} bytes, limit {limit}")
    end = _HEADER + size
    if len(buffer) > end:
        raise EOFError("the peer wrote more than one message")  # protocol broken: drop the peer
    if len(buffer) == end:
        return buffer[_HEADER:]
    parts = [buffer[_HEADER:]]
    missing = end - len(buffer)
    while missing:
        part = _read(fd, min(missing, _CHUNK))
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _read(fd: int, size: int) -> bytes:
    data = os.read(fd, size)
    if not data:
        raise EOFError("the other end closed the pipe")
    return data
