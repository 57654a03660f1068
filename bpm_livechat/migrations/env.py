"""Alembic environment: runs migrations on the engine handed over by bpm_livechat.persistence.engines."""

from alembic import context

from bpm_livechat.models import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
