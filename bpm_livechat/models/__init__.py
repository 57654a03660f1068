"""Every table of the product, as SQLAlchemy 2.0 typed models; `metadata` knows them all.

Offers the declarative `Base`, `utcnow`, the enums of roles, priorities and statuses, and the
tables by area: `desk` (users, live chats, channels, members, API tokens, preferences,
idempotency records, webhooks), `sessions` (clients, sessions, messages, session history),
`params` (parameter definitions, values, history), `processes` (processes, versions, bindings,
instances, user tasks, event bindings, waits), `replies` (quick replies), `jobs` (durable work
for the workers), `live` (the feed open pages follow), `apps` (apps, fields, items, live chat
bindings, session links), `routing` (teams, routing rules, where sessions were routed),
`decisions` (DMN decisions and their versions) and `step_log` (the steps of process instances).
Importing this package imports every area, so Alembic and the tests see the complete schema.
"""

from bpm_livechat.models.apps import App, AppField, AppItem, LiveChatApp, SessionItemLink
from bpm_livechat.models.base import NAMING_CONVENTION, Base, UTCDateTime, utcnow
from bpm_livechat.models.decisions import Decision, DecisionVersion
from bpm_livechat.models.desk import (
    IDEMPOTENCY_KEY_LENGTH,
    STAFF_ROLES,
    TOKEN_NAME_LENGTH,
    ApiToken,
    Channel,
    IdempotencyRecord,
    LiveChat,
    LiveChatMember,
    Login,
    MemberRole,
    Presence,
    Role,
    User,
    UserPreference,
    WebhookSubscription,
)
from bpm_livechat.models.jobs import Job, JobStatus
from bpm_livechat.models.live import LiveEvent
from bpm_livechat.models.params import ParamDefinition, ParamHistory, ParamValue
from bpm_livechat.models.processes import (
    EventBinding,
    InstanceStatus,
    InstanceWait,
    Process,
    ProcessBinding,
    ProcessInstance,
    ProcessVersion,
    TaskState,
    UserTask,
    WaitKind,
)
from bpm_livechat.models.replies import QUICK_REPLY_TITLE_LENGTH, QuickReply
from bpm_livechat.models.routing import RoutingRule, SessionRoute, Team, TeamMember
from bpm_livechat.models.sessions import (
    AuthorKind,
    Client,
    Message,
    Priority,
    SessionHistory,
    Status,
    SupportSession,
)
from bpm_livechat.models.step_log import InstanceStep, StepKind

metadata = Base.metadata

__all__ = [
    "IDEMPOTENCY_KEY_LENGTH",
    "NAMING_CONVENTION",
    "QUICK_REPLY_TITLE_LENGTH",
    "STAFF_ROLES",
    "TOKEN_NAME_LENGTH",
    "ApiToken",
    "App",
    "AppField",
    "AppItem",
    "AuthorKind",
    "Base",
    "Channel",
    "Client",
    "Decision",
    "DecisionVersion",
    "EventBinding",
    "IdempotencyRecord",
    "InstanceStatus",
    "InstanceStep",
    "InstanceWait",
    "Job",
    "JobStatus",
    "LiveChat",
    "LiveChatApp",
    "LiveChatMember",
    "LiveEvent",
    "Login",
    "MemberRole",
    "Message",
    "ParamDefinition",
    "ParamHistory",
    "ParamValue",
    "Presence",
    "Priority",
    "Process",
    "ProcessBinding",
    "ProcessInstance",
    "ProcessVersion",
    "QuickReply",
    "Role",
    "RoutingRule",
    "SessionHistory",
    "SessionItemLink",
    "SessionRoute",
    "Status",
    "StepKind",
    "SupportSession",
    "TaskState",
    "Team",
    "TeamMember",
    "UTCDateTime",
    "User",
    "UserPreference",
    "UserTask",
    "WaitKind",
    "WebhookSubscription",
    "metadata",
    "utcnow",
]
