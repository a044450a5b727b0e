"""moderation score: the model's probability that a post is genuine, kept on its queue row

Revision ID: 0014_score
Revises: 0013_audience_history
"""
import sqlalchemy as sa
from alembic import op


revision = "0014_score"
down_revision = "0013_audience_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_post") as batch:
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_post") as batch:
        batch.drop_column("score")
