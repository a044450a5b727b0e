"""audience override history: who set a post's audiences, when, and what was there before

Revision ID: 0013_audience_history
Revises: 0012_procrastinate
"""
import sqlalchemy as sa
from alembic import op


revision = "0013_audience_history"
down_revision = "0012_procrastinate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audience_override") as batch:
        batch.add_column(sa.Column("history", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("audience_override") as batch:
        batch.drop_column("history")
