"""Decisions: deploy DMN (versions, every problem named by decision, rule and column), evaluate
them in the sandbox through business rule tasks and the bench, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.models import DecisionVersion, ProcessInstance
from bpm_livechat.params.actors import Actor
from bpm_livechat.params.values import get_parameters, set_parameters
from bpm_livechat.processes.decisions.bench import try_decision
from bpm_livechat.processes.decisions.store import (
    DecisionRejected,
    deploy_decisions,
    get_decision,
)
from bpm_livechat.processes.deployments import DeploymentRejected, deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.failures import ProcessFailed
from bpm_livechat.processes.instances import complete_task, start_process
from tests.decisions.support import dinner_dmn, read_file, table
from tests.support import Desk, count, new_session

AMOUNT = '<input id="i" label="Amount"><inputExpression typeRef="integer"><text>amount</text></inputExpression></input>'


def _rule(rule_id: str, test: str, output: str) -> str:
    return (
        f'<rule id="{rule_id}"><inputEntry><text>{test}</text></inputEntry>'
        f"<outputEntry><text>{output}</text></outputEntry></rule>"
    )


def _answer(db: Session, engine: ProcessEngine, desk: Desk, session_id: int,
            decision: str, **data: object) -> dict[str, object]:  # fmt: skip
    tried = try_decision(db, engine.scripts, decision, session_id, desk.admin, data)
    assert tried.failure is None
    return tried.result


def test_the_camunda_dinner_decisions_deploy_and_answer_as_their_rows_say(
    db_session: Session, desk: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    result = deploy_decisions(db, process_engine.scripts, dinner_dmn(), desk.admin)
    assert [(d.id, d.version, d.hit_policy) for d in result.decisions] == [
        ("beverages", 1, "COLLECT"),
        ("dish", 1, "UNIQUE"),
    ]
    session_id = new_session(db, desk).id

    def dish(season: str, guests: int) -> object:
        data = _answer(db, process_engine, desk, session_id, "dish",
                       season=season, guestCount=guests)  # fmt: skip
        return data["desiredDish"]

    assert dish("Fall", 8) == "Spareribs"  # rule 1: "Fall", <= 8
    assert dish("Winter", 2) == "Roastbeef"  # rule 2
    assert dish("Spring", 4) == "Dry Aged Gourmet Steak"  # rule 3: <= 4
    assert dish("Spring", 5) == "Steak"  # rule 4: [5..8]
    assert dish("Spring", 8) == "Steak"
    assert dish("Winter", 9) == "Stew"  # rule 5: "Fall","Winter","Spring", > 8
    assert dish("Summer", 30) == "Light Salad and a nice Steak"  # rule 6
    # beverages requires dish (a DRG): dish is decided first, its output seen by name
    tried = try_decision(db, process_engine.scripts, "beverages", session_id, desk.admin,
                         {"season": "Winter", "guestCount": 9, "guestsWithChildren": True})  # fmt: skip
    assert tried.required == {"desiredDish": "Stew"}
    assert [rule.number for rule in tried.matched] == [2, 5, 6]
    assert tried.result == {"beverages": ["Guiness", "Apple Juice", "Water"]}
    tried = try_decision(db, process_engine.scripts, "beverages", session_id, desk.admin,
                         {"season": "Spring", "guestCount": 5, "guestsWithChildren": False})  # fmt: skip
    assert tried.result == {"beverages": ["Pinot Noir", "Water"]}  # "Steak" is in rule 4's list


def test_a_changed_file_makes_a_new_version_and_the_same_file_does_not(
    db_session: Session, desk: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    first = table("tier", "UNIQUE", AMOUNT, _rule("r1", "&lt; 10", '"small"'))
    second = table("tier", "UNIQUE", AMOUNT, _rule("r1", "&lt; 20", '"small"'))
    assert deploy_decisions(db, process_engine.scripts, first, desk.admin).decisions[0].version == 1
    again = deploy_decisions(db, process_engine.scripts, first, desk.admin).decisions[0]
    assert (again.version, again.created) == (1, False)
    assert (
        deploy_decisions(db, process_engine.scripts, second, desk.admin).decisions[0].version == 2
    )
    db.commit()
    assert [v.number for v in get_decision(db, "tier").versions] == [1, 2]
    session_id = new_session(db, desk).id
    assert _answer(db, process_engine, desk, session_id, "tier", amount=15) == {"result": "small"}
    pinned = try_decision(
        db, process_engine.scripts, "tier", session_id, desk.admin, {"amount": 15}, 1
    )
    assert (pinned.version, pinned.matched, pinned.result) == (1, [], {})


@pytest.mark.parametrize(
    ("hit_policy", "rules", "message"),
    [
        ("ANY", _rule("r1", "1", '"x"'),
         "decision 'tier' (Tier): hit policy 'ANY' is not supported; use UNIQUE, FIRST or COLLECT"),
        ("UNIQUE", _rule("r1", "__import__('os')", '"x"'),
         "decision 'tier' (Tier), rule 1 (r1), input 'Amount': \"__import__('os')\" is not a "
         'Python expression the sandbox accepts ("__import__" is an invalid variable name '
         'because it starts with "_"); write it in Python'),
        ("UNIQUE", _rule("r1", "1", "5"),
         "decision 'tier' (Tier), rule 1 (r1), output 'Result': '5' is an integer, but the "
         "column is typed string"),
        ("UNIQUE", _rule("r1", '"ten"', '"x"'),
         "decision 'tier' (Tier), rule 1 (r1), input 'Amount': '\"ten\"' is a string, but the "
         "column is typed integer"),
        ("UNIQUE", _rule("r1", 'date("2020-01-01")', '"x"'),
         "decision 'tier' (Tier), rule 1 (r1), input 'Amount': 'date(\"2020-01-01\")' calls a "
         "FEEL function; write it in Python"),
        ("UNIQUE", _rule("r1", "${amount > 5}", '"x"'),
         "decision 'tier' (Tier), rule 1 (r1), input 'Amount': '${amount > 5}' is a JUEL "
         "expression; write it in Python"),
        ("UNIQUE", _rule("r1", "&gt;&gt; 3", '"x"'),
         "decision 'tier' (Tier), rule 1 (r1), input 'Amount': '&gt;&gt; 3' is not a Python "
         "expression the sandbox accepts (SyntaxError: invalid syntax); write it in Python"),
    ],
)  # fmt: skip
def test_a_bad_table_is_refused_naming_the_decision_rule_and_column(
    db_session: Session, desk: Desk, process_engine: ProcessEngine,
    hit_policy: str, rules: str, message: str,
) -> None:  # fmt: skip
    db = db_session
    dmn = table("tier", hit_policy, AMOUNT, rules)
    with pytest.raises(DecisionRejected) as caught:
        deploy_decisions(db, process_engine.scripts, dmn, desk.admin)
    assert [p.message for p in caught.value.problems] == [message.replace("&gt;", ">")]
    assert caught.value.problems[0].element == "tier"
    assert count(db, DecisionVersion) == 0


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("'{0.__class__}'.format(?) == ''",
         'access to attribute "__class__" is not allowed'),
        ("len('x' * (10 ** 10)) == ?",
         "script exceeded the value_bytes limit (16777216): repetition too large"),
    ],
)  # fmt: skip
def test_a_hostile_cell_that_compiles_fails_in_the_sandbox_with_the_cell_named(
    db_session: Session, desk: Desk, process_engine: ProcessEngine, cell: str, message: str
) -> None:
    db = db_session
    rules = _rule("r1", cell, '"x"')
    deploy_decisions(db, process_engine.scripts, table("tier", "UNIQUE", AMOUNT, rules), desk.admin)
    session_id = new_session(db, desk).id
    tried = try_decision(db, process_engine.scripts, "tier", session_id, desk.admin, {"amount": 1})
    assert tried.failure == f"decision 'tier' (Tier), rule 1 (r1), input 'Amount': {message}"


def test_a_stored_cell_that_skipped_the_deploy_checks_is_still_refused_by_the_sandbox(
    db_session: Session, desk: Desk, process_engine: ProcessEngine
) -> None:
    """The sandbox, not the deploy check, is what stands between a cell and the host."""
    db = db_session
    deploy_decisions(db, process_engine.scripts,
                     table("tier", "UNIQUE", AMOUNT, _rule("r1", "1", '"x"')), desk.admin)  # fmt: skip
    version = get_decision(db, "tier").versions[0]
    hostile = _rule("r1", "__import__('os').system('touch /tmp/owned') == ?", '"x"')
    version.dmn = table("tier", "UNIQUE", AMOUNT, hostile)
    db.flush()
    session_id = new_session(db, desk).id
    tried = try_decision(db, process_engine.scripts, "tier", session_id, desk.admin, {"amount": 1})
    assert tried.failure == (
        "decision 'tier' (Tier), rule 1 (r1), input 'Amount': \"__import__\" is an invalid "
        'variable name because it starts with "_"'
    )


def test_unique_with_two_matching_rules_fails_naming_them(
    db_session: Session, desk: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    rules = _rule("r1", "&lt; 10", '"small"') + _rule("r2", "&lt; 5", '"tiny"')
    deploy_decisions(db, process_engine.scripts, table("tier", "UNIQUE", AMOUNT, rules), desk.admin)
    session_id = new_session(db, desk).id
    tried = try_decision(db, process_engine.scripts, "tier", session_id, desk.admin, {"amount": 3})
    assert (
        tried.failure
        == "decision 'tier' (Tier): rules 1, 2 all match, but the hit policy is UNIQUE"
    )


def test_a_business_rule_task_decides_over_task_data_and_parameters_and_a_script_writes_it(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    db = db_session
    with pytest.raises(DeploymentRejected) as refused:
        deploy(db, process_engine.scripts, read_file("triage.bpmn"), desk.admin, [desk.support])
    assert [(p.element, p.message) for p in refused.value.problems] == [
        ("decide_segment", "decision 'segment' is not deployed; deploy its DMN file first")
    ]
    db.rollback()
    deploy_decisions(db, process_engine.scripts, read_file("segment.dmn"), desk.admin)
    deploy(db, process_engine.scripts, read_file("triage.bpmn"), desk.admin, [desk.support])
    db.commit()
    big = new_session(db, desk)
    outcome = start_process(db, process_engine, big, "triage", {"amount": 1500}, desk.operator)
    db.commit()
    assert outcome.log == ["decision segment v1: rules matched: 1\n"]
    # saved and restored at the user task; the script after it writes the parameter
    instance = db.get(ProcessInstance, outcome.instance.id)
    assert instance is not None
    complete_task(db, process_engine, instance, outcome.tasks[0].task_id, {}, desk.operator)
    db.commit()
    assert get_parameters(db, big.id)["segment"] == "vip"
    # a session parameter read by the table (rule 2), an amount that is not big
    said = new_session(db, desk)
    set_parameters(db, said, {"summary": "asked for vip treatment"}, Actor(desk.operator))
    db.commit()
    outcome = start_process(db, process_engine, said, "triage", {"amount": 10}, desk.operator)
    complete_task(db, process_engine, outcome.instance, outcome.tasks[0].task_id, {}, desk.operator)
    plain = new_session(db, desk)
    outcome = start_process(db, process_engine, plain, "triage", {"amount": 10}, desk.operator)
    complete_task(db, process_engine, outcome.instance, outcome.tasks[0].task_id, {}, desk.operator)
    db.commit()
    assert get_parameters(db, said.id)["segment"] == "vip"
    assert get_parameters(db, plain.id)["segment"] == "standard"


def test_a_failing_decision_fails_the_step_at_the_business_rule_task(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    db = db_session
    rules = _rule("r1", "? > limit", '"vip"')
    dmn = table("segment", "FIRST", AMOUNT, rules,
                '<output id="o" label="Segment" name="segment" typeRef="string" />')  # fmt: skip
    deploy_decisions(db, process_engine.scripts, dmn, desk.admin)
    deploy(db, process_engine.scripts, read_file("triage.bpmn"), desk.admin, [desk.support])
    db.commit()
    session = new_session(db, desk)
    with pytest.raises(ProcessFailed) as caught:
        start_process(db, process_engine, session, "triage", {"amount": 1}, desk.operator)
    cause = caught.value.failed.cause
    assert (cause.kind, cause.element_id) == ("runtime", "decide_segment")
    assert cause.reason == (
        "decision 'segment' (Segment), rule 1 (r1), input 'Amount': "
        "NameError: name 'limit' is not defined"
    )


def test_a_waiting_instance_uses_the_latest_version_when_the_task_runs_unless_pinned(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    db = db_session
    scripts = process_engine.scripts
    deploy_decisions(db, scripts, read_file("segment.dmn"), desk.admin)
    later = read_file("triage_later.bpmn")
    pinned = later.replace(b'id="triage_later"', b'id="triage_pinned"').replace(
        b'camunda:decisionRef="segment"',
        b'camunda:decisionRef="segment" camunda:decisionRefBinding="version" '
        b'camunda:decisionRefVersion="1"',
    )
    deploy(db, scripts, later, desk.admin, [desk.support])
    deploy(db, scripts, pinned, desk.admin, [desk.support])
    db.commit()
    waiting = {}
    for process_id in ("triage_later", "triage_pinned"):
        session = new_session(db, desk)
        outcome = start_process(
            db, process_engine, session, process_id, {"amount": 1500}, desk.operator
        )
        waiting[process_id] = (session.id, outcome.instance, outcome.tasks[0].task_id)
    db.commit()
    # version 2: big orders are "standard" now
    v2 = read_file("segment.dmn").replace(b'<text>"vip"</text>', b'<text>"standard"</text>', 1)
    assert deploy_decisions(db, scripts, v2, desk.admin).decisions[0].version == 2
    db.commit()
    logs = {}
    for process_id, (session_id, instance, task_id) in waiting.items():
        outcome = complete_task(db, process_engine, instance, task_id, {}, desk.operator)
        logs[process_id] = outcome.log
        db.commit()
        waiting[process_id] = (session_id, instance, task_id)
    assert logs == {
        "triage_later": ["decision segment v2: rules matched: 1\n"],
        "triage_pinned": ["decision segment v1: rules matched: 1\n"],
    }
    assert get_parameters(db, waiting["triage_later"][0])["segment"] == "standard"
    assert get_parameters(db, waiting["triage_pinned"][0])["segment"] == "vip"


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("", "business rule task has no camunda:decisionRef; name the id of a deployed DMN decision"),
        ('camunda:decisionRef="segment" camunda:decisionRefBinding="deployment"',
         "camunda:decisionRefBinding 'deployment' is not supported; use 'latest' or 'version' "
         "(with camunda:decisionRefVersion)"),
        ('camunda:decisionRef="segment" camunda:decisionRefBinding="version" '
         'camunda:decisionRefVersion="7"', "decision 'segment' has no version 7"),
        ('camunda:decisionRef="segment" camunda:mapDecisionResult="firstEntry"',
         "camunda:mapDecisionResult 'firstEntry' is not one of resultList, singleResult, "
         "singleEntry, collectEntries"),
        ('camunda:class="org.example.Rules"',
         "business rule task uses camunda:class, which cannot run here; reference a DMN "
         "decision with camunda:decisionRef"),
    ],
)  # fmt: skip
def test_a_business_rule_task_that_cannot_bind_is_refused_at_deploy(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine,
    attributes: str, message: str,
) -> None:  # fmt: skip
    db = db_session
    deploy_decisions(db, process_engine.scripts, read_file("segment.dmn"), desk.admin)
    bpmn = read_file("triage.bpmn").replace(
        b'camunda:decisionRef="segment" camunda:resultVariable="chosen"\n'
        b'        camunda:mapDecisionResult="singleEntry"',
        attributes.encode() + b' camunda:resultVariable="chosen"',
    )
    with pytest.raises(DeploymentRejected) as refused:
        deploy(db, process_engine.scripts, bpmn, desk.admin)
    assert [(p.element, p.message) for p in refused.value.problems] == [("decide_segment", message)]


def test_a_huge_cell_is_refused_before_anything_scans_it(
    db_session: Session, desk: Desk, process_engine: ProcessEngine
) -> None:
    cell = '"?"' + " ?" * 5000
    with pytest.raises(DecisionRejected) as caught:
        deploy_decisions(db_session, process_engine.scripts,
                         table("tier", "UNIQUE", AMOUNT, _rule("r1", cell, '"x"')), desk.admin)  # fmt: skip
    assert [p.message for p in caught.value.problems] == [
        "decision 'tier' (Tier), rule 1 (r1), input 'Amount': is 10003 characters long; the "
        "limit is 2000"
    ]
