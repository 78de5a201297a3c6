"""clear-zero dashboard: snapshots (one row per day and case region), on-time counts, covering indexes

Revision ID: b6_dashboard
Revises: b5_placements
Create Date: 2026-11-25 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import engine.db


# revision identifiers, used by Alembic.
revision = 'b6_dashboard'
down_revision = 'b5_placements'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clear_zero_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('region', sa.String(length=12), nullable=False),
    sa.Column('open_cases', sa.Integer(), nullable=False),
    sa.Column('workers_owed', sa.Integer(), nullable=False),
    sa.Column('arrears_outstanding', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('arrears_recovered', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('year_end_outstanding', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('taken_at', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clear_zero_snapshots')),
    sa.UniqueConstraint('day', 'region', name=op.f('uq_clear_zero_snapshots_day'))
    )
    op.create_table('on_time_counts',
    sa.Column('region', sa.String(length=12), nullable=False),
    sa.Column('process', sa.String(length=64), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('on_time', sa.Integer(), nullable=False),
    sa.Column('counted_until', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('region', 'process', name=op.f('pk_on_time_counts'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_clear_zero', ['process', 'region', 'project_type', 'closed_at', 'workers_owed',
                                                      'arrears_outstanding', 'arrears_recovered'], unique=False)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index('ix_tasks_on_time', ['state', 'completed_at', 'region', 'process', 'due_at', 'name'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_on_time')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_clear_zero')
    op.drop_table('on_time_counts')
    op.drop_table('clear_zero_snapshots')
