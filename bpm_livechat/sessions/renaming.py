"""Name templates applied to existing sessions: preview on a real session, count, then rename."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import check_template
from bpm_livechat.desk.naming import render_name
from bpm_livechat.live.feed import LiveKind, publish
from bpm_livechat.models import LiveChat, SupportSession
from bpm_livechat.sessions.lifecycle import name_context, template_name


@dataclass(frozen=True)
class NamePreview:
    """What `template` would call `session` (None when the live chat has no session yet)."""

    name: str
    session: SupportSession | None


@dataclass(frozen=True)
class Rename:
    """One session whose template-given name would change."""

    session: SupportSession
    old_name: str
    new_name: str


def sample_session(db: Session, chat: LiveChat) -> SupportSession | None:
    """The live chat's newest session: the real session a template preview is rendered on."""
    query = (
        select(SupportSession)
        .where(SupportSession.live_chat_id == chat.id)
        .order_by(SupportSession.created_at.desc(), SupportSession.id.desc())
        .limit(1)
    )
    return db.scalar(query)


def preview_name(db: Session, chat: LiveChat, template: str) -> NamePreview:
    """Render `template` (checked first: TemplateError) on the live chat's newest session."""
    parsed = check_template(db, template)
    session = sample_session(db, chat)
    if session is None:
        return NamePreview("", None)
    return NamePreview(render_name(parsed, name_context(db, session, parsed.param_keys)), session)


def pending_renames(db: Session, chat: LiveChat) -> list[Rename]:
    """Sessions of `chat` not named by hand whose name the current template would change."""
    query = (
        select(SupportSession)
        .where(SupportSession.live_chat_id == chat.id, SupportSession.name_is_manual.is_(False))
        .order_by(SupportSession.id)
    )
    renames = []
    for session in db.scalars(query):
        new_name = template_name(db, session)
        if new_name != session.name:
            renames.append(Rename(session, session.name, new_name))
    return renames


def apply_template(db: Session, chat: LiveChat) -> int:
    """Re-render the names not given by hand from the live chat's template; how many changed."""
    renames = pending_renames(db, chat)
    for rename in renames:
        rename.session.name = rename.new_name
    db.flush()
    if renames:  # one event for the chat: its open pages reload what they show
        publish(db, LiveKind.SESSION_CHANGED, None, chat.id, {"what": "renamed"})
    return len(renames)
