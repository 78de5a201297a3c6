"""users.session_epoch: raised on a password change to sign out the user's other page sessions

Revision ID: b8_user_session_epoch
Revises: b7_case_list_index
Create Date: 2026-11-28 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8_user_session_epoch'
down_revision = 'b7_case_list_index'
branch_labels = None
depends_on = None


def upgrade():
    # The server default fills the existing rows (NOT NULL) on SQLite and PostgreSQL alike.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
