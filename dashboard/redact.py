"""Personal data out before text leaves for a model, back in when the answer is shown.

Emails, phone numbers, IBAN- and card-like numbers, and URLs that carry credentials are replaced by
numbered placeholders such as ``[EMAIL_1]``. One `Redactor` serves a whole request, so the same value
gets the same placeholder in every message, and `restore` puts the originals back into the model's
answer wherever a placeholder survived. Over-redaction is harmless (it is restored); under-redaction is
the risk, so the patterns lean towards matching.

>>> r = Redactor()
>>> r.redact("Ask jo@example.com or +44 20 7946 0958")
'Ask [EMAIL_1] or [PHONE_1]'
>>> r.restore("Contact [EMAIL_1].")
'Contact jo@example.com.'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Redactor", "redact"]

_TRAILING = ".,;:!?)]}'\""

# scheme://user:password@host… and links whose query carries a token, key, password or signature
_URL_USERINFO = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s/?#@:<>\"']+:[^\s/?#@<>\"']+@[^\s<>\"']+", re.IGNORECASE)
_URL_SECRET = re.compile(
    r"\b[a-z][a-z0-9+.\-]*://[^\s<>\"']*?[?&;](?:access_token|api[_-]?key|apikey|auth|key|password|passwd|pwd|"
    r"secret|sig|signature|token|code)=[^\s<>\"']+",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[a-z0-9._%+\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9\-]+)*\.[a-z]{2,}\b",
                    re.IGNORECASE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"(?<![\w.])\d(?:[ \-]?\d){12,18}(?![\w])")
_PHONE = re.compile(r"(?<![\w/.\-])(?:\+|00)?\(?\d{1,4}\)?(?:[ .\-/]{0,2}\(?\d{1,5}\)?){1,6}(?![\w/\-]|\.\d)")

_DATE = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
_YEAR_RANGE = re.compile(r"^(?:19|20)\d{2}\s*[-/]\s*(?:19|20)\d{2}$")
_NUMBERING = re.compile(r"^\d{1,2}(?:\.\d{1,2})+(?:\s+\d{1,2}(?:\.\d{1,2})+)*$")  # item ids like 6.1.2 6.1.3


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _is_iban(text: str) -> bool:
    return 15 <= len(text.replace(" ", "")) <= 34


def _is_phone(text: str) -> bool:
    if not 8 <= _digits(text) <= 15:
        return False
    stripped = text.strip()
    return not (_DATE.match(stripped) or _YEAR_RANGE.match(stripped) or _NUMBERING.match(stripped))


# (placeholder kind, pattern, extra check): tried in this order, so that the more specific kinds win
KINDS: tuple[tuple[str, re.Pattern[str], Callable[[str], bool] | None], ...] = (
    ("URL", _URL_USERINFO, None),
    ("URL", _URL_SECRET, None),
    ("EMAIL", _EMAIL, None),
    ("IBAN", _IBAN, _is_iban),
    ("CARD", _CARD, None),
    ("PHONE", _PHONE, _is_phone),
)
_PLACEHOLDER = re.compile(r"\[?\b(URL|EMAIL|IBAN|CARD|PHONE)_(\d{1,4})\b\]?", re.IGNORECASE)


@dataclass
class Redactor:
    """Replaces personal data with placeholders and remembers each original for `restore`."""

    originals: dict[str, str] = field(default_factory=dict)  # "[EMAIL_1]" -> "jo@example.com"
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def _placeholder(self, kind: str, value: str) -> str:
        found = self._by_value.get((kind, value))
        if found is None:
            number = 1 + sum(1 for k, _ in self._by_value if k == kind)
            found = f"[{kind}_{number}]"
            self._by_value[(kind, value)] = found
            self.originals[found] = value
        return found

    def redact(self, text: str) -> str:
        """The text with every match replaced by its placeholder."""
        for kind, pattern, check in KINDS:
            text = pattern.sub(lambda m, k=kind, c=check: self._replace(k, m.group(0), c), text)  # type: ignore[misc]
        return text

    def _replace(self, kind: str, matched: str, check: Callable[[str], bool] | None) -> str:
        core = matched.rstrip(_TRAILING) if kind == "URL" else matched
        tail = matched[len(core):]
        if check is not None and not check(core):
            return matched
        return self._placeholder(kind, core) + tail

    def restore(self, text: str) -> str:
        """Put the originals back wherever a known placeholder appears (brackets or case may have changed)."""
        if not self.originals:
            return text

        def back(match: re.Match[str]) -> str:
            key = f"[{match.group(1).upper()}_{int(match.group(2))}]"
            return self.originals.get(key, match.group(0))

        return _PLACEHOLDER.sub(back, text)

    def restore_all(self, value: Any) -> Any:
        """`restore` applied to every string inside a JSON-like value (dicts, lists, strings)."""
        if isinstance(value, str):
            return self.restore(value)
        if isinstance(value, list):
            return [self.restore_all(v) for v in value]
        if isinstance(value, dict):
            return {k: self.restore_all(v) for k, v in value.items()}
        return value

    @property
    def count(self) -> int:
        return len(self.originals)


def redact(text: str) -> tuple[str, dict[str, str]]:
    """One-shot redaction: the redacted text and the placeholder -> original map."""
    redactor = Redactor()
    return redactor.redact(text), dict(redactor.originals)
