"""failed_sign_ins: names that are no account lock like accounts; users.last_failed_login_at: the failure window

Revision ID: b9_failed_sign_ins
Revises: b8_user_session_epoch
Create Date: 2026-11-29 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import engine.db


# revision identifiers, used by Alembic.
revision = 'b9_failed_sign_ins'
down_revision = 'b8_user_session_epoch'
branch_labels = None
depends_on = None


def upgrade():
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
    # Nullable, no default: the existing counts have no time and are kept until their account's next failure.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_failed_login_at', engine.db.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_failed_login_at')
    with op.batch_alter_table('failed_sign_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_sign_ins_last_failed_login_at'))
    op.drop_table('failed_sign_ins')
