"""Demo data: two live chats, the four demo users, custom parameters and realistic sessions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.demo.apps import load_demo_apps
from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import (
    AuthorKind,
    LiveChat,
    MemberRole,
    ParamDefinition,
    QuickReply,
    SupportSession,
    User,
    utcnow,
)
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import set_parameters
from bpm_livechat.processes.autostart import bind_event
from bpm_livechat.processes.deployments import deploy, get_process
from bpm_livechat.sessions.events import SessionEvent
from bpm_livechat.sessions.lifecycle import create_session
from bpm_livechat.sessions.messages import add_message
from bpm_livechat.sessions.quick_replies import save_quick_reply
from script_runtime import ScriptChecker

DEMO_USERS = (
    ("admin", "admin", "Alex Admin", "admin-demo-pass"),
    ("supervisor", "supervisor", "Sam Supervisor", "supervisor-demo-pass"),
    ("operator", "operator", "Olga Operator", "operator-demo-pass"),
    ("sales", "user", "Sid Sales", "sales-demo-pass"),
    ("widget", "channel", "Website widget", "widget-demo-pass"),  # the channels' API account
)

DEMO_OPTION_LABELS: dict[str, dict[str, str]] = {
    "segment": {"smb": "Small business"},
    "outcome": {"follow_up": "Follow-up needed"},
}
DEMO_CONSTRAINTS: dict[str, dict[str, object]] = {
    "satisfaction": {"min": 1, "max": 5},
    "discount_rate": {"min": "0", "max": "100"},
    "order_number": {"max_length": 32},
}
DEMO_PARAMETERS: tuple[tuple[str, str, str, tuple[str, ...], bool, bool], ...] = (
    # key, type, label, options, read_only, required_to_close
    ("segment", "choice", "Segment", ("consumer", "smb", "enterprise"), False, False),
    ("order_number", "string", "Order number", (), False, False),
    ("order_value", "money", "Order value", (), False, False),
    ("satisfaction", "integer", "Satisfaction (1-5)", (), False, False),
    ("newsletter", "boolean", "Newsletter consent", (), False, False),
    (
        "topics",
        "multichoice",
        "Topics",
        ("billing", "delivery", "returns", "technical", "account"),
        False,
        False,
    ),
    ("follow_up_date", "date", "Follow-up date", (), False, False),
    ("callback_at", "datetime", "Callback at", (), False, False),
    ("website", "url", "Website", (), False, False),
    ("discount_rate", "decimal", "Discount rate (%)", (), False, False),
    (
        "preferred_contact_time",
        "choice",
        "Preferred contact time",
        ("morning", "afternoon", "evening"),
        False,
        False,
    ),
    ("contact_email", "email", "Contact email", (), True, False),
    ("contact_phone", "phone", "Contact phone", (), True, False),
    ("contact_summary", "string", "Contact summary", (), True, False),
    ("summary", "text", "Summary", (), False, False),
    ("outcome", "choice", "Outcome", ("resolved", "follow_up", "escalated"), False, True),
    ("request_number", "string", "Request number", (), True, False),
    ("sla_breached", "boolean", "SLA breached", (), True, False),
    ("survey_status", "choice", "Survey", ("asked", "rated", "invalid", "no_answer"), True, False),
    ("follow_up_label", "string", "Follow-up", (), True, False),
)
PROCESSES = Path(__file__).resolve().parents[2] / "processes"
BUNDLED_PROCESSES = (
    "collect_contact_details.bpmn",
    "summarize_session.bpmn",
    "register_request.bpmn",
    "sla_escalation.bpmn",
    "satisfaction_survey.bpmn",
)

_CLIENTS = (
    ("Maria Garcia", "maria.garcia@example.com", "+34 612 345 678"),
    ("James Smith", "james.smith@example.org", "+44 20 7946 0958"),
    ("Li Wei", "li.wei@example.net", "+86 138 0013 8000"),
    ("Fatima Khan", "fatima.khan@example.com", None),
    ("Lukas Müller", "lukas.mueller@example.de", "+49 30 901820"),
    ("Aiko Tanaka", None, "+81 3-1234-5678"),
    ("Pierre Dubois", "pierre.dubois@example.fr", None),
    ("Olivia Brown", "olivia.brown@example.com", "+1 (415) 555-0132"),
    ("Noah Johnson", None, None),
    ("Sofia Rossi", "sofia.rossi@example.it", "+39 06 6982"),
)
_CONVERSATIONS = (
    (
        "Where is my order?",
        ["Hi, my order {order} has not arrived yet.", "It was due last Friday."],
        "delivery",
    ),
    (
        "Refund for a damaged item",
        ["The blender I received is cracked.", "Can I get a refund?"],
        "returns",
    ),
    (
        "Invoice shows the wrong amount",
        ["My invoice for {order} is higher than the price I saw."],
        "billing",
    ),
    ("Cannot log in", ["I reset my password twice and still cannot log in."], "account"),
    (
        "App crashes on start",
        ["The app closes right after the splash screen.", "I use Android 14."],
        "technical",
    ),
    ("Change delivery address", ["Can I still change the address for {order}?"], "delivery"),
    (
        "Bulk order pricing",
        ["We need 200 units for our offices. Do you offer volume discounts?"],
        "billing",
    ),
    (
        "Cancel my subscription",
        ["Please cancel my subscription at the end of this month."],
        "account",
    ),
)
_REPLIES = (
    "Thanks for reaching out, let me check that for you.",
    "I have looked into it: I will update you shortly.",
    "Could you confirm the email address on your account?",
)


@dataclass(frozen=True)
class DemoSummary:
    """What the demo set-up created (or found already there)."""

    users: tuple[tuple[str, str, str], ...]
    live_chats: int
    sessions: int
    parameters: int
    processes: tuple[str, ...] = ()


def load_demo(db: Session, scripts: ScriptChecker, sessions_per_chat: int = 32) -> DemoSummary:
    """Create the demo data; running it again adds nothing that already exists.

    `scripts` compiles the bundled processes' scripts when they are deployed.
    """
    users = {u: _ensure_user(db, u, role, name, pw) for u, role, name, pw in DEMO_USERS}
    for key, type_name, label, options, read_only, required in DEMO_PARAMETERS:
        if db.scalar(select(ParamDefinition.id).where(ParamDefinition.key == key)) is None:
            add_parameter(
                db,
                key,
                type_name,
                label,
                options=options,
                read_only=read_only,
                required_to_close=required,
                constraints=DEMO_CONSTRAINTS.get(key),
                option_labels=DEMO_OPTION_LABELS.get(key),
            )
    support = _ensure_chat(
        db,
        "Customer Support",
        "{client.name}: {subject}",
        [("Website widget", "web"), ("Telegram", "telegram")],
    )
    sales = _ensure_chat(
        db,
        "Sales",
        "{channel.name} {created_at:%d.%m.%Y} — {client.name}",
        [("Email", "email"), ("WhatsApp", "whatsapp")],
    )
    for chat in (support, sales):
        add_member(db, chat, users["supervisor"], MemberRole.SUPERVISOR)
        add_member(db, chat, users["sales"], MemberRole.READER)
        add_member(db, chat, users["widget"], MemberRole.CHANNEL)
    add_member(db, support, users["operator"], MemberRole.OPERATOR)
    processes = _deploy_bundled(db, scripts, users["admin"], [support, sales])
    rng = random.Random(42)
    for chat in (support, sales):
        if not db.scalar(select(func.count()).where(SupportSession.live_chat_id == chat.id)):
            for index in range(sessions_per_chat):
                _demo_session(db, chat, users, rng, index)
    load_demo_apps(db)
    _load_quick_replies(db, support)
    total_sessions = db.scalar(select(func.count()).select_from(SupportSession)) or 0
    return DemoSummary(
        users=tuple((u, role, pw) for u, role, _name, pw in DEMO_USERS),
        live_chats=2,
        sessions=total_sessions,
        parameters=len(DEMO_PARAMETERS),
        processes=processes,
    )


# Response templates operators insert from the reply box (title, text, Customer Support only).
DEMO_QUICK_REPLIES = (
    ("Welcome", "Hello {client.name}, thanks for writing to {live_chat.name}! Let me look.", False),
    ("Ask for the order number", "Could you tell me your order number, {client.name}?", True),
)


def _load_quick_replies(db: Session, support: LiveChat) -> None:
    if db.scalar(select(func.count()).select_from(QuickReply)):
        return
    for title, body, support_only in DEMO_QUICK_REPLIES:
        save_quick_reply(db, title, body, support if support_only else None)


def _deploy_bundled(
    db: Session, scripts: ScriptChecker, admin: User, chats: list[LiveChat]
) -> tuple[str, ...]:
    """Deploy the example processes in processes/ and offer them in the demo live chats."""
    if not PROCESSES.is_dir():  # an installed copy without the repository's processes/ folder
        return ()
    deployed: list[str] = []
    for name in BUNDLED_PROCESSES:
        result = deploy(db, scripts, (PROCESSES / name).read_bytes(), admin, chats)
        deployed += [p.name for p in result.processes]
    register = get_process(db, "register_request")
    mapping = {"subject": "session.subject", "client_name": "client.name"}
    bind_event(db, register, SessionEvent.SESSION_CLOSED, admin, mapping)
    bind_event(db, get_process(db, "sla_escalation"), SessionEvent.SESSION_CREATED, admin, {})
    survey = get_process(db, "satisfaction_survey")
    bind_event(db, survey, SessionEvent.SESSION_CLOSED, admin, {})
    return tuple(deployed)


def _ensure_user(db: Session, username: str, role: str, name: str, password: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    return user or create_user(db, username, role, password, display_name=name)


def _ensure_chat(
    db: Session, name: str, template: str, channels: list[tuple[str, str]]
) -> LiveChat:
    chat = db.scalar(select(LiveChat).where(LiveChat.name == name))
    if chat is None:
        chat = create_live_chat(db, name, template)
        for channel_name, kind in channels:
            add_channel(db, chat, channel_name, kind)
    return chat


def _demo_session(
    db: Session, chat: LiveChat, users: dict[str, User], rng: random.Random, index: int
) -> None:
    client_name, email, phone = _CLIENTS[rng.randrange(len(_CLIENTS))]
    subject, lines, topic = _CONVERSATIONS[rng.randrange(len(_CONVERSATIONS))]
    created = utcnow() - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
    staffed = chat.name == "Customer Support" and index % 3 != 0
    session = create_session(
        db,
        chat,
        client_name=client_name,
        client_email=email,
        client_phone=phone,
        subject=subject,
        channel_name=chat.channels[index % len(chat.channels)].name,
        priority=rng.choice(["low", "normal", "normal", "high", "urgent"]),
        operator=users["operator"] if staffed else None,
        created_at=created,
    )
    order = f"ORD-{rng.randint(10000, 99999)}"
    when = created
    for line in lines:
        when += timedelta(minutes=rng.randint(1, 4))
        add_message(db, session, line.format(order=order), AuthorKind.CLIENT.value, sent_at=when)
    if staffed:
        when += timedelta(minutes=rng.randint(1, 10))
        add_message(
            db, session, rng.choice(_REPLIES), AuthorKind.OPERATOR.value, users["operator"], when
        )
    values: dict[str, object] = {
        "segment": rng.choice(["consumer", "consumer", "smb", "enterprise"]),
        "topics": [topic],
    }
    if "{order}" in " ".join(lines):
        values["order_number"] = order
        values["order_value"] = {
            "amount": Decimal(rng.randint(1500, 250000)) / 100,
            "currency": "EUR",
        }
    if index % 4 == 0:
        values["satisfaction"] = rng.randint(1, 5)
        values["outcome"] = rng.choice(["resolved", "follow_up", "escalated"])
    set_parameters(db, session, values, user_actor(users["admin"]))
