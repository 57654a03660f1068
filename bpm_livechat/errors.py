"""The one exception family of bpm_livechat: domain errors carrying their context, never HTTP codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class BpmLivechatError(Exception):
    """Base of every error the core raises for a user's or caller's mistake."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(BpmLivechatError):
    """A named thing (session, user, live chat, parameter...) does not exist."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident!r} not found")
        self.kind = kind
        self.ident = ident


class AccessDeniedError(BpmLivechatError):
    """The acting user may not see or change this thing; `fields` names a refused field."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields: dict[str, str] = dict(fields or {})


class ConflictError(BpmLivechatError):
    """Someone else changed the same thing first; reload and try again."""


class StaleEditError(ConflictError):
    """An edit made from an outdated page: `field` changed since, by `changed_by` (a person's
    name or a process) at `changed_at`; nothing was saved."""

    def __init__(
        self, field: str, message: str, changed_by: str | None, changed_at: datetime | None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.changed_by = changed_by
        self.changed_at = changed_at


class ValidationError(BpmLivechatError):
    """Input was rejected; `fields` maps each offending field to its message."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields: dict[str, str] = dict(fields or {})


class ParameterValueError(ValidationError):
    """A value does not fit its parameter's type or options."""

    def __init__(self, key: str, type_name: str, value: object, reason: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"parameter {key!r} ({type_name}): {reason}: {shown}", {key: reason})
        self.key = key
        self.type_name = type_name
        self.value = value
        self.reason = reason


class SystemParameterError(ValidationError):
    """A system parameter cannot be changed, archived or shadowed by a custom one."""

    def __init__(self, key: str, action: str) -> None:
        super().__init__(f"{key!r} is a system parameter and cannot be {action}", {key: action})
        self.key = key


class TemplateError(ValidationError):
    """A session name template is malformed; `position` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}", {"name_template": message})
        self.position = position


class BpmnDocumentError(BpmLivechatError):
    """An uploaded BPMN file is unsafe or not well-formed XML; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.reason = message
        self.line = line


class ProcessStepError(BpmLivechatError):
    """A process step failed (script error, limit, invalid changeset, runaway cap); roll it back.

    `kind` is one of compile, policy, runtime, limit, changeset, cap, engine; `line` is the
    script line (1-based) when a script or expression was at fault.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        element_id: str | None = None,
        element_name: str | None = None,
        line: int | None = None,
        parameter_key: str | None = None,
    ) -> None:
        where = f" at {element_id}" if element_id else ""
        super().__init__(f"{kind} error{where}: {message}")
        self.kind = kind
        self.reason = message
        self.element_id = element_id
        self.element_name = element_name
        self.line = line
        self.parameter_key = parameter_key


class CapacityError(BpmLivechatError):
    """No sandbox worker could take the step's script now (all busy, or none can start);
    nothing was done, and a retry after `retry_after` seconds may succeed."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SessionTakenError(ConflictError):
    """Another operator took (or was given) the session first; `holder` is their username."""

    def __init__(self, session_id: int, holder: str, holder_name: str) -> None:
        super().__init__(f"session {session_id} was already taken by {holder_name} ({holder})")
        self.session_id = session_id
        self.holder = holder
        self.holder_name = holder_name


class SessionClosedError(ConflictError):
    """The session is closed, so it is read-only: no edit, rename, process step or reply."""

    def __init__(self, session_id: int, when: str, by: str | None) -> None:
        who = f" by {by}" if by else ""
        super().__init__(f"session {session_id} was closed on {when}{who} and is read-only")
        self.session_id = session_id


class OperatorOfflineError(BpmLivechatError):
    """The acting user set themselves Offline: they may read, not work."""

    def __init__(self, username: str, action: str) -> None:
        super().__init__(f"You are Offline: set yourself Online to {action}")
        self.username = username
        self.action = action
