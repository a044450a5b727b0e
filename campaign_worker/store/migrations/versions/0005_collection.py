"""collection: account names behind author ids, and an index to find posts by author id

Revision ID: 0005_collection
Revises: 0003_web
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_collection"
down_revision = "0003_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "author_name",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("author_id", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "author_id"),
    )
    op.create_index("ix_post_author_id", "post", ["platform", "author_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_post_author_id", table_name="post")
    op.drop_table("author_name")
