"""Imports every module that defines tables, so Alembic and the tests see the whole schema."""

from engine import models  # noqa: F401
