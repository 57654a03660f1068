"""The ORM models of DMN decisions: one row per decision id, its content in numbered versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow
from bpm_livechat.models.desk import User


class Decision(Base):
    """A DMN decision table, by its id in the DMN file (what camunda:decisionRef names)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[DecisionVersion]] = relationship(
        back_populates="decision", order_by="DecisionVersion.number"
    )


class DecisionVersion(Base):
    """One deployed content of a decision: the whole DMN file as uploaded (a decision may
    require others of the same file), its hash, and whether business rule tasks may use it."""

    __tablename__ = "decision_versions"
    __table_args__ = (
        UniqueConstraint("decision_id", "number", name="uq_decision_versions_decision_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    hit_policy: Mapped[str] = mapped_column(String(32))
    dmn: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(128))
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    decision: Mapped[Decision] = relationship(back_populates="versions")
    deployed_by: Mapped[User | None] = relationship()
