"""Redaction of personal data before text leaves for a model, and its restoration in the answer."""

from __future__ import annotations

import time

import pytest

from dashboard.redact import Redactor, redact


@pytest.mark.parametrize(("text", "expected"), [
    ("Ask jo@example.com today", "Ask [EMAIL_1] today"),
    ("owner: Jo.Okafor+aims@bank.co.uk.", "owner: [EMAIL_1]."),
    ("Call +44 20 7946 0958 or 020 7946 0958", "Call [PHONE_1] or [PHONE_2]"),
    ("call (555) 123-4567.", "call [PHONE_1]."),
    ("tel 555-123-4567, mobile 0612345678", "tel [PHONE_1], mobile [PHONE_2]"),
    ("phone: +33 (0)1 23 45 67 89.", "phone: [PHONE_1]."),
    ("IBAN DE89 3704 0044 0532 0130 00 for refunds", "IBAN [IBAN_1] for refunds"),
    ("pay to GB29NWBK60161331926819.", "pay to [IBAN_1]."),
    ("card 4111 1111 1111 1111 expired", "card [CARD_1] expired"),
    ("card 5500-0000-0000-0004", "card [CARD_1]"),
    ("repo https://bob:hunter2@git.example.com/x.git, see", "repo [URL_1], see"),
    ("export at https://files.example.com/a?token=abc123&b=2.", "export at [URL_1]."),
    ("postgres://svc:S3cret!@db.internal:5432/aims", "[URL_1]"),
])
def test_personal_data_is_replaced_by_numbered_placeholders(text: str, expected: str) -> None:
    assert redact(text)[0] == expected


@pytest.mark.parametrize("text", [
    "Approved on 2026-03-12 by ExCo; review 12/03/2026",
    "covers 3 of 12 AI systems, 78% green last quarter",
    "see items 6.1.2 6.1.3 6.1.4 and A.6.2.4, A.10.4",
    "tickets IA-2026-05 and RSK-1234; version v1.3; 2019-2021 programme",
    "amount 1,000,000 EUR; ISO/IEC 42001:2023",
    "plain link https://intranet.example.com/ai-policy stays",
])
def test_ordinary_assessment_text_is_left_alone(text: str) -> None:
    assert redact(text) == (text, {})


def test_one_redactor_gives_the_same_value_the_same_placeholder_across_messages() -> None:
    r = Redactor()
    assert r.redact("a@x.example and b@x.example") == "[EMAIL_1] and [EMAIL_2]"
    assert r.redact("again a@x.example") == "again [EMAIL_1]"
    assert r.originals == {"[EMAIL_1]": "a@x.example", "[EMAIL_2]": "b@x.example"}
    assert r.count == 2


def test_restore_puts_originals_back_even_when_the_model_changed_brackets_or_case() -> None:
    r = Redactor()
    r.redact("Mail jo@example.com or call +44 20 7946 0958")
    assert r.restore("Write to [EMAIL_1]; ring PHONE_1 or [phone_1].") == (
        "Write to jo@example.com; ring +44 20 7946 0958 or +44 20 7946 0958.")
    assert r.restore("Unknown [EMAIL_7] stays") == "Unknown [EMAIL_7] stays"
    assert r.restore_all({"a": ["[EMAIL_1]", 3], "b": None}) == {"a": ["jo@example.com", 3], "b": None}


def test_a_redactor_with_nothing_redacted_changes_nothing() -> None:
    assert Redactor().restore("[EMAIL_1] written by the person") == "[EMAIL_1] written by the person"


def test_long_digit_runs_do_not_make_the_patterns_slow() -> None:
    text = "1" * 5000 + " 12 34 56 78 90 " * 300 + "1.2.3.4.5.6.7.8.9 " * 300 + ("x" * 60 + "@" + "y" * 60 + " ") * 300
    started = time.monotonic()
    redact(text)
    assert time.monotonic() - started < 2
