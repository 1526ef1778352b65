"""The sample extractor's patterns against inputs built to make a backtracking engine
take quadratic or exponential time: each finishes (the durations are printed, never
asserted). With Python's re, 16,000 characters of "A" took 26 s; 1 MiB would take hours."""

from __future__ import annotations

import time

import pytest

from airspace.agents.samples.compliance_checker import Rules, check_contract
from airspace.agents.samples.contract_extractor import extract_contract

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]
MiB = 1 << 20

# Aimed at each pattern of the extractor: its repeated groups, lazy runs and alternations.
ADVERSARIAL = {
    "1 MiB of A (every pattern)": "A" * MiB,
    "notice: a long lowercase word before no 'days'": "a" * MiB,
    "term: hyphenated words after 'term of'": "term of " + "a-a " * (MiB // 4),
    "parties: capitalised words that never reach a suffix": "between " + "Abc " * (MiB // 4),
    "governing law: a name that never ends": "governed by the laws of " + "A" * MiB,
    "email: dotted labels after an @": "a@" + "a." * (MiB // 2),
    "money: thousands groups without end": "The fee is EUR 1" + ",000" * (MiB // 4),
    "effective date: ordinals without a month": "dated " + "1st " * (MiB // 4),
    "sentences: a full stop every three characters": "a. " * (MiB // 3),
    "sentences: one word sentences": "A. " * (MiB // 3),
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_an_adversarial_text_is_read_in_linear_time(text):
    began = time.perf_counter()
    fields = extract_contract(text)
    check_contract(fields, Rules())
    print(f"{len(text):,} characters in {time.perf_counter() - began:.3f} s")

    assert fields["termination_notice_days"] is None
    assert fields["effective_date"] is None


def test_the_patterns_still_read_a_real_contract_with_accented_names():
    fields = extract_contract(
        'This agreement is dated 1st March 2026 between Müller Dröge GmbH (the "Customer") '
        'and Søren Data ApS Ltd (the "Supplier"). Either party may terminate with sixty (60) '
        "days' prior written notice. The fee is EUR 12,500.00 per month. Liability is capped "
        "at EUR 250,000. This agreement is governed by the laws of Germany. Contact "
        "jürgen.weiß@müller.example or ops@supplier.example."
    )

    assert [party["name"] for party in fields["parties"]] == [
        "Müller Dröge GmbH",
        "Søren Data ApS Ltd",
    ]
    assert fields["effective_date"] == "2026-03-01"
    assert fields["termination_notice_days"] == 60
    assert (fields["payment_amount"], fields["payment_currency"]) == (12500.0, "EUR")
    assert fields["liability_cap_amount"] == 250000.0
    assert fields["governing_law"] == "Germany"
    assert fields["signatory_emails"] == ["jürgen.weiß@müller.example", "ops@supplier.example"]
