"""What deployment validation reports: problems (errors and warnings) and the processes found."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One finding about a BPMN file: the element id, its name and source line when known, in plain
    text (`name` is filled in from the document once validation is done)."""

    element: str | None
    line: int | None
    message: str
    name: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "element": self.element,
            "name": self.name,
            "line": self.line,
            "message": self.message,
        }

    def where(self) -> str:
        """Where the problem is, for one line of text: "Task_1 'Check order' (line 12)"."""
        element = self.element or "-"
        if self.name and self.name != self.element:
            element = f"{element} {self.name!r}"
        return f"{element} (line {self.line or '?'})"


@dataclass(frozen=True)
class ProcessInfo:
    """An executable process in a deployed file; `content_hash` changes when the file's content does."""

    id: str
    name: str
    content_hash: str


@dataclass
class DeployReport:
    """The outcome of validating one BPMN file: deployable when `errors` is empty."""

    processes: list[ProcessInfo] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, element: str | None, line: int | None, message: str) -> None:
        self.errors.append(Problem(element, line, message))

    def warn(self, element: str | None, line: int | None, message: str) -> None:
        self.warnings.append(Problem(element, line, message))
