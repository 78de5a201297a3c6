"""deadline_reviews: stated deadlines a loaded holiday file puts on another day, listed for review

Revision ID: c0_deadline_reviews
Revises: b9_failed_sign_ins
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import engine.db


# revision identifiers, used by Alembic.
revision = 'c0_deadline_reviews'
down_revision = 'b9_failed_sign_ins'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deadline_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('timer_id', sa.Integer(), nullable=True),
    sa.Column('stored_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('correct_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('listed_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_deadline_reviews_case_id_cases')),
    sa.ForeignKeyConstraint(['timer_id'], ['timers.id'], name=op.f('fk_deadline_reviews_timer_id_timers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_reviews')),
    sa.UniqueConstraint('case_id', 'name', 'stored_at', name=op.f('uq_deadline_reviews_case_id'))
    )
    with op.batch_alter_table('deadline_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_reviews_case_id'), ['case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('deadline_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_reviews_case_id'))
    op.drop_table('deadline_reviews')
