"""Processes admin and script bench in a real browser: upload, problems, start; dry run stores nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser.support import Site, login, shot
from tests.web.bpmn_samples import SCRIPT_LINE, sample_bpmn

ADMIN = ("admin", "admin-demo-pass")
PROCESS_ID = "browser_triage"
BROKEN = "x = 1\nimport os\n"
GOOD = 'session.params["order_number"] = "ORD-" + reason\n'


def _drop(page: Any, selector: str, name: str, data: bytes) -> None:
    """Drop a file onto an element the way a person dragging from the desktop does."""
    page.evaluate(
        """([selector, name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, {type: "application/xml"}));
            const zone = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
            }
        }""",
        [selector, name, data.decode()],
    )


def test_upload_a_broken_bpmn_then_a_valid_one_and_start_it(
    page: Any, site: Site, tmp_path: Path
) -> None:
    session_id = site.support[8]
    login(page, *ADMIN)
    page.get_by_role("link", name="Processes", exact=True).click()
    page.wait_for_url("**/admin/processes")
    _drop(page, "#drop-zone", "broken.bpmn", sample_bpmn(BROKEN, PROCESS_ID, "Browser triage"))
    assert page.locator("#drop-chosen").inner_text() == "Chosen: broken.bpmn"
    page.get_by_role("button", name="Upload and deploy").click()
    problems = page.locator("#problems")
    assert "“broken.bpmn” was not deployed: 1 problem" in problems.inner_text()
    row = problems.locator("tbody tr").first
    assert row.locator("td").nth(0).inner_text() == "note “Write the note”"  # id and name
    assert row.locator("td").nth(1).inner_text() == str(SCRIPT_LINE + 1)
    assert "script line 2" in row.locator("td").nth(2).inner_text()
    assert problems.locator("svg.bpmn").count() == 1
    shot(page, "process-upload-problems")

    good = tmp_path / "triage.bpmn"
    good.write_bytes(sample_bpmn(GOOD, PROCESS_ID, "Browser triage"))
    page.get_by_label("BPMN file").set_input_files(str(good))  # the file input fallback
    page.get_by_label("Customer Support").check()
    page.get_by_role("button", name="Upload and deploy").click()
    assert "version 1 (new)" in page.locator("#deployed").inner_text()
    assert page.locator("svg.bpmn").count() == 1
    shot(page, "process-uploaded")
    page.get_by_role("link", name="Browser triage").click()
    assert "Customer Support: offered" in page.locator("#live-chats").inner_text()
    page.get_by_role("link", name="Version 1").click()
    assert page.locator("#scripts .code-lines li").first.inner_text() == GOOD.strip()

    page.goto(f"/sessions/{session_id}")
    page.get_by_role("link", name="Start process: Browser triage").click()
    page.locator("#start-reason").fill("4711")
    page.get_by_role("button", name="Start process").click()
    page.wait_for_url(re.compile(rf"/sessions/{session_id}\?changed=order_number"))
    value = page.locator("#param-order_number .param-value").inner_text()
    assert value == "ORD-4711"


def test_dry_run_shows_would_be_changes_and_stores_nothing(page: Any, site: Site) -> None:
    session_id = site.support[9]
    login(page, *ADMIN)
    page.goto(f"/sessions/{session_id}")
    before = page.locator("#param-order_number .param-value").inner_text()
    page.get_by_role("link", name="Script bench").click()
    source = page.get_by_label("Script")
    source.fill('print("hi")\nsession.params["order_number"] = "WOULD-BE"\n'
                'session.params["satisfaction"] = "lots"\n')  # fmt: skip
    assert page.locator("#bench-gutter").inner_text().split() == ["1", "2", "3", "4"]
    page.get_by_role("button", name="Check").click()
    assert page.locator("#check-result").inner_text().endswith("No problems found.")
    page.get_by_label("Session id").fill(str(session_id))
    page.get_by_label("Sample task data (JSON object)").fill('{"topic": "billing"}')
    page.get_by_role("button", name="Dry run").click()
    result = page.locator("#run-result")
    assert "Nothing was stored." in result.inner_text()
    assert page.locator("tr.change-ok td").nth(2).inner_text() == "WOULD-BE"
    invalid = page.locator("tr.change-invalid")
    assert "Invalid" in invalid.inner_text() and "satisfaction" in invalid.inner_text()
    assert page.locator("#run-log").inner_text().strip() == "hi"
    assert '"topic": "billing"' in page.locator("#run-data").inner_text()
    shot(page, "script-bench-dry-run")
    page.goto(f"/sessions/{session_id}")
    assert page.locator("#param-order_number .param-value").inner_text() == before
    assert before != "WOULD-BE"


def _drop_files(page: Any, selector: str, files: list[tuple[str, bytes]]) -> None:
    """Drop several files at once onto an element, as dragging a selection from the desktop."""
    page.evaluate(
        """([selector, files]) => {
            const transfer = new DataTransfer();
            for (const [name, text] of files) {
                transfer.items.add(new File([text], name, {type: "application/xml"}));
            }
            const zone = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
            }
        }""",
        [selector, [[name, data.decode()] for name, data in files]],
    )


def test_a_library_of_three_files_dropped_together_deploys_as_one(page: Any, site: Site) -> None:
    from tests.processes.test_library import library_file

    names = ("order_parent.bpmn", "credit_check.bpmn", "note_writer.bpmn")
    login(page, *ADMIN)
    page.goto("/admin/processes")
    broken = library_file("note_writer.bpmn", ('"note v1"', "("))
    _drop_files(
        page, "#drop-zone", [*((n, library_file(n)) for n in names[:2]), (names[2], broken)]
    )
    assert page.locator("#drop-chosen").inner_text() == "Chosen: " + ", ".join(names)
    page.get_by_role("button", name="Upload and deploy").click()
    problems = page.locator("#problems")
    assert "were not deployed: 1 problem" in problems.inner_text()
    cells = problems.locator("tbody tr").first.locator("td")
    assert [cells.nth(i).inner_text() for i in range(3)] == [
        "note_writer.bpmn",
        "note_writer_work “Note writer”",
        "12",
    ]
    _drop_files(page, "#drop-zone", [(n, library_file(n)) for n in names])
    page.get_by_role("button", name="Upload and deploy").click()
    deployed = page.locator("#deployed").inner_text()
    for name in ("Order handling", "Credit check", "Note writer"):
        assert f"{name} (" in deployed
    assert deployed.count("version 1 (new)") == 3
    shot(page, "process-library-uploaded")
