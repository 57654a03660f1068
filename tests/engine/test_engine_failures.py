"""Every failure of a step is one ProcessStepError naming the kind, the element and the script line."""

from __future__ import annotations

from typing import Any

import pytest

from bpm_livechat.errors import NotFoundError, ProcessStepError
from bpm_livechat.processes.bpmn.validation import validate_bpmn
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine, SerializedWorkflow
from tests.engine.support import REALWORLD_DIR, bpmn_bytes

from .test_engine import snapshot, validate_changes


def _fail(
    engine: ProcessEngine, process_id: str, data: dict[str, object] | None = None
) -> ProcessStepError:
    parsed = engine.parse(bpmn_bytes("failures.bpmn"))
    with pytest.raises(ProcessStepError) as caught:
        engine.start(
            parsed, process_id, data or {}, session=snapshot(), validate_changes=validate_changes
        )
    return caught.value


def _facts(error: ProcessStepError) -> tuple[Any, ...]:
    return (error.kind, error.element_id, error.element_name, error.line, error.reason)


def test_script_runtime_error_names_element_and_line(engine: ProcessEngine) -> None:
    error = _fail(engine, "script_error", {"total": 3})
    assert _facts(error) == (
        "runtime",
        "compute_ratio",
        "Compute ratio",
        3,
        "ZeroDivisionError: division by zero",
    )
    assert str(error) == "runtime error at compute_ratio: ZeroDivisionError: division by zero"


def test_cpu_limit(engine: ProcessEngine) -> None:
    error = _fail(engine, "cpu_limit")
    assert _facts(error)[:3] == ("limit", "spin", "Spin forever")
    assert error.reason.startswith("script exceeded the cpu_seconds limit (0.5)")


def test_policy_violation_at_run_time(engine: ProcessEngine) -> None:
    error = _fail(engine, "forbidden_import")
    assert _facts(error) == (
        "policy",
        "sneak",
        "Sneak",
        1,
        '"os": importing this module is not allowed (allowed: math, datetime, decimal, json, re).',
    )


def test_invalid_changeset_names_the_parameter(engine: ProcessEngine) -> None:
    error = _fail(engine, "bad_changeset")
    assert _facts(error) == (
        "changeset",
        "set_email",
        "Set email",
        None,
        "parameter 'email' (email): not a valid email address: 'not an email'",
    )
    assert error.parameter_key == "email"


def test_unknown_parameter_in_changeset(engine: ProcessEngine) -> None:
    def reject_all(changes: dict[str, object]) -> dict[str, object]:
        raise NotFoundError("parameter", next(iter(changes)))

    parsed = engine.parse(bpmn_bytes("failures.bpmn"))
    with pytest.raises(ProcessStepError) as caught:
        engine.start(parsed, "chained_writes", {}, session=snapshot(), validate_changes=reject_all)
    assert _facts(caught.value) == (
        "changeset",
        "write_segment",
        "Write segment",
        None,
        "parameter 'segment' not found",
    )
    assert caught.value.parameter_key is None


def test_gateway_condition_error_names_the_gateway(engine: ProcessEngine) -> None:
    data = bpmn_bytes("request_triage.bpmn").replace(b">needs_approval<", b">needs_approvall<")
    parsed = engine.parse(data)
    with pytest.raises(ProcessStepError) as caught:
        engine.start(
            parsed,
            "register_request",
            {"request_type": "refund", "order_number": "AB-1234", "amount": 5},
            session=snapshot(),
            validate_changes=validate_changes,
        )
    assert _facts(caught.value) == (
        "runtime",
        "approval_needed",
        "Needs approval?",
        1,
        "NameError: name 'needs_approvall' is not defined",
    )


@pytest.mark.parametrize(
    ("process_id", "data", "element", "message"),
    [
        ("endless_loop", {"n": 0}, "count", "more than 500 engine steps in one call"),
        (
            "many_instances",
            {"copies": 101},
            "per_item",
            "multi-instance activity would create 101 instances; the cap is 100",
        ),
        (
            "many_items",
            {"items": list(range(500))},
            "per_element",
            "multi-instance activity would create 500 instances; the cap is 100",
        ),
        ("recursive", {}, "call_self", "subprocesses nested deeper than 5 levels"),
    ],
)
def test_runaway_caps(
    engine: ProcessEngine, process_id: str, data: dict[str, object], element: str, message: str
) -> None:
    error = _fail(engine, process_id, data)
    assert (error.kind, error.element_id, error.reason) == ("cap", element, message)


def test_multi_instance_under_the_cap_runs(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("failures.bpmn"))
    # per_element is a plain bpmn:task: it passes through instead of waiting forever
    items = engine.start(
        parsed,
        "many_items",
        {"items": [1, 2]},
        session=snapshot(),
        validate_changes=validate_changes,
    )
    assert (items.status, items.tasks) == ("completed", [])
    result = engine.start(
        parsed,
        "many_instances",
        {"copies": 3},
        session=snapshot(),
        validate_changes=validate_changes,
    )
    assert result.status == "completed"


