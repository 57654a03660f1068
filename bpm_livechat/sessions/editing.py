"""A person's parameter edit of a session (page, API, CLI): guarded, validated, recorded."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.models import SupportSession, User
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import (
    ParamChange,
    apply_normalized,
    normalize_changes,
    read_for_update,
)
from bpm_livechat.routing.triggers import Reason, route_if_needed
from bpm_livechat.sessions.events import record_parameter_changes
from bpm_livechat.sessions.guards import require_writable
from bpm_livechat.sessions.stale import check_parameters_seen


def edit_parameters(
    db: Session,
    clock: Clock,
    session: SupportSession,
    changes: Mapping[str, object],
    user: User,
    seen: Mapping[str, int] | None = None,
) -> dict[str, ParamChange]:
    """Set parameters as `user` (refused on a closed session or while Offline), all or
    nothing, and record the `parameter_changed` event; returns what changed. With `seen` (the
    newest history id of each key the page showed), a key changed since is a StaleEditError."""
    require_writable(session, user, "edit parameters")
    stored = read_for_update(db, session.id)  # writers of this session queue here first
    if seen:
        check_parameters_seen(db, session.id, seen)
    actor = user_actor(user)
    applied = apply_normalized(
        db, session, normalize_changes(db, changes, actor), actor, stored=stored
    )
    record_parameter_changes(db, clock, session.id, applied)
    route_if_needed(db, clock, session, Reason.PARAMETER_CHANGED, applied)
    return applied
