"""Running processes: start forms, scripts writing session.params, gateways, user tasks, save/reload."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

from bpm_livechat.errors import NotFoundError
from bpm_livechat.params.types import ParamType, normalize
from bpm_livechat.processes.bpmn.xml import parse_bpmn_xml
from bpm_livechat.processes.engine.engine import ProcessEngine, SerializedWorkflow, StepResult
from bpm_livechat.processes.engine.script_environment import TaskRef
from bpm_livechat.processes.forms import validate_form
from tests.engine.support import bpmn_bytes

PARAMS: dict[str, tuple[ParamType, tuple[str, ...]]] = {
    "email": (ParamType.EMAIL, ()),
    "phone": (ParamType.PHONE, ()),
    "contact_summary": (ParamType.TEXT, ()),
    "segment": (ParamType.CHOICE, ("vip", "standard")),
    "order_number": (ParamType.STRING, ()),
    "request_status": (ParamType.STRING, ()),
    "request_number": (ParamType.STRING, ()),
    "follow_up": (ParamType.DATE, ()),
}


def validate_changes(changes: dict[str, object]) -> dict[str, object]:
    """What the lead's changeset validation does: normalise each value by its parameter type."""
    normalised: dict[str, object] = {}
    for key, value in changes.items():
        if key not in PARAMS:
            raise NotFoundError("parameter", key)
        type_, options = PARAMS[key]
        normalised[key] = normalize(key, type_, value, options)
    return normalised


def snapshot(**params: object) -> dict[str, Any]:
    values: dict[str, object] = dict.fromkeys(PARAMS)
    values.update(params)
    return {
        "id": 7,
        "name": "Chat with Ann",
        "subject": "Refund",
        "priority": "high",
        "status": "open",
        "client": {"name": "Ann", "email": "ann@example.org", "phone": None},
        "params": values,
        "messages": [],
    }


def test_start_form_script_and_end(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("contact_details.bpmn"))
    form = engine.start_form(parsed, "collect_contact_details")
    data = validate_form(form, {"email": " Ann@Example.ORG ", "phone": "+49 170 1234567"}, PARAMS)
    session = snapshot()
    before = copy.deepcopy(session)
    result = engine.start(
        parsed, "collect_contact_details", data, session=session, validate_changes=validate_changes
    )
    assert result.status == "completed"
    assert result.tasks == []
    assert result.changes == {
        "email": "ann@example.org",
        "phone": "+491701234567",
        "contact_summary": "Contact ann@example.org (any time)",
    }
    normalise = TaskRef("normalise", "Normalise contact details")
    assert result.sources == dict.fromkeys(result.changes, normalise)
    assert result.log == [(normalise, "normalised Ann@example.org\n")]
    assert session == before  # the engine never writes into the caller's snapshot


def _start_triage(engine: ProcessEngine, submitted: dict[str, object]) -> StepResult:
    parsed = engine.parse(bpmn_bytes("request_triage.bpmn"))
    data = validate_form(engine.start_form(parsed, "register_request"), submitted, PARAMS)
    return engine.start(
        parsed, "register_request", data, session=snapshot(), validate_changes=validate_changes
    )


def test_gateway_to_user_task_then_save_reload_and_complete(engine: ProcessEngine) -> None:
    first = _start_triage(
        engine, {"request_type": "refund", "order_number": "AB-1234", "amount": "1500"}
    )
    assert first.status == "waiting"
    assert first.changes == {"segment": "vip", "order_number": "AB-1234"}
    assert first.sources == dict.fromkeys(first.changes, TaskRef("classify", "Classify request"))
    [task] = first.tasks
    assert (task.name, task.element_id, task.assignee, task.candidate_groups) == (
        "Review refund",
        "review",
        None,
        ("supervisors", "finance"),
    )
    assert [f.id for f in task.form] == ["approved", "comment", "follow_up"]

    saved = engine.serialize(first.workflow)
    assert saved.version == "spiff-1.5+livechat-2"
    assert '"spec"' not in saved.json  # the version's BPMN has the specs
    fresh = ProcessEngine(
        engine.environment
    )  # nothing carried over in memory: only the JSON and the BPMN
    reparsed = fresh.parse(bpmn_bytes("request_triage.bpmn"))
    restored = fresh.deserialize(
        SerializedWorkflow(saved.json, saved.version), reparsed, "register_request"
    )
    [reloaded] = fresh.ready_user_tasks(restored)
    assert reloaded == task

    answer = validate_form(reloaded.form, {"approved": "true", "follow_up": "2030-05-01"}, PARAMS)
    second = fresh.complete_user_task(
        restored,
        reloaded.id,
        answer,
        session=snapshot(segment="vip", order_number="AB-1234"),
        validate_changes=validate_changes,
    )
    assert second.status == "completed"
    assert second.tasks == []
    assert second.changes == {
        "request_status": "vip: approved",
        "request_number": "REQ-AB-1234",
        "follow_up": date(2030, 5, 1),
    }
    assert set(second.sources.values()) == {TaskRef("record", "Record decision")}
    assert fresh.deserialize(
        fresh.serialize(second.workflow), reparsed, "register_request"
    ).is_completed()


