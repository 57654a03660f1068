"""A person's parameter edit of a session (page, API, CLI): guarded, validated, recorded."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.models import SupportSession, User
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import ParamChange, set_parameters
from bpm_livechat.sessions.events import record_parameter_changes
from bpm_livechat.sessions.guards import require_writable


def edit_parameters(
    db: Session, clock: Clock, session: SupportSession, changes: Mapping[str, object], user: User
) -> dict[str, ParamChange]:
    """Set parameters as `user` (refused on a closed session or while Offline), all or
    nothing, and record the `parameter_changed` event; returns what changed."""
    require_writable(session, user, "edit parameters")
    applied = set_parameters(db, session, changes, user_actor(user))
    record_parameter_changes(db, clock, session.id, applied)
    return applied
