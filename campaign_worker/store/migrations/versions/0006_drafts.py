"""drafts: link, alt text, planned slot, crops and focal point; picture rights; audience overrides

Revision ID: 0006_drafts
Revises: 0005_collection
"""
import sqlalchemy as sa
from alembic import op


revision = "0006_drafts"
down_revision = "0005_collection"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("draft") as batch:
        batch.add_column(sa.Column("link", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("alt_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("slot_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("crops", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("focal_x", sa.Float(), nullable=False, server_default="0.5"))
        batch.add_column(sa.Column("focal_y", sa.Float(), nullable=False, server_default="0.5"))
    op.create_table(
        "post_rights",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("post.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("people", sa.Boolean(), nullable=False),
        sa.Column("minors", sa.Boolean(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("campaign", "post_id", name="uq_post_rights"),
    )
    op.create_table(
        "audience_override",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("post.id", ondelete="CASCADE"), nullable=False),
        sa.Column("audiences", sa.JSON(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("campaign", "post_id", name="uq_audience_override"),
    )


def downgrade() -> None:
    op.drop_table("audience_override")
    op.drop_table("post_rights")
    with op.batch_alter_table("draft") as batch:
        for column in ("focal_y", "focal_x", "crops", "slot_at", "alt_text", "link"):
            batch.drop_column(column)