def test_live_task_cap(process_engine: ProcessEngine) -> None:
    environment = process_engine.environment
    engine = ProcessEngine(environment, limits=EngineLimits(max_live_tasks=2))
    error = _fail(engine, "fan_out")
    assert (error.kind, error.reason) == ("cap", "more than 2 live tasks in this instance")
    relaxed = ProcessEngine(environment, limits=EngineLimits(max_live_tasks=3))
    parsed = relaxed.parse(bpmn_bytes("failures.bpmn"))
    result = relaxed.start(
        parsed, "fan_out", {}, session=snapshot(), validate_changes=validate_changes
    )
    assert [t.element_id for t in result.tasks] == ["ask_a", "ask_b", "ask_c"]


def test_completing_an_unknown_or_finished_task(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("failures.bpmn"))
    result = engine.start(
        parsed, "fan_out", {}, session=snapshot(), validate_changes=validate_changes
    )
    first = result.tasks[0]
    engine.complete_user_task(
        result.workflow, first.id, {}, session=snapshot(), validate_changes=validate_changes
    )
    with pytest.raises(ProcessStepError) as caught:
        engine.complete_user_task(
            result.workflow, first.id, {}, session=snapshot(), validate_changes=validate_changes
        )
    assert (caught.value.kind, caught.value.element_id) == ("engine", "ask_a")
    assert caught.value.reason == f"task {first.id} is COMPLETED, not ready"
    with pytest.raises(ProcessStepError) as caught:
        engine.complete_user_task(
            result.workflow, "nope", {}, session=snapshot(), validate_changes=validate_changes
        )
    assert caught.value.reason == "no user task 'nope' in this instance"


def test_reserved_typename_key_never_reaches_the_saved_workflow(engine: ProcessEngine) -> None:
    data = bpmn_bytes("failures.bpmn").replace(
        b'<bpmn:script>session.params["segment"] = "vip"</bpmn:script>',
        b'<bpmn:script>record = {"typename": "date", "value": "x"}</bpmn:script>',
        1,
    )
    parsed = engine.parse(data)
    with pytest.raises(ProcessStepError) as caught:
        engine.start(
            parsed, "bad_changeset", {}, session=snapshot(), validate_changes=validate_changes
        )
    assert _facts(caught.value)[:3] == ("runtime", "set_segment", "Set segment")
    assert (
        caught.value.reason
        == "task data 'record' is a dict with a 'typename' key, which is reserved"
    )


def test_saved_workflow_with_another_serializer_version(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("failures.bpmn"))
    result = engine.start(
        parsed, "fan_out", {}, session=snapshot(), validate_changes=validate_changes
    )
    saved = engine.serialize(result.workflow)
    with pytest.raises(ProcessStepError) as caught:
        engine.deserialize(
            SerializedWorkflow(saved.json, "spiff-1.4+livechat-0"), parsed, "fan_out"
        )
    assert caught.value.reason == (
        "saved with serializer 'spiff-1.4+livechat-0'; "
        "this engine reads 'spiff-1.5+livechat-2' or 'spiff-1.5+livechat-1'"
    )


def test_scripts_outside_a_step_are_refused(engine: ProcessEngine) -> None:
    parsed = engine.parse(bpmn_bytes("failures.bpmn"))
    workflow = engine.create_workflow(parsed, "chained_writes", {})
    with pytest.raises(ProcessStepError) as caught:
        workflow.do_engine_steps()
    assert caught.value.reason == "scripts can run only inside an engine step"


def _deployable_realworld(engine: ProcessEngine) -> list[bytes]:
    folder = REALWORLD_DIR / "camunda-bpm-examples"
    files = sorted(folder.glob("*.bpmn")) if folder.is_dir() else []
    reports = {p: validate_bpmn(p.read_bytes(), (), engine.scripts) for p in files}
    # A file calling a process of another file needs that process deployed: left out here.
    return [p.read_bytes() for p, report in reports.items() if report.ok and not report.calls]


def test_deployable_realworld_files_start_and_wait(engine: ProcessEngine) -> None:
    files = _deployable_realworld(engine)
    if not files:
        pytest.skip(f"real-world BPMN not found at {REALWORLD_DIR}")
    statuses: list[str] = []
    for data in files:
        parsed = engine.parse(data)
        for process_id in parsed.process_ids:
            result = engine.start(
                parsed, process_id, {}, session=snapshot(), validate_changes=validate_changes
            )
            statuses.append(result.status)
            restored = engine.deserialize(engine.serialize(result.workflow), parsed, process_id)
            assert [t.element_id for t in engine.ready_user_tasks(restored)] == [
                t.element_id for t in result.tasks
            ]
    assert statuses.count("waiting") == 13
