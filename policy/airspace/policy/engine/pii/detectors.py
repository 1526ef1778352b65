"""Detectors for the entities the mesh masks, run on normalized text.

Each is a candidate regex plus a validator (checksums where the format has one,
issuer ranges and digit counts elsewhere), tried in priority order; a later
detector never claims characters an earlier one already matched (a card number is
not also a phone). Numbers never start right after another digit group, so the
tail of a longer number (a failed IBAN) is not taken for a phone or a card.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable

EMAIL = "EMAIL"
PHONE = "PHONE"
CREDIT_CARD = "CREDIT_CARD"
IBAN = "IBAN"
US_SSN = "US_SSN"
IP_ADDRESS = "IP_ADDRESS"
API_KEY = "API_KEY"
PASSWORD = "PASSWORD"
PRIVATE_KEY = "PRIVATE_KEY"


@dataclasses.dataclass(frozen=True)
class Match:
    entity: str
    start: int  # in the normalized text
    end: int
    text: str


@dataclasses.dataclass(frozen=True)
class _Detector:
    entity: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool] = lambda _text: True
    group: int = 0  # the capture group that is the sensitive value
    value: re.Pattern[str] | None = None  # what the value alone looks like, when group > 0


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# Issuer prefixes (IIN ranges) and the lengths their card numbers have.
_CARD_ISSUERS = (
    (re.compile(r"4"), (13, 16, 19)),  # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), (16,)),  # Mastercard
    (re.compile(r"3[47]"), (15,)),  # American Express
    (re.compile(r"6(?:011|5|4[4-9]|2)"), (16, 17, 18, 19)),  # Discover, UnionPay
    (re.compile(r"35"), (16, 17, 18, 19)),  # JCB
    (re.compile(r"3(?:0[0-5]|[689])"), (14, 15, 16, 17, 18, 19)),  # Diners Club
)


def _card(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    issuer_fits = any(
        prefix.match(digits) and len(digits) in lengths for prefix, lengths in _CARD_ISSUERS
    )
    return issuer_fits and _luhn(digits)


def _iban(text: str) -> bool:
    compact = re.sub(r"\s", "", text).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _phone(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") or re.match(r"00[1-9]", text):
        return 8 <= len(digits) <= 15  # E.164 allows at most 15 digits
    if text.startswith("0"):
        return 9 <= len(digits) <= 11  # trunk prefix plus a national number
    return len(digits) == 10  # North American (NXX) NXX-XXXX


def _ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


_SEP = r"[ .\-]"
_DETECTORS = (
    _Detector(
        PRIVATE_KEY,
        re.compile(
            # The body stops at the next "-----", so an unterminated key costs linear time.
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:[^-]|-(?!----))*"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
        ),
    ),
    _Detector(
        API_KEY,
        re.compile(
            r"(?<![\w-])(?:"
            r"sk-(?:proj-|ant-[a-z0-9]+-)?[A-Za-z0-9_\-]{20,}"  # OpenAI, Anthropic
            r"|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
            r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}"  # GitHub
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
            r"|AIza[0-9A-Za-z_\-]{35}"  # Google
            r"|xox[abprs]-[A-Za-z0-9\-]{10,}"  # Slack
            r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"  # JWT
            r")(?![\w-])"
        ),
    ),
    _Detector(
        PASSWORD,
        re.compile(
            r"(?i)\b(?:api[_\-]?key|secret|token|passw(?:or)?d|pwd)\b[\"']?\s*[:=]\s*[\"']?"
            r"([^\s\"',;]{6,})"
        ),
        group=1,
        value=re.compile(r"[^\s\"',;]{6,}"),
    ),
    _Detector(
        IBAN,
        re.compile(r"(?i)(?<!\w)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?!\w)"),
        _iban,
    ),
    _Detector(
        CREDIT_CARD,
        re.compile(r"(?<![\w\-.])(?<!\d[ \-])\d(?:[ \-]?\d){12,18}(?![\w\-]|\.\d)"),
        _card,
    ),
    _Detector(
        EMAIL,
        re.compile(
            r"(?<![\w.+%'\-])[\w.+%'\-]+@(?:[^\W_](?:[\w\-]*[^\W_])?\.)+[^\W\d_]{2,}(?![\w\-])"
        ),
    ),
    _Detector(
        US_SSN,
        re.compile(r"(?<![\w\-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w\-])"),
    ),
    _Detector(
        IP_ADDRESS,
        re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)"),
        _ipv4,
    ),
    _Detector(
        PHONE,
        re.compile(
            r"(?<![\w+.\-/])(?<!\d[ .\-/])(?:"
            rf"(?:\+|00)[1-9]\d{{0,3}}(?:{_SEP}?\(?\d{{1,4}}\)?){{1,6}}"  # international
            rf"|0[1-9]\d{{0,3}}(?:[ .\-/]?\(?\d{{2,4}}\)?){{1,5}}"  # national, trunk prefix
            rf"|\(?[2-9]\d{{2}}\)?{_SEP}?\d{{3}}{_SEP}\d{{4}}"  # North American
            r")(?![\w\-]|\.\d)"
        ),
        _phone,
    ),
)

_BY_ENTITY = {detector.entity: detector for detector in _DETECTORS}
ENTITIES = tuple(_BY_ENTITY)

# The clearance (airspace.agent.v1.DataClass name) an agent needs to see each entity.
DATA_CLASS = {
    EMAIL: "DATA_CLASS_PII",
    PHONE: "DATA_CLASS_PII",
    US_SSN: "DATA_CLASS_PII",
    IP_ADDRESS: "DATA_CLASS_PII",
    CREDIT_CARD: "DATA_CLASS_FINANCIAL",
    IBAN: "DATA_CLASS_FINANCIAL",
    API_KEY: "DATA_CLASS_SECRET",
    PASSWORD: "DATA_CLASS_SECRET",
    PRIVATE_KEY: "DATA_CLASS_SECRET",
}
DATA_CLASSES = frozenset({*DATA_CLASS.values(), "DATA_CLASS_HEALTH"})


def detect(text: str) -> list[Match]:
    """Non-overlapping matches in `text`, ordered by position."""
    taken: list[Match] = []
    for detector in _DETECTORS:
        for found in detector.pattern.finditer(text):
            start, end = found.span(detector.group)
            value = found.group(detector.group)
            if any(start < m.end and m.start < end for m in taken):
                continue
            if detector.valid(value):
                taken.append(Match(detector.entity, start, end, value))
    return sorted(taken, key=lambda m: m.start)


def is_entity(text: str, entity: str) -> bool:
    """Whether normalized `text` as a whole is one `entity` (to check a span still holds it).

    A value only recognizable by its context ("password: ...") is checked for its shape."""
    detector = _BY_ENTITY.get(entity)
    if detector is None:
        return False
    if detector.value is not None:
        return detector.value.fullmatch(text) is not None
    return any(m.entity == entity and (m.start, m.end) == (0, len(text)) for m in detect(text))
