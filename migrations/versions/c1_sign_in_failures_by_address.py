"""sign_in_failures: failed sign-ins counted and locked per (name, client address), for accounts and other names alike

Replaces users.failed_logins, users.locked_until, users.last_failed_login_at and the failed_sign_ins table, which
locked a name for everyone: anyone could keep an account's owner out with five wrong passwords every 15 minutes.

Revision ID: c1_sign_in_failures_by_address
Revises: c0_deadline_reviews
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import engine.db


# revision identifiers, used by Alembic.
revision = 'c1_sign_in_failures_by_address'
down_revision = 'c0_deadline_reviews'
branch_labels = None
depends_on = None


def upgrade():
    # The counts and locks in force are dropped, not carried over: they have no address to be kept for (locking every
    # address would be the old lock-out again), and they would have run out within the failure window anyway.
    op.create_table('sign_in_failures',
    sa.Column('name_key', sa.String(length=64), nullable=False),
    sa.Column('address_key', sa.String(length=64), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', engine.db.UTCDateTime(), nullable=True),
    sa.Column('last_failed_login_at', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name_key', 'address_key', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failures_last_failed_login_at'), ['last_failed_login_at'],
                              unique=False)
    with op.batch_alter_table('failed_sign_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_sign_ins_last_failed_login_at'))
    op.drop_table('failed_sign_ins')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_failed_login_at')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade():
    # Back to b9's schema, with no failure counted and nothing locked (the per-address counts have no name to go to).
    with op.batch_alter_table('users', schema=None) as batch_op:
        # The server default fills the existing rows (NOT NULL); b9's column has none, so it goes again below.
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_failed_login_at', engine.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('failed_logins', existing_type=sa.Integer(), existing_nullable=False,
                              server_default=None)
    op.create_table('failed_sign_ins',
    sa.Column('name_key', sa.String(length=64), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', engine.db.UTCDateTime(), nullable=True),
    sa.Column('last_failed_login_at', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name_key', name=op.f('pk_failed_sign_ins'))
    )
    with op.batch_alter_table('failed_sign_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failed_sign_ins_last_failed_login_at'), ['last_failed_login_at'],
                              unique=False)
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failures_last_failed_login_at'))
    op.drop_table('sign_in_failures')
