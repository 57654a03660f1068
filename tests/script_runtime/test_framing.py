"""Length-prefixed messages over real pipes: small, larger than one read, too large, closed."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import pytest

from script_runtime import framing


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):  # some tests close an end themselves
            os.close(fd)


def test_small_message_round_trips(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    framing.send(write_end, b"hello")
    assert framing.receive(read_end, 100) == b"hello"


def test_message_larger_than_the_pipe_arrives_whole(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    body = bytes(range(256)) * 4000  # 1 MB: many writes and reads
    writer = threading.Thread(target=framing.send, args=(write_end, body))
    writer.start()
    assert framing.receive(read_end, len(body)) == body
    writer.join()


def test_message_above_the_limit_is_refused(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    framing.send(write_end, b"x" * 101)
    with pytest.raises(framing.MessageTooLarge, match="101 bytes, limit 100"):
        framing.receive(read_end, 100)


def test_closed_writer_is_end_of_stream(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    os.write(write_end, b"\x00\x00\x00\x09abc")  # announces 9 bytes, sends 3, then closes
    os.close(write_end)
    with pytest.raises(EOFError):
        framing.receive(read_end, 100)
