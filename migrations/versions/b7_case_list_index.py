"""case list index: a region's cases by opening time

Revision ID: b7_case_list_index
Revises: b6_dashboard
Create Date: 2026-11-27 09:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7_case_list_index'
down_revision = 'b6_dashboard'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_cases_region_opened', 'cases', ['region', 'opened_at'], unique=False)


def downgrade():
    op.drop_index('ix_cases_region_opened', table_name='cases')
