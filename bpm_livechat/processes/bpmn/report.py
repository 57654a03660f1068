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
    file: str | None = None  # named when several files are deployed together

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"element": self.element, "name": self.name, "line": self.line}
        if self.file is not None:
            data["file"] = self.file
        data["message"] = self.message
        return data

    def where(self) -> str:
        """Where the problem is, for one line of text: "a.bpmn: Task_1 'Check order' (line 12)"."""
        element = self.element or "-"
        if self.name and self.name != self.element:
            element = f"{element} {self.name!r}"
        named = f"{self.file}: " if self.file else ""
        return f"{named}{element} (line {self.line or '?'})"


@dataclass(frozen=True)
class ProcessInfo:
    """An executable process in a deployed file; `content_hash` changes when the file's content does."""

    id: str
    name: str
    content_hash: str


@dataclass(frozen=True)
class CallRef:
    """A call activity of process `process` calling `called`, which is not in the same file."""

    process: str
    element: str
    name: str | None
    line: int | None
    called: str
    binding: str  # camunda:calledElementBinding: "latest", "version" or "deployment"
    version: int | None  # camunda:calledElementVersion with binding "version"

    def where(self) -> str:
        """The call activity as a designer finds it: "id" or "id (name)"."""
        return f"{self.element!r}" + (f" ({self.name})" if self.name else "")


@dataclass
class DeployReport:
    """The outcome of validating one BPMN file: deployable when `errors` is empty."""

    processes: list[ProcessInfo] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    calls: list[CallRef] = field(default_factory=list)  # to be resolved across deployments

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, element: str | None, line: int | None, message: str) -> None:
        self.errors.append(Problem(element, line, message))

    def warn(self, element: str | None, line: int | None, message: str) -> None:
        self.warnings.append(Problem(element, line, message))
