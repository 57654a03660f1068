"""Request and response models of the REST API; they validate input and document the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text255 = Annotated[str, StringConstraints(max_length=255)]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
PriorityName = Literal["low", "normal", "high", "urgent"]
ParamTypeName = Literal[
    "string", "text", "integer", "decimal", "money", "boolean", "date", "datetime",
    "email", "phone", "url", "choice", "multichoice",
]  # fmt: skip


class Input(BaseModel):
    """Base of request bodies: unknown fields are refused, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """Base of query strings: unknown parameters are refused too (a misspelt filter is no filter)."""

    model_config = ConfigDict(extra="forbid")


# -- errors and pages ------------------------------------------------------------------------


class DeployProblem(BaseModel):
    element: str | None = Field(description="The BPMN element's id, when the problem has one")
    name: str | None = Field(description="The element's name, when it has one")
    line: int | None = Field(description="The line in the BPMN file")
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Machine-readable: not_found, validation_error, conflict...")
    message: str
    fields: dict[str, str] = Field(default_factory=dict, description="Field name -> problem")
    problems: list[DeployProblem] | None = Field(
        None, description="A refused BPMN deployment: every problem, by element and line"
    )


class ErrorResponse(BaseModel):
    """Every error response: `{"error": {"code", "message", "fields"}}`."""

    error: ErrorBody


class PageQuery(Query):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=200)


class PageInfo(BaseModel):
    total: int
    page: int
    per_page: int


# -- sessions and messages -------------------------------------------------------------------


class ClientIn(Input):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None


class SessionCreate(Input):
    """A conversation arriving from a channel: who, about what, and the client's first message."""

    live_chat: Text255 = Field(description="Live chat name")
    channel: Text255 | None = Field(None, description="Channel name; default: the first one")
    client: ClientIn
    subject: Text255 = ""
    priority: PriorityName = "normal"
    message: Annotated[str, StringConstraints(max_length=20_000)] | None = Field(
        None, description="The client's first message"
    )


class SessionRename(Input):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    # The session's `version` the caller saw: 409 when the session changed since (none: no check).
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class ClientOut(BaseModel):
    name: str
    email: str | None
    phone: str | None


class SessionOut(BaseModel):
    id: int
    name: str
    name_is_manual: bool
    subject: str
    status: str
    priority: str
    live_chat: str
    channel: str
    client: ClientOut
    operator: str | None
    operator_username: str | None = Field(default=None, description="Who works the session")
    created_at: datetime
    closed_at: datetime | None
    version: int
    params: dict[str, Any] = Field(description="Custom parameter values, typed as their JSON form")


class SessionPageOut(PageInfo):
    items: list[SessionOut]


class SessionListQuery(PageQuery):
    filter: list[str] = Field(
        default_factory=list,
        description="Repeatable: KEY=VALUE, KEY~TEXT, KEY>=V, KEY<=V, KEY= (empty), KEY!= (set)",
    )
    q: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, description="Search in name, subject, client name and email"
    )
    sort: Annotated[str, StringConstraints(max_length=70)] = Field(
        "-created_at", description="A parameter key, '-' first for descending"
    )


class MessageCreate(Input):
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    # Omitted: the caller's side (people post as operator, a channel account as the client).
    author_kind: Literal["client", "operator", "system"] | None = None


class MessageOut(BaseModel):
    id: int
    session_id: int
    author_kind: str
    author_name: str
    text: str
    sent_at: datetime


class MessagePageOut(PageInfo):
    items: list[MessageOut]


class QuickReplyOut(BaseModel):
    id: int
    title: str
    text: str  # rendered for the session


class QuickReplyList(BaseModel):
    items: list[QuickReplyOut]


# -- parameters ------------------------------------------------------------------------------


# min / max (numbers, money amounts, dates), min_length / max_length, pattern: see
# bpm_livechat.params.constraints, which checks which fit the parameter's type.
Constraints = Annotated[dict[Text255, int | Text255], Field(max_length=5)]
OptionLabels = Annotated[dict[Text255, Text255], Field(max_length=500)]  # option key -> label


class ParameterOut(BaseModel):
    key: str
    label: str
    type: str
    system: bool
    archived: bool
    description: str
    options: list[str]
    option_labels: dict[str, str]
    constraints: dict[str, int | str]
    position: int
    read_only: bool
    required_to_close: bool


class ParameterList(BaseModel):
    items: list[ParameterOut]


class ParameterListQuery(Query):
    include_archived: bool = False


class ParameterCreate(Input):
    key: Key
    type: ParamTypeName
    label: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    options: list[Text255] = Field(default_factory=list, max_length=500)
    read_only: bool = False
    required_to_close: bool = False
    constraints: Constraints = Field(default_factory=dict)
    option_labels: OptionLabels = Field(default_factory=dict)


class ParameterUpdate(Input):
    label: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    type: ParamTypeName | None = None
    options: list[Text255] | None = Field(None, max_length=500)
    position: int | None = Field(None, ge=1, le=100_000)
    read_only: bool | None = None
    required_to_close: bool | None = None
    constraints: Constraints | None = None  # replaces them all; {} clears them
    option_labels: OptionLabels | None = None  # replaces them all; {} clears them


class ValuesOut(BaseModel):
    session_id: int
    values: dict[str, Any]
    # Per parameter, the id of its newest change: send it back as `seen` to refuse stale writes.
    seen: dict[str, int] = {}


class ValuesPatch(Input):
    """Several values at once; all are validated before any is written. null clears a value."""

    values: dict[Annotated[str, StringConstraints(max_length=64)], Any] = Field(max_length=200)
    # What the client saw (`seen` of the values it read): 409 when one of these keys changed
    # since (0: the key had no change yet). Keys left out are not checked.
    seen: dict[Annotated[str, StringConstraints(max_length=64)], Annotated[int, Field(ge=0)]] = (
        Field(default_factory=dict, max_length=200)
    )


class ValuesPatched(ValuesOut):
    changed: list[str]


class HistoryEntryOut(BaseModel):
    key: str
    old: Any
    new: Any
    user: str | None
    instance_id: int | None
    process: str | None
    process_version: int | None
    task: str | None
    changed_at: datetime


class HistoryOut(BaseModel):
    session_id: int
    key: str
    items: list[HistoryEntryOut]


# -- tokens ----------------------------------------------------------------------------------


class TokenCreate(Input):
    name: Annotated[str, StringConstraints(max_length=64)] = ""


class TokenOut(BaseModel):
    id: int
    name: str
    hint: str
    created_at: datetime
    revoked: bool


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored")


class TokenList(BaseModel):
    items: list[TokenOut]
