"""What a process says at start-up about its configuration."""

from __future__ import annotations

import logging

import pytest

import config as settings
from web import create_app


def _config(**overrides) -> type[settings.Config]:
    return type("Deployed", (settings.Config,), {"SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                                                 "SCHEDULER": "off", **overrides})


@pytest.mark.parametrize("public_url, warned", [(settings.DEFAULT_PUBLIC_BASE_URL, True),
                                               ("https://rsj.example.gov.cn", False)])
def test_a_deployment_without_a_public_address_is_warned(monkeypatch, caplog, public_url, warned):
    """QA: a scheduler started without PUBLIC_BASE_URL issued 406 notices whose QR codes and verification line
    read http://127.0.0.1:5000, with nothing said at start-up."""
    monkeypatch.delenv("APP_ENV", raising=False)
    with caplog.at_level(logging.WARNING, logger="web"):
        create_app(_config(PUBLIC_BASE_URL=public_url))
    said = [r.getMessage() for r in caplog.records if "PUBLIC_BASE_URL" in r.getMessage()]
    assert bool(said) is warned, said
