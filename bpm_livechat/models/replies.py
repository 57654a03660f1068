"""Quick replies: response templates admins keep for operators, for every live chat or one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow
from bpm_livechat.models.desk import LiveChat

QUICK_REPLY_TITLE_LENGTH = 120


class QuickReply(Base):
    """A response template: its text takes the same placeholders as session name templates."""

    __tablename__ = "quick_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(QUICK_REPLY_TITLE_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    # None: offered in every live chat; otherwise only in this one.
    live_chat_id: Mapped[int | None] = mapped_column(ForeignKey("live_chats.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    live_chat: Mapped[LiveChat | None] = relationship()
