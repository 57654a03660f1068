"""The database a chaos run works on: a scratch PostgreSQL database, migrated, and its seed (users,
a live chat, parameters, the process the workload starts, a webhook, two API tokens)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import create_user
from bpm_livechat.desk.webhooks import add_webhook
from bpm_livechat.models import MemberRole
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.persistence.engines import make_engine, upgrade
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.sessions.lifecycle import create_session
from script_runtime import ScriptPool

PROCESS_ID = "chaos_check"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="chaos_defs"
    targetNamespace="http://bpm-livechat.example/chaos">
  <bpmn:process id="{PROCESS_ID}" name="Chaos check" isExecutable="true">
    <bpmn:startEvent id="begin"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="ref" label="Ref" type="string" />
    </camunda:formData></bpmn:extensionElements><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="note_start" name="Note start" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>session.params["chaos_started"] = ref</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="confirm" name="Confirm"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="answer" label="Answer" type="string" />
    </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="note_answer" name="Note answer" scriptFormat="python">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>session.params["chaos_answer"] = answer</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="note_start" />
    <bpmn:sequenceFlow id="f2" sourceRef="note_start" targetRef="confirm" />
    <bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="note_answer" />
    <bpmn:sequenceFlow id="f4" sourceRef="note_answer" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def seed(engine: Engine, hook_url: str, sessions: int) -> tuple[str, str, list[int]]:
    """Users, a live chat with its channel, parameters, the process, a webhook; two tokens."""
    with ScriptPool(1) as pool, unit_of_work(session_factory(engine)) as db:
        admin = create_user(db, "admin", "admin", "chaos-admin-pass")
        operator = create_user(db, "olga", "operator", "chaos-olga-pass")
        widget = create_user(db, "widget", "channel", "chaos-widget-pass")
        chat = create_live_chat(db, "Chaos", "{client.name}: {subject}")
        add_channel(db, chat, "Web", "web")
        add_member(db, chat, operator, MemberRole.OPERATOR)
        add_member(db, chat, widget, MemberRole.CHANNEL)
        for key in ("chaos_started", "chaos_answer", "chaos_note"):
            add_parameter(db, key, "string", key.replace("_", " ").title())
        deploy(db, pool, BPMN, admin, [chat])
        add_webhook(db, "chaos receiver", hook_url, events=("message", "parameter_changed"))
        ids = [
            create_session(db, chat, client_name=f"Client {i}", subject="Chaos").id
            for i in range(sessions)
        ]
        _, staff = create_token(db, operator, "chaos")
        _, channel = create_token(db, widget, "chaos")
    return staff, channel, ids


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database, migrated; dropped afterwards. Yields its URL."""
    name = f"bpm_livechat_chaos_{uuid.uuid4().hex[:10]}"
    # No pool: a connection kept across the run would not survive a PostgreSQL restart.
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
