"""`store/models.py` declares every table, exactly as the migrations build them.

Alembic's autogenerate compares the models with a freshly migrated database; an empty diff
means a new table or column cannot hide outside `models.py`, and `db revision --autogenerate`
would not invent a change.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from campaign_worker.store import models
from campaign_worker.store.migrate import include_name


def test_models_match_the_migrated_schema(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, SQLModel.metadata) == []
        tables = inspect(connection).get_table_names()
        migrated = {t for t in tables if include_name(t, "table", {})} - {"alembic_version"}
    assert migrated == set(SQLModel.metadata.tables)
    assert {"scheduler_lock", "job_alert"} <= migrated
    if engine.dialect.name == "postgresql":  # the scale-out task queue's own schema (migration 0012)
        assert {"procrastinate_jobs", "procrastinate_workers"} <= set(tables)


def test_every_table_has_its_core_object_in_models():
    core = {value for name, value in vars(models).items() if name.endswith("_table")}
    assert core == set(SQLModel.metadata.tables.values())
