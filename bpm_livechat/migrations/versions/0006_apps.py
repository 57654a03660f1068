"""apps: typed collections, their items, live chat bindings and session links

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the apps, app_fields, app_items, live_chat_apps and session_item_links tables."""
    op.create_table(
        "apps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps")),
        sa.UniqueConstraint("name", name=op.f("uq_apps_name")),
    )
    op.create_table(
        "app_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_fields_app_id_apps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_fields")),
        sa.UniqueConstraint("app_id", "key", name="uq_app_fields_app_key"),
    )
    op.create_table(
        "app_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("search_text", sa.String(length=1000), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_items_app_id_apps")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_app_items_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_items")),
    )
    with op.batch_alter_table("app_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_items_app_id"), ["app_id"], unique=False)

    op.create_table(
        "live_chat_apps",
        sa.Column("live_chat_id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_live_chat_apps_app_id_apps")
        ),
        sa.ForeignKeyConstraint(
            ["live_chat_id"],
            ["live_chats.id"],
            name=op.f("fk_live_chat_apps_live_chat_id_live_chats"),
        ),
        sa.PrimaryKeyConstraint("live_chat_id", name=op.f("pk_live_chat_apps")),
    )
    with op.batch_alter_table("live_chat_apps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_chat_apps_app_id"), ["app_id"], unique=False)

    op.create_table(
        "session_item_links",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["app_items.id"], name=op.f("fk_session_item_links_item_id_app_items")
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"], ["users.id"], name=op.f("fk_session_item_links_linked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_session_item_links_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("session_id", "item_id", name=op.f("pk_session_item_links")),
    )
    with op.batch_alter_table("session_item_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_item_links_item_id"), ["item_id"], unique=False
        )


def downgrade() -> None:
    """Drop the app tables."""
    with op.batch_alter_table("session_item_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_item_links_item_id"))

    op.drop_table("session_item_links")
    with op.batch_alter_table("live_chat_apps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_chat_apps_app_id"))

    op.drop_table("live_chat_apps")
    with op.batch_alter_table("app_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_items_app_id"))

    op.drop_table("app_items")
    op.drop_table("app_fields")
    op.drop_table("apps")