def test_a_workflow_saved_with_its_specs_is_still_read(engine: ProcessEngine) -> None:
    # Format 1 stored the process specs in every saved workflow; such rows stay readable.
    first = _start_triage(
        engine, {"request_type": "refund", "order_number": "AB-1234", "amount": "1500"}
    )
    saved = json.loads(engine.serialize(first.workflow).json)
    registry = engine.serializer.registry
    saved["spec"] = registry.convert(first.workflow.spec)
    saved["subprocess_specs"] = {}
    old = SerializedWorkflow(json.dumps(saved), "spiff-1.5+livechat-1")
    other = engine.parse(bpmn_bytes("contact_details.bpmn"))  # not used: the JSON has its specs
    restored = ProcessEngine(engine.environment).deserialize(old, other, "collect_contact_details")
    assert [t.element_id for t in engine.ready_user_tasks(restored)] == ["review"]
    assert restored.spec.name == "register_request"


def test_auto_path_runs_two_scripts_in_one_step(engine: ProcessEngine) -> None:
    result = _start_triage(engine, {"request_type": "question", "order_number": "CD-0001"})
    assert result.status == "completed"
    # the snapshot had segment=None: "standard" comes from the classify script of this step
    assert result.changes == {
        "segment": "standard",
        "order_number": "CD-0001",
        "request_status": "standard: approved",
        "request_number": "REQ-CD-0001",
    }
    assert result.sources["segment"] == TaskRef("classify", "Classify request")
    assert result.sources["request_status"] == TaskRef("record", "Record decision")


def test_parse_is_cached_by_content(engine: ProcessEngine) -> None:
    data = bpmn_bytes("request_triage.bpmn")
    assert engine.parse(data) is engine.parse(bytes(data))
    assert engine.parse(data.replace(b"Review refund", b"Check refund")) is not engine.parse(data)


def test_a_stored_file_is_read_only_until_its_content_hash_is_parsed(
    process_engine: ProcessEngine,
) -> None:
    engine = ProcessEngine(process_engine.environment)  # its own parse cache
    data = bpmn_bytes("request_triage.bpmn")
    reads: list[bytes] = []

    def read() -> bytes:
        reads.append(data)
        return data

    content_hash = parse_bpmn_xml(data).content_hash  # as deployments store it
    parsed = engine.parse_stored(content_hash, read)
    assert (parsed.content_hash, len(reads)) == (content_hash, 1)
    assert engine.parse_stored(content_hash, read) is parsed
    assert engine.parse(data) is parsed
    assert len(reads) == 1
    form = engine.start_form(parsed, "register_request")
    assert engine.start_form(parsed, "register_request") is form


def test_later_script_sees_earlier_writes_in_session_params(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("failures.bpmn"))
    result = engine.start(
        parsed,
        "chained_writes",
        {},
        session=snapshot(segment="standard"),
        validate_changes=validate_changes,
    )
    assert result.status == "completed"
    assert result.changes == {"segment": "vip", "request_status": "seen vip"}
    assert result.sources == {
        "segment": TaskRef("write_segment", "Write segment"),
        "request_status": TaskRef("read_segment", "Read segment"),
    }


def test_variable_assigned_none_reaches_task_data(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("failures.bpmn"))
    result = engine.start(
        parsed, "chained_writes", {}, session=snapshot(), validate_changes=validate_changes
    )
    assert result.workflow.last_task.data["cleared"] is None
