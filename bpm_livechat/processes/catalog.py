"""What a deployed version holds, for designers to read: its forms and its scripts; and activation."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from sqlalchemy.orm import Session

from bpm_livechat.models import Process, User
from bpm_livechat.processes.bpmn.forms import read_form
from bpm_livechat.processes.bpmn.xml import BPMN_NS, line_of, parse_bpmn_xml
from bpm_livechat.processes.deployments import get_version, require_designer
from bpm_livechat.processes.forms import FormField


@dataclass(frozen=True)
class FormView:
    """The form of a start event or user task: where it is and its fields."""

    element: str
    name: str
    kind: str
    line: int | None
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class ScriptView:
    """A script task's Python, with the BPMN line its text starts at."""

    element: str
    name: str
    line: int | None
    source: str


@dataclass(frozen=True)
class VersionContents:
    """The forms and scripts of one BPMN file, in document order."""

    forms: tuple[FormView, ...]
    scripts: tuple[ScriptView, ...]


def version_contents(bpmn: bytes) -> VersionContents:
    """Read the forms (start events, user tasks) and scripts (script tasks) of a BPMN file."""
    root = parse_bpmn_xml(bpmn).root
    forms: list[FormView] = []
    scripts: list[ScriptView] = []
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        local = etree.QName(node).localname
        ident, name = node.get("id", ""), node.get("name", "")
        if local in {"startEvent", "userTask"}:
            form = read_form(node)
            if form.fields:
                kind = "start form" if local == "startEvent" else "task form"
                forms.append(FormView(ident, name, kind, line_of(node), form.fields))
        elif local == "scriptTask":
            script = node.find(f"{{{BPMN_NS}}}script")
            text = (script.text or "") if script is not None else ""
            scripts.append(ScriptView(ident, name, line_of(script), text))
    return VersionContents(tuple(forms), tuple(scripts))


def activate(db: Session, process: Process, user: User, number: int | None = None) -> None:
    """Offer a version again (or, without `number`, the whole process)."""
    require_designer(user)
    if number is None:
        process.active = True
    else:
        get_version(db, process, number).active = True
    db.flush()
