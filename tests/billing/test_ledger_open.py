"""Ledger URLs: which are accepted, and that a password never reaches a message."""

from __future__ import annotations

import socket
import sys

import pytest

from thrifty.billing.ledger import LedgerError, open_ledger
from thrifty.billing.ledger.open import NO_DRIVER
from thrifty.billing.ledger.urls import mask_url, scrub, url_secrets


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:s3cret@db:5432/led", "postgresql://u:***@db:5432/led"),
        ("postgres://u:p%40ss%3Aw@db/led?sslmode=require", "postgres://u:***@db/led?sslmode=require"),
        ("postgresql://u:p@ss@db/led", "postgresql://u:***@db/led"),
        ("postgresql://u@db/led?password=s3cret&x=1", "postgresql://u@db/led?password=***&x=1"),
        ("postgresql://db/led", "postgresql://db/led"),
        ("postgresql://u:@db/led", "postgresql://u:***@db/led"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_scrub_masks_every_spelling_and_makes_one_line() -> None:
    secrets = url_secrets("postgresql://u:p%40ss@db/led?password=q%2Fr")
    msg = scrub("bad p@ss here\n\tand p%40ss and q/r and q%2Fr", secrets)
    assert msg == "bad *** here and *** and *** and ***"


@pytest.mark.parametrize("url", ["mysql://u:topsecret@h/db", "file:///x", "http://h/x"])
def test_unsupported_schemes_say_what_is_accepted(url: str) -> None:
    with pytest.raises(
        LedgerError, match=r"unsupported ledger URL .*: expected a file path, sqlite:///"
    ) as info:
        open_ledger(url)
    assert "topsecret" not in str(info.value)


def test_empty_url_is_refused() -> None:
    with pytest.raises(LedgerError, match="empty"):
        open_ledger("  ")
    with pytest.raises(LedgerError, match="empty SQLite"):
        open_ledger("sqlite://")


def test_missing_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(LedgerError) as info:
        open_ledger("postgresql://u:pw@127.0.0.1/db")
    assert str(info.value) == NO_DRIVER == "PostgreSQL ledger needs psycopg: pip install 'thrifty[postgres]'"


def test_unreachable_server_is_one_line_without_the_password() -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LedgerError) as info:
        open_ledger(f"postgresql://me:hunter2@127.0.0.1:{port}/db?connect_timeout=3")
    message = str(info.value)
    assert message.startswith(
        f"cannot connect to PostgreSQL ledger at postgresql://me:***@127.0.0.1:{port}/db"
    )
    assert "hunter2" not in message and "\n" not in message


def test_unwritable_sqlite_location_is_a_ledger_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LedgerError, match="cannot open SQLite ledger"):
        open_ledger(str(blocker / "ledger.sqlite3"))
