# ruff: noqa: I001 - one import per feature, appended as features land
"""Imports every module that defines tables or registers engine hooks, so Alembic, the app and the tests see
the whole schema and every rule."""

from engine import models  # noqa: F401
from engine import documents, escalation, scheduler  # noqa: F401,E402
from engine import clear_zero_snapshots  # noqa: F401,E402
from engine import wage_arrears, wage_arrears_checks  # noqa: F401,E402
from engine import benefits  # noqa: F401,E402
from engine import benefit_payments, benefit_rates  # noqa: F401,E402
from engine import placements, temp_job_cases  # noqa: F401,E402
from engine import posts, service131  # noqa: F401,E402
from engine import deadline_review  # noqa: F401,E402
