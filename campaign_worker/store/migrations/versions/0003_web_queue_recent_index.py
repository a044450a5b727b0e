"""web: index for the queue's "all states" view (newest first within a campaign)

Revision ID: 0003_web
Revises: 0002
"""
from alembic import op


revision = "0003_web"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ix_campaign_post_queue orders within one state; without a state filter the page would
    # sort every post of the campaign (1.7 s at a million posts) instead of walking this index.
    op.create_index("ix_campaign_post_recent", "campaign_post", ["campaign", "posted_at", "post_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_campaign_post_recent", table_name="campaign_post")
