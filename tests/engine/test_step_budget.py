"""Every step has a wall-clock budget across engine work and scripts; runaways are refused at
deployment when they are obvious (a parallel split feeding itself, splits multiplying tokens)."""

from __future__ import annotations

import pytest

from bpm_livechat.errors import ProcessStepError
from bpm_livechat.processes.bpmn.validation import validate_bpmn
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from script_runtime import Limits, ScriptPool
from tests.engine.support import bpmn_bytes

from .test_engine import snapshot, validate_changes

# Script limits that would let each script run for seconds: only the step budget stops them.
ROOMY = Limits(cpu_seconds=10.0, wall_seconds=10.0)
UNCAPPED = {"max_steps_per_call": 1_000_000, "max_live_tasks": 1_000_000}


def _engine(pool: ScriptPool, **limits: float) -> ProcessEngine:
    return ProcessEngine(SandboxEnvironment(pool, ROOMY), limits=EngineLimits(**limits))  # type: ignore[arg-type]


def _start(engine: ProcessEngine, process_id: str) -> ProcessStepError:
    parsed = engine.parse(bpmn_bytes("runaway.bpmn"))
    with pytest.raises(ProcessStepError) as caught:
        engine.start(parsed, process_id, {}, session=snapshot(), validate_changes=validate_changes)
    return caught.value


def test_engine_work_between_scripts_is_bounded_by_the_budget(script_pool: ScriptPool) -> None:
    engine = _engine(script_pool, step_seconds=1.0, **UNCAPPED)
    error = _start(engine, "fork_bomb")
    assert (error.kind, error.reason) == ("cap", "the step ran longer than its budget of 1 s")
    assert error.element_id in {"fb_merge", "fb_split", "fb_left", "fb_right"}


def test_a_script_gets_only_what_is_left_of_the_budget(script_pool: ScriptPool) -> None:
    engine = _engine(script_pool, step_seconds=1.5)
    error = _start(engine, "slow_steps")
    assert (error.kind, error.element_id, error.element_name) == ("cap", "ss_second", "Second wait")
    assert error.reason == "the step ran longer than its budget of 1.5 s"


def test_a_process_sets_its_own_budget(script_pool: ScriptPool) -> None:
    engine = _engine(script_pool, step_seconds=60.0)
    error = _start(engine, "own_budget")
    assert (error.kind, error.element_id) == ("cap", "ob_wait")
    assert error.reason == "the step ran longer than its budget of 1 s"
    parsed = engine.parse(bpmn_bytes("runaway.bpmn"))
    workflow = engine.create_workflow(parsed, "slow_steps", {})
    assert engine.step_budget(workflow) == 60.0


def test_deployment_refuses_a_fork_bomb_naming_the_gateway(script_pool: ScriptPool) -> None:
    report = validate_bpmn(bpmn_bytes("runaway.bpmn"), {"segment"}, script_pool)
    assert [(p.element, p.message[:60]) for p in report.errors] == [
        ("fb_split", "parallel gateway 'fb_split' sends tokens back to itself alon")
    ]


def _splits(*fans: int) -> bytes:
    """A process of parallel splits in a row, each merged by an exclusive gateway."""
    parts, flows, previous = [], [], "start"
    for number, fan in enumerate(fans):
        split, merge = f"split_{number}", f"merge_{number}"
        parts.append(f'<bpmn:parallelGateway id="{split}" /><bpmn:exclusiveGateway id="{merge}" />')
        flows.append((previous, split))
        for branch in range(fan):
            task = f"t_{number}_{branch}"
            parts.append(f'<bpmn:task id="{task}" />')
            flows += [(split, task), (task, merge)]
        previous = merge
    flows.append((previous, "end"))
    xml_flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
        for i, (a, b) in enumerate(flows)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="d" targetNamespace="http://t"><bpmn:process id="p" isExecutable="true">'
        '<bpmn:startEvent id="start" /><bpmn:endEvent id="end" />'
        + "".join(parts)
        + xml_flows
        + "</bpmn:process></bpmn:definitions>"
    ).encode()


def test_deployment_refuses_splits_that_multiply_past_the_cap(script_pool: ScriptPool) -> None:
    report = validate_bpmn(_splits(10, 10, 3), set(), script_pool)
    assert [(p.element, p.message) for p in report.errors] == [
        (
            "split_2",
            "parallel gateway 'split_2' creates 300 tokens at once (the splits before it "
            "multiply), more than the 200 live tasks an instance may have",
        )
    ]
    assert validate_bpmn(_splits(10, 10), set(), script_pool).errors == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "livechat:stepSeconds must be a number of seconds, got 'soon'"),
        ("0", "livechat:stepSeconds must be above 0 and at most 300 seconds, got 0"),
        ("301", "livechat:stepSeconds must be above 0 and at most 300 seconds, got 301"),
    ],
)
def test_a_bad_step_budget_is_refused_at_deployment(
    script_pool: ScriptPool, value: str, message: str
) -> None:
    bpmn = bpmn_bytes("runaway.bpmn").replace(b'value="1"', f'value="{value}"'.encode())
    report = validate_bpmn(bpmn, {"segment"}, script_pool)
    assert ("own_budget", message) in [(p.element, p.message) for p in report.errors]
