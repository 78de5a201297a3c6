"""benefit claims: rates per region, payment schedules

Revision ID: b4_benefits
Revises: b3_notices
Create Date: 2026-11-27 07:30:00

"""
from alembic import op
import sqlalchemy as sa

import engine.db


# revision identifiers, used by Alembic.
revision = 'b4_benefits'
down_revision = 'b3_notices'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('benefit_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=12), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('minimum_wage', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('benefit_rate', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('subsistence_rate', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('imported_at', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_rates')),
    sa.UniqueConstraint('region', 'effective_from', name=op.f('uq_benefit_rates_region'))
    )
    op.create_table('benefit_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('region', sa.String(length=12), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paid_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_benefit_payments_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_payments')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_benefit_payments_case_id'))
    )
    with op.batch_alter_table('benefit_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_payments_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_benefit_payments_due', ['status', 'due_on'], unique=False)

    # One open benefit claim per person (partial unique index; both SQLite and PostgreSQL support it).
    open_claim = sa.text("process = 'benefit_claim' AND closed_at IS NULL")
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ux_cases_open_benefit_claim', ['subject_id_number'], unique=True,
                              sqlite_where=open_claim, postgresql_where=open_claim)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ux_cases_open_benefit_claim')

    with op.batch_alter_table('benefit_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_benefit_payments_due')
        batch_op.drop_index(batch_op.f('ix_benefit_payments_case_id'))

    op.drop_table('benefit_payments')
    op.drop_table('benefit_rates')
