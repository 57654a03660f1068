"""Per-user list preferences (core) and the login throttle's growing lock."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.desk.preferences import (
    DEFAULT_COLUMNS,
    list_columns,
    list_view,
    save_list_columns,
    save_list_view,
)
from bpm_livechat.errors import ValidationError
from bpm_livechat.params.catalogue import archive_parameter
from tests.web.support import World
from web import throttle
from web.throttle import LoginThrottle


def test_columns_default_then_saved_in_order_without_duplicates(
    db_session: Session, world: World
) -> None:
    olga = world.desk.operator
    assert list_columns(db_session, olga) == list(DEFAULT_COLUMNS)
    saved = save_list_columns(db_session, olga, ["segment", "id", "segment", "name"])
    assert saved == ["segment", "id", "name"]
    assert list_columns(db_session, olga) == ["segment", "id", "name"]
    assert list_columns(db_session, world.desk.supervisor) == list(DEFAULT_COLUMNS)


def test_archived_parameters_drop_out_of_saved_columns(db_session: Session, world: World) -> None:
    olga = world.desk.operator
    save_list_columns(db_session, olga, ["name", "segment"])
    archive_parameter(db_session, "segment")
    assert list_columns(db_session, olga) == ["name"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ([], "choose 1 to 40 columns"),
        (["name", "nope"], "unknown column(s): nope"),
        (["x0", "x1"], "unknown column(s): x0, x1"),
    ],
)
def test_bad_column_choices_are_refused(
    db_session: Session, world: World, columns: list[str], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        save_list_columns(db_session, world.desk.operator, columns)
    assert caught.value.message == message


def test_view_is_table_until_tiles_are_chosen(db_session: Session, world: World) -> None:
    olga = world.desk.operator
    assert list_view(db_session, olga) == "table"
    save_list_view(db_session, olga, "tiles")
    assert list_view(db_session, olga) == "tiles"
    with pytest.raises(ValidationError):
        save_list_view(db_session, olga, "cards")


def test_throttle_locks_for_1_2_4_seconds_after_three_free_failures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: now[0])
    guard = LoginThrottle(free=3, max_delay=3)
    expected_waits = [0, 0, 0, 1, 2, 3, 3]  # capped at max_delay
    for wait in expected_waits:
        guard.failed("Olga", "10.0.0.1")
        assert guard.wait_seconds("olga", "10.0.0.1") == wait
    assert guard.wait_seconds("olga", "10.0.0.2") == 0  # another address is not locked
    now[0] += 3
    assert guard.wait_seconds("olga", "10.0.0.1") == 0
    guard.succeeded("olga", "10.0.0.1")
    guard.failed("olga", "10.0.0.1")
    assert guard.wait_seconds("olga", "10.0.0.1") == 0  # the count started again
