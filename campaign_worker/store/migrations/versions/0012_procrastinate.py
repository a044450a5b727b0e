"""procrastinate: the task-queue schema for scale-out workers (PostgreSQL only)

Revision ID: 0012_procrastinate
Revises: 0010_privacy

The schema belongs to procrastinate (`procrastinate_*` tables, types and functions); this
migration installs the version pinned in pyproject.toml. A later procrastinate release that
changes its schema gets a migration of its own that runs the release's SQL files from
`procrastinate.schema.SchemaManager.get_migrations_path()` in order. SQLite has no use for it:
there the embedded scheduler runs the jobs.
"""
from alembic import op


revision = "0012_procrastinate"
down_revision = "0010_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    exists = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").scalar()
    if not exists:
        # Straight to the driver: the schema's SQL has % signs that parameter parsing would take.
        with bind.connection.dbapi_connection.cursor() as cursor:
            cursor.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs", "procrastinate_workers"):
        bind.exec_driver_sql(f"DROP TABLE IF EXISTS {table} CASCADE")
