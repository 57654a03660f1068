"""Who or what makes a change: a user, or a process instance's task acting for a user."""

from __future__ import annotations

from dataclasses import dataclass

from bpm_livechat.models import Role, User


@dataclass(frozen=True)
class Actor:
    """The author of a change, recorded in parameter history."""

    user: User | None
    instance_id: int | None = None
    process_id: str | None = None
    process_version: int | None = None
    task_id: str | None = None
    task_name: str | None = None

    @property
    def is_process(self) -> bool:
        """True when a process (not a person typing) makes the change."""
        return self.process_id is not None

    @property
    def may_write_read_only(self) -> bool:
        """Read-only parameters are written by processes and admins only."""
        return self.is_process or (self.user is not None and self.user.role == Role.ADMIN.value)


def user_actor(user: User) -> Actor:
    """An actor for a change a person makes directly."""
    return Actor(user=user)
