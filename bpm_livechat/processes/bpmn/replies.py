"""The text of a process's reply to the client: a `client_reply` message it throws or sends.

The text is the element's `text` input parameter (camunda:inputOutput), with `{variable}`
placeholders filled from task data; without one, the task data variable `reply_text`. Only
plain names are filled (no attributes, indexes or format specs), so a template cannot reach
into an object the way str.format can.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from bpm_livechat.errors import ProcessStepError

CLIENT_REPLY = "client_reply"  # the message name a process throws or sends to talk to the client
REPLY_VARIABLE = "reply_text"
_FORMATTER = string.Formatter()


def template_problem(template: str) -> str | None:
    """Why a reply template cannot be used (a placeholder that is not a plain name), or None."""
    try:
        fields = list(_FORMATTER.parse(template))
    except ValueError as exc:
        return f"the reply text is not a valid template: {exc}"
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            return f"placeholder {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} must be a plain variable name"
    return None


def render_reply(template: str | None, data: Mapping[str, Any], where: dict[str, Any]) -> str:
    """The reply's text from `template` (or task data's `reply_text`); ProcessStepError at
    `where` (element_id, element_name) when it is missing, empty or names unknown data."""
    if template is None:
        text = data.get(REPLY_VARIABLE)
        if not isinstance(text, str) or not text.strip():
            raise ProcessStepError(
                "changeset",
                f"{CLIENT_REPLY} needs a 'text' input parameter or text in task data {REPLY_VARIABLE!r}",
                **where,
            )
        return text
    problem = template_problem(template)
    if problem is not None:
        raise ProcessStepError("changeset", problem, **where)
    parts = []
    for literal, name, _spec, _conversion in _FORMATTER.parse(template):
        parts.append(literal)
        if name is not None:
            if name not in data:
                raise ProcessStepError(
                    "changeset",
                    f"the reply text names {{{name}}}, which is not in task data",
                    **where,
                )
            parts.append(str(data[name]))
    text = "".join(parts)
    if not text.strip():
        raise ProcessStepError("changeset", f"{CLIENT_REPLY} text is empty", **where)
    return text
