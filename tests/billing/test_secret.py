"""A Secret never shows its value unless asked, and registered values are scrubbed from text."""

from __future__ import annotations

import copy
import io
import logging
import pickle

import pytest

from thrifty.billing.secret import RedactingFilter, Secret, mask, redact

VALUE = "sk-ant-api03-" + "Q" * 30 + "Xy"


def test_every_rendering_is_masked() -> None:
    secret = Secret(VALUE)
    for shown in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret:>40}",
        "%s %s" % (secret, secret),  # noqa: UP031 - logging still formats this way
        "{}".format(secret),  # noqa: UP032 - str.format goes through __format__ too
    ):
        assert VALUE not in shown
        assert "sk-ant-…Xy" in shown
    assert secret.reveal() == VALUE
    assert repr(secret) == "Secret('sk-ant-…Xy')"


def test_mask_shows_at_most_seven_and_two_characters() -> None:
    assert mask(VALUE) == "sk-ant-…Xy"
    assert mask("short-secret-123") == "…"
    assert mask("") == "…"
    visible = mask("a" * 7 + "b" * 40 + "cd").replace("…", "")
    assert visible == "a" * 7 + "cd"


def test_short_values_are_masked_whole() -> None:
    assert str(Secret("hunter2hunter2")) == "…"


def test_containers_and_exceptions_do_not_leak() -> None:
    secret = Secret(VALUE)
    assert VALUE not in repr({"key": secret})
    assert VALUE not in str(ValueError(secret))
    assert VALUE not in repr([secret])


def test_equality_and_hashing_use_the_value() -> None:
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret(VALUE + "z")
    assert len({Secret(VALUE), Secret(VALUE)}) == 1
    assert Secret(VALUE) != VALUE  # a str is not a Secret: comparing them is a bug somewhere


def test_copy_is_fine_but_pickle_is_refused() -> None:
    secret = Secret(VALUE)
    assert copy.deepcopy(secret) is secret
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_constructed_secrets_are_redacted_everywhere() -> None:
    value = "registered-secret-value-1234567"
    Secret(value)
    text = f"curl -H 'x-api-key: {value}' && echo {value}"
    out = redact(text)
    assert value not in out
    assert out.count(mask(value)) == 2


def test_explicit_values_are_redacted_without_registration() -> None:
    assert redact("token=abc123", "abc123") == "token=…"
    assert redact("nothing here", "") == "nothing here"


def test_a_secret_containing_another_is_replaced_whole() -> None:
    inner = "inner-secret-value-000"
    outer = "prefix-" + inner + "-suffix-zz"
    Secret(inner)
    Secret(outer)
    out = redact(f"[{outer}]")
    assert inner not in out and outer not in out
    assert out == f"[{mask(outer)}]"


def test_logging_filter_redacts_message_args_and_tracebacks() -> None:
    value = "logged-secret-value-987654321"
    secret = Secret(value)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("thrifty.test.secret")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("raw %s in args", value)
        logger.warning("dict %(h)s", {"h": {"authorization": f"Bearer {value}"}})
        logger.warning(f"inline {value}")
        logger.warning("the Secret itself: %s %r", secret, secret)
        try:
            raise RuntimeError(f"server said: bad key {value}")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert value not in output
    assert "raw " + mask(value) + " in args" in output
    assert "RuntimeError: server said: bad key " + mask(value) in output


def test_json_plain_turns_off_for_good_once_a_secret_needs_escaping() -> None:
    """In a fresh process (the registry is process-wide): transcripts may skip redacting string
    by string only while every registered secret reads the same inside a JSON string."""
    import subprocess
    import sys

    code = (
        "from thrifty.billing.secret import Secret, json_plain, redact\n"
        "import json\n"
        "assert json_plain()\n"
        "Secret('sk-ant-api03-' + 'A' * 30)\n"
        "doc = json.dumps({'k': 'key sk-ant-api03-' + 'A' * 30}, ensure_ascii=False)\n"
        "assert json_plain() and 'AAAAAAAAAA' not in redact(doc)\n"
        "Secret('pa\"ss\\\\word-' + 'R' * 20)\n"
        "assert not json_plain()\n"
        "Secret('sk-ant-api03-' + 'B' * 30)\n"
        "assert not json_plain()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
