"""Alembic environment: runs migrations on the connection handed over by `campaign_worker.store.migrate`.

`store/models.py` declares every table, so importing it is all autogenerate needs to see them.
"""

from alembic import context

from campaign_worker.store import models
from campaign_worker.store.migrate import include_name

config = context.config
target_metadata = models.SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from campaign_worker.store.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as connection:
            _run(connection)
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; use `campaign-worker db upgrade`")
run_migrations_online()
