"""The script bench page: admins only, Check by line and column, dry runs that store nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.models import ParamHistory
from bpm_livechat.params.values import get_parameters
from tests.web.support import HOSTILE_NAME, Browser, World

Open = Callable[[str], Browser]
PATH = "/admin/script-bench"
SCRIPT = """\
print("client:", session.client.name)
session.params["segment"] = "enterprise"
session.params["satisfaction"] = "very"
note = "<i>" + topic
"""


def _history(db: Session) -> int:
    db.expire_all()
    count = db.scalar(select(func.count()).select_from(ParamHistory)) or 0
    db.rollback()
    return count


def test_only_admins_use_the_bench(browser_for: Open) -> None:
    for username in ("olga", "sam"):
        browser = browser_for(username)
        assert browser.get(PATH).status_code == 403
        assert browser.post(PATH, {"source": "x = 1", "action": "check"}).status_code == 403
    page = browser_for("admin").get(PATH)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<label for="bench-source">Script</label>' in text
    assert '<script src="/static/bench.js" defer></script>' in text


def test_check_lists_problems_at_line_and_column(browser_for: Open) -> None:
    admin = browser_for("admin")
    response = admin.post(PATH, {"source": "x = 1\nimport os\n", "action": "check"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<strong>Line 2, column 1</strong>" in page
    assert "importing this module is not allowed" in page
    assert "x = 1\nimport os\n</textarea>" in page  # the script is kept
    clean = admin.post(PATH, {"source": "x = 1\n", "action": "check"}).get_data(as_text=True)
    assert "No problems found." in clean


def test_dry_run_shows_data_changes_log_duration_and_stores_nothing(
    browser_for: Open, db_session: Session, world: World
) -> None:
    session_id, evil = world.first, world.evil
    before = _history(db_session)
    admin = browser_for("admin")
    form = {"source": SCRIPT, "session_id": str(evil), "data": '{"topic": "billing"}'}
    response = admin.post(PATH, {**form, "action": "run"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"Dry run on session {evil}" in page
    assert "Nothing was stored." in page and " ms</span>" in page
    assert '<tr class="change-ok">' in page and "<td>enterprise</td>" in page
    assert '<tr class="change-invalid">' in page and "<td>very</td>" in page
    assert "parameter &#39;satisfaction&#39; (integer)" in page
    assert "&#34;note&#34;: &#34;&lt;i&gt;billing&#34;" in page
    assert "client: &lt;script&gt;" in page and HOSTILE_NAME not in page
    assert _history(db_session) == before
    db_session.expire_all()
    assert "segment" not in get_parameters(db_session, evil)
    assert get_parameters(db_session, session_id)["segment"] == "consumer"
    db_session.rollback()


def test_dry_run_of_a_failing_script_shows_the_line(browser_for: Open, world: World) -> None:
    admin = browser_for("admin")
    source = 'print("a")\nraise ValueError("nope")\n'
    form: dict[str, object] = {
        "source": source,
        "session_id": str(world.first),
        "data": "",
        "action": "run",
    }
    page = admin.post(PATH, form).get_data(as_text=True)
    assert "The script failed (runtime) at line 2:" in page
    assert '<pre class="code-block" id="run-log">a\n</pre>' in page


def test_bad_session_and_bad_json_are_field_errors(browser_for: Open, world: World) -> None:
    admin = browser_for("admin")
    base = {"source": "x = 1\n", "action": "run"}
    bad_json = admin.post(PATH, {**base, "session_id": str(world.first), "data": "{oops"})
    assert bad_json.status_code == 422
    page = bad_json.get_data(as_text=True)
    assert '<p class="field-error" id="bench-data-error">Not valid JSON:' in page
    assert "{oops</textarea>" in page
    not_object = admin.post(PATH, {**base, "session_id": str(world.first), "data": "[1, 2]"})
    assert not_object.status_code == 422
    assert "Task data must be a JSON object" in not_object.get_data(as_text=True)
    for raw, message in (("", "Enter a session id"), ("abc", "Enter a session id"),
                         ("99999999999999999999", "Enter a session id"),
                         ("999999", "There is no session 999999.")):  # fmt: skip
        response = admin.post(PATH, {**base, "session_id": raw, "data": "{}"})
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)


def test_admins_dry_run_sessions_of_any_live_chat(browser_for: Open, world: World) -> None:
    admin = browser_for("admin")
    form = {"source": "who = session.live_chat.name\n", "session_id": str(world.sale)}
    page = admin.post(PATH, {**form, "data": "{}", "action": "run"}).get_data(as_text=True)
    assert "&#34;who&#34;: &#34;Sales&#34;" in page


def test_the_page_says_what_a_script_sees(browser_for: Open) -> None:
    page = browser_for("admin").get(PATH).get_data(as_text=True)
    assert '<details class="card" id="script-reference" open>' in page
    assert "Task data arrives as plain variables" in page
    modules = "<code>math</code>, <code>datetime</code>, <code>decimal</code>, <code>json</code>"
    assert modules in page
    assert "2 s of CPU, 5 s of wall time" in page  # the sandbox's own default limits


def test_a_run_stopped_at_its_cpu_limit_shows_wall_and_cpu_time(
    browser_for: Open, world: World
) -> None:
    form = {"source": "while True:\n    pass\n", "session_id": str(world.first), "data": "{}"}
    page = browser_for("admin").post(PATH, {**form, "action": "run"}).get_data(as_text=True)
    assert "cpu_seconds" in page
    assert '<span id="run-cpu">2,000.0 ms (its limit)</span>' in page
    assert '<span id="run-duration">0.0 ms' not in page


def test_the_session_the_script_saw_and_a_left_out_helper_are_shown(
    browser_for: Open, world: World
) -> None:
    source = "by_id = {1: session.priority}\nprint(by_id[1])\n"
    form = {"source": source, "session_id": str(world.first), "data": "{}"}
    page = browser_for("admin").post(PATH, {**form, "action": "run"}).get_data(as_text=True)
    assert "[left out of task data] variable &#39;by_id&#39;" in page
    shown = re.search(r"<code>session.priority</code></th><td>(\w+)</td>", page)
    assert shown is not None and shown.group(1) in {"low", "normal", "high", "urgent"}, page
