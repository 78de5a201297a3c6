"""cases: one open temp_job case per person, also when two bureaus open one at the same moment (partial unique index)

The check in engine/placements.py could not see a case another bureau was opening at the same moment (PostgreSQL),
so a person could end up with two open cases. People who already have several are named and the upgrade stops:
close all but one of each (market outcome: withdrawn), then upgrade again.

Revision ID: c2_one_open_temp_job
Revises: c1_sign_in_failures_by_address
Create Date: 2026-11-28 04:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c2_one_open_temp_job'
down_revision = 'c1_sign_in_failures_by_address'
branch_labels = None
depends_on = None

OPEN_TEMP_JOB = "process = 'temp_job' AND closed_at IS NULL"


def upgrade():
    connection = op.get_bind()
    people = connection.execute(sa.text(
        f"SELECT subject_id_number FROM cases WHERE {OPEN_TEMP_JOB} AND subject_id_number IS NOT NULL "
        "GROUP BY subject_id_number HAVING COUNT(*) > 1")).scalars().all()
    if people:
        numbers = connection.execute(sa.text(
            f"SELECT number FROM cases WHERE {OPEN_TEMP_JOB} AND subject_id_number IN :people ORDER BY number")
            .bindparams(sa.bindparam("people", expanding=True)), {"people": list(people)}).scalars().all()
        raise RuntimeError(
            f"{len(people)} job seekers have more than one open temp_job case ({', '.join(numbers)}): close all but "
            "one of each (market outcome: withdrawn), then run the upgrade again")
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ux_cases_open_temp_job', ['subject_id_number'], unique=True,
                              sqlite_where=sa.text(OPEN_TEMP_JOB), postgresql_where=sa.text(OPEN_TEMP_JOB))


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ux_cases_open_temp_job')
