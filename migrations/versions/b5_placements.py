"""temporary posts, placements, the 131-service projection and the return-visit ledger

Revision ID: b5_placements
Revises: b4_benefits
Create Date: 2026-11-25 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import engine.db


# revision identifiers, used by Alembic.
revision = 'b5_placements'
down_revision = 'b4_benefits'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'posts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('employer', sa.String(length=100), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('region', sa.String(length=12), nullable=False),
        sa.Column('slots', sa.Integer(), nullable=False),
        sa.Column('filled', sa.Integer(), nullable=False),
        sa.Column('monthly_pay', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=False),
        sa.Column('end_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('work_place', sa.String(length=100), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint('filled >= 0 AND filled <= slots', name=op.f('ck_posts_slots')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_posts')),
    )
    op.create_index('ix_posts_region_status', 'posts', ['region', 'status'], unique=False)

    op.create_table(
        'placements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('referred_at', engine.db.UTCDateTime(), nullable=False),
        sa.Column('decided_at', engine.db.UTCDateTime(), nullable=True),
        sa.Column('ended_at', engine.db.UTCDateTime(), nullable=True),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_placements_case_id_cases')),
        sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_placements_post_id_posts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_placements')),
    )
    op.create_index(op.f('ix_placements_case_id'), 'placements', ['case_id'], unique=False)
    op.create_index('ix_placements_post_status', 'placements', ['post_id', 'status'], unique=False)

    op.create_table(
        'service_131',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('region', sa.String(length=12), nullable=False),
        sa.Column('priority_group', sa.String(length=32), nullable=True),
        sa.Column('owes_career_guidance', sa.Boolean(), nullable=False),
        sa.Column('owes_job_offers', sa.Boolean(), nullable=False),
        sa.Column('owes_training', sa.Boolean(), nullable=False),
        sa.Column('open', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_service_131_case_id_cases')),
        sa.PrimaryKeyConstraint('case_id', name=op.f('pk_service_131')),
    )
    op.create_index(op.f('ix_service_131_region'), 'service_131', ['region'], unique=False)

    op.create_table(
        'ledger_workers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region', sa.String(length=12), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('work_place', sa.String(length=100), nullable=True),
        sa.Column('employer', sa.String(length=100), nullable=True),
        sa.Column('job', sa.String(length=50), nullable=True),
        sa.Column('wage', sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column('going_home', sa.Boolean(), nullable=False),
        sa.Column('home_date', sa.Date(), nullable=True),
        sa.Column('travel_mode', sa.String(length=20), nullable=True),
        sa.Column('travel_number', sa.String(length=50), nullable=True),
        sa.Column('wish_to_return', sa.Boolean(), nullable=True),
        sa.Column('employed', sa.Boolean(), nullable=False),
        sa.Column('unemployed_reason', sa.String(length=200), nullable=True),
        sa.Column('training_wish', sa.String(length=200), nullable=True),
        sa.Column('case_number', sa.String(length=40), nullable=True),
        sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_workers')),
        sa.UniqueConstraint('id_number', 'region', name=op.f('uq_ledger_workers_id_number')),
    )
    op.create_index('ix_ledger_workers_region_employed', 'ledger_workers', ['region', 'employed'], unique=False)


def downgrade():
    op.drop_index('ix_ledger_workers_region_employed', table_name='ledger_workers')
    op.drop_table('ledger_workers')
    op.drop_index(op.f('ix_service_131_region'), table_name='service_131')
    op.drop_table('service_131')
    op.drop_index('ix_placements_post_status', table_name='placements')
    op.drop_index(op.f('ix_placements_case_id'), table_name='placements')
    op.drop_table('placements')
    op.drop_index('ix_posts_region_status', table_name='posts')
    op.drop_table('posts')
