"""Processes admin pages: upload with every problem listed, versions, activation, bindings, contents."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from bpm_livechat.models import Process, ProcessVersion
from bpm_livechat.processes.autostart import event_bindings
from bpm_livechat.processes.deployments import get_process, is_bound, latest_version
from tests.web.bpmn_samples import SCRIPT_LINE, sample_bpmn
from tests.web.support import Browser, World

BROKEN = "x = 1\nimport os\n"
GOOD = 'session.params["segment"] = "smb"\nprint("noted")\n'
HOSTILE = '<script>alert("p")</script>'
Open = Callable[[str], Browser]


def _upload(
    browser: Browser, data: bytes, name: str = "triage.bpmn", **extra: object
) -> TestResponse:
    return browser.post("/admin/processes/upload", {"bpmn": (BytesIO(data), name), **extra})


def _counts(db: Session) -> tuple[int, int]:
    db.expire_all()
    processes = db.scalar(select(func.count()).select_from(Process)) or 0
    versions = db.scalar(select(func.count()).select_from(ProcessVersion)) or 0
    db.rollback()
    return processes, versions


def test_only_admins_manage_processes(browser_for: Open, client: object) -> None:
    for username in ("olga", "sam"):
        browser = browser_for(username)
        assert browser.get("/admin/processes").status_code == 403
        assert _upload(browser, sample_bpmn(GOOD)).status_code == 403
        assert browser.get("/admin/processes/triage_note").status_code == 403
    admin = browser_for("admin")
    page = admin.get("/admin/processes").get_data(as_text=True)
    assert 'href="/admin/processes"' in page and ">Processes</a>" in page
    assert ">Script bench</a>" in page
    assert ">Processes</a>" not in browser_for("olga").get("/sessions").get_data(as_text=True)


def test_a_broken_script_is_listed_with_element_and_line_and_nothing_stored(
    browser_for: Open, db_session: Session
) -> None:
    admin = browser_for("admin")
    response = _upload(admin, sample_bpmn(BROKEN), "broken.bpmn")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "“broken.bpmn” was not deployed: 1 problem" in page
    row = f"<td><code>note</code> “Write the note”</td><td>{SCRIPT_LINE + 1}</td>"
    assert row in page  # the element's id, its name and the line
    assert "script line 2: &#34;os&#34;: importing this module is not allowed" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="bpmn"' in page  # the diagram preview
    assert _counts(db_session) == (0, 0)


def test_a_file_that_is_not_xml_and_a_missing_file_are_refused(
    browser_for: Open, db_session: Session
) -> None:
    admin = browser_for("admin")
    response = _upload(admin, b"not xml at all", "notes.txt")
    assert response.status_code == 422
    assert "<code>(document)</code>" in response.get_data(as_text=True)
    missing = admin.post("/admin/processes/upload", {})
    assert missing.status_code == 422
    assert "Choose a BPMN file to upload." in missing.get_data(as_text=True)
    assert _counts(db_session) == (0, 0)


def test_a_valid_upload_deploys_shows_warnings_and_the_diagram_and_binds(
    browser_for: Open, db_session: Session, world: World
) -> None:
    support = world.desk.support.id
    db_session.rollback()  # SQLite: the app's writers wait for any open transaction
    admin = browser_for("admin")
    response = _upload(admin, sample_bpmn(GOOD, name=HOSTILE), live_chat=str(support))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "version 1 (new)" in page
    assert "form field &#39;reason&#39; matches no custom parameter" in page
    assert HOSTILE not in page and str(escape(HOSTILE)) in page
    assert 'class="bpmn"' in page
    db_session.expire_all()
    process = get_process(db_session, "triage_note")
    assert is_bound(db_session, process, support)
    db_session.rollback()
    again = _upload(admin, sample_bpmn(GOOD, name=HOSTILE))
    assert "version 1 (unchanged, already deployed)" in again.get_data(as_text=True)
    _upload(admin, sample_bpmn(GOOD + "# v2\n", name=HOSTILE))
    listing = admin.get("/admin/processes").get_data(as_text=True)
    assert "<code>triage_note</code>" in listing and "<td>2</td>" in listing
    assert _counts(db_session) == (1, 2)


def test_versions_activation_and_live_chat_bindings(
    browser_for: Open, db_session: Session, world: World
) -> None:
    support_id = world.desk.support.id
    support = str(support_id)
    db_session.rollback()
    admin = browser_for("admin")
    _upload(admin, sample_bpmn(GOOD))
    _upload(admin, sample_bpmn(GOOD + "# v2\n"))
    page = admin.get("/admin/processes/triage_note").get_data(as_text=True)
    assert page.count("Alex Admin") >= 2 and "Version 2" in page and "Deactivate version 2" in page
    off = {"version": "2", "active": "0"}
    asked = admin.post("/admin/processes/triage_note/active", off).get_data(as_text=True)
    assert "Deactivate version 2 of “" in asked
    assert '<input type="hidden" name="version" value="2">' in asked  # the form is posted again
    done = admin.post("/admin/processes/triage_note/active", {**off, "confirm": "yes"})
    assert done.status_code == 303
    db = db_session
    db.expire_all()
    version = latest_version(db, get_process(db, "triage_note"))
    assert version is not None and version.number == 1
    db.rollback()
    admin.post("/admin/processes/triage_note/active", {"version": "2", "active": "1"})
    admin.post("/admin/processes/triage_note/active", {"active": "0", "confirm": "yes"})
    db.expire_all()
    process = get_process(db, "triage_note")
    assert process.active is False
    latest = latest_version(db, process)
    assert latest is not None and latest.number == 2
    db.rollback()
    page = admin.get("/admin/processes/triage_note").get_data(as_text=True)
    assert "Activate process" in page
    admin.post("/admin/processes/triage_note/live-chats", {"live_chat": support, "action": "bind"})
    db.expire_all()
    assert is_bound(db, get_process(db, "triage_note"), support_id)
    db.rollback()
    admin.post(
        "/admin/processes/triage_note/live-chats", {"live_chat": support, "action": "unbind"}
    )
    db.expire_all()
    assert not is_bound(db, get_process(db, "triage_note"), support_id)
    db.rollback()
    gone = admin.post("/admin/processes/triage_note/live-chats", {"live_chat": "999999"})
    assert gone.status_code == 404
    assert admin.get("/admin/processes/nope").status_code == 404
    assert admin.post("/admin/processes/triage_note/active", {"version": "9"}).status_code == 404


def test_event_bindings_with_mapping_errors_at_the_field(
    browser_for: Open, db_session: Session
) -> None:
    admin = browser_for("admin")
    _upload(admin, sample_bpmn(GOOD))
    path = "/admin/processes/triage_note/events"
    bad = admin.post(
        path, {"event": "session_created", "mapping": "topic = nowhere\n1x = client.name"}
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert '<p class="field-error" id="event-mapping-error">' in page
    assert "topic: unknown source &#39;nowhere&#39;" in page
    assert "1x: not a valid variable name" in page
    assert "topic = nowhere" in page  # what was typed comes back
    syntax = admin.post(path, {"event": "session_created", "mapping": "just words"})
    assert syntax.status_code == 422
    assert "line 1: write VARIABLE = SOURCE" in syntax.get_data(as_text=True)
    unknown = admin.post(path, {"event": "explosion", "mapping": ""})
    assert unknown.status_code == 422
    assert 'id="event-name-error">unknown event' in unknown.get_data(as_text=True)
    db_session.expire_all()
    assert event_bindings(db_session) == []
    db_session.rollback()
    mapping = "topic = session.subject\ntier = param.segment"
    ok = admin.post(path, {"event": "session_created", "mapping": mapping})
    assert ok.status_code == 303
    db_session.expire_all()
    [binding] = event_bindings(db_session)
    assert (binding.event, binding.input_mapping) == (
        "session_created",
        {"topic": "session.subject", "tier": "param.segment"},
    )
    db_session.rollback()
    page = admin.get("/admin/processes/triage_note").get_data(as_text=True)
    assert "topic = session.subject\ntier = param.segment" in page
    admin.post(path, {"event": "session_created", "action": "remove"})
    db_session.expire_all()
    assert event_bindings(db_session) == []
    db_session.rollback()


def test_a_version_shows_its_forms_and_scripts_escaped_with_line_numbers(browser_for: Open) -> None:
    admin = browser_for("admin")
    _upload(admin, sample_bpmn('label = "<b>" + reason\n' + GOOD, name=HOSTILE))
    response = admin.get("/admin/processes/triage_note/versions/1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<td><code>reason</code></td>" in page
    assert "Reason &lt;b&gt;</td>" in page
    assert "<td>string</td>" in page and "max length 40" in page
    assert "(start form, <code>ask</code>, line 9)" in page
    assert "<li><code>label = &#34;&lt;b&gt;&#34; + reason</code></li>" in page
    assert "<li><code>session.params[&#34;segment&#34;] = &#34;smb&#34;</code></li>" in page
    assert f"BPMN line {SCRIPT_LINE}" in page
    assert HOSTILE not in page
    assert admin.get("/admin/processes/triage_note/versions/7").status_code == 404


def test_a_version_downloads_as_the_bpmn_it_was_deployed_from(browser_for: Open) -> None:
    admin = browser_for("admin")
    bpmn = sample_bpmn(GOOD)
    _upload(admin, bpmn)
    page = admin.get("/admin/processes/triage_note/versions/1").get_data(as_text=True)
    assert 'href="/admin/processes/triage_note/versions/1.bpmn" download>' in page
    response = admin.get("/admin/processes/triage_note/versions/1.bpmn")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == ('attachment; filename="triage_note-v1.bpmn"')
    assert response.get_data() == bpmn
    assert admin.get("/admin/processes/triage_note/versions/2.bpmn").status_code == 404
    assert (
        browser_for("olga").get("/admin/processes/triage_note/versions/1.bpmn").status_code == 403
    )


def _library_upload(browser: Browser, *files: tuple[str, bytes]) -> TestResponse:
    uploads = [(BytesIO(data), name) for name, data in files]
    return browser.post("/admin/processes/upload", {"bpmn": uploads})


def test_several_files_upload_as_one_deployment_and_a_called_process_stays_active(
    browser_for: Open, db_session: Session
) -> None:
    from tests.processes.test_library import library_file

    admin = browser_for("admin")
    parent = ("order_parent.bpmn", library_file("order_parent.bpmn"))
    credit = ("credit_check.bpmn", library_file("credit_check.bpmn"))
    note = ("note_writer.bpmn", library_file("note_writer.bpmn"))
    broken = ("note_writer.bpmn", library_file("note_writer.bpmn", ('"note v1"', "(")))
    refused = _library_upload(admin, parent, credit, broken)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "“order_parent.bpmn”, “credit_check.bpmn”, “note_writer.bpmn” were not deployed" in page
    assert (
        "<td>note_writer.bpmn</td><td><code>note_writer_work</code> “Note writer”</td><td>12</td>"
        in page
    )
    assert _counts(db_session) == (0, 0)
    done = _library_upload(admin, parent, credit, note)
    assert done.status_code == 200, done.get_data(as_text=True)
    page = done.get_data(as_text=True)
    assert "“order_parent.bpmn”, “credit_check.bpmn”, “note_writer.bpmn” deployed" in page
    assert _counts(db_session) == (3, 3)
    off = {"active": "0", "confirm": "yes"}
    response = admin.post("/admin/processes/credit_check/active", off)
    assert response.status_code == 303
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "Not deactivated: process &#39;credit_check&#39; is called by active process "
        "&#39;order_parent&#39; (version 1, call activity &#39;call_check&#39; (Check credit))"
    ) in page
    assert "Called by active processes" in page
    assert ">order_parent</code></a> version 1, call activity <code>call_check</code>" in page
    parent_page = admin.get("/admin/processes/order_parent").get_data(as_text=True)
    assert "<code>call_note</code> (Write the note) calls" in parent_page
    assert ">note_writer</code></a>, version 1</li>" in parent_page
    db_session.expire_all()
    assert get_process(db_session, "credit_check").active is True
