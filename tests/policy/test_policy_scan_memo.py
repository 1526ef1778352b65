"""Each text is scanned once: the memo of scan results is bounded, gives what a scan gives
(evasions included), and spares the detectors a text that crosses several checks, as it does
sibling strings scanned joined."""

from __future__ import annotations

import base64
import concurrent.futures

import pytest
from policy_helpers import check, engine_for, user

from airspace.policy.engine import MaskScope
from airspace.policy.engine.pii import scan
from airspace.policy.engine.pii.memo import TextMemo

pytestmark = pytest.mark.unit

EMAIL = "grace.hopper@example.com"
TEXTS = [
    f"write to {EMAIL} today",
    "write to grace.hopper\u200b@example.com today",  # a zero-width space inside
    "call ０２０ ７９４６ ０９５８ or +44 20 7946 0958",  # full-width digits
    "attachment: " + base64.b64encode(f"reach me at {EMAIL}".encode()).decode(),
    "card 4111 1111 1111 1111, ssn 123-45-6789",
    "nothing personal in this sentence",
]


@pytest.fixture
def memo(monkeypatch) -> TextMemo:
    fresh: TextMemo = TextMemo()
    monkeypatch.setattr(scan, "_SCANNED", fresh)
    return fresh


def unremembered(text: str, path: str = "") -> list[scan.Span]:
    return scan._scan_text(text, path, 0)


def test_drops_the_oldest_text_past_its_entries():
    memo: TextMemo[int] = TextMemo(max_entries=3, max_chars=1000)
    for number, text in enumerate(["first", "second", "third", "fourth"]):
        memo.put(text, number)
    memo.put("second", 9)  # already there: kept as it was
    assert len(memo) == 3
    assert memo.get("first") is None
    assert [memo.get(t) for t in ("second", "third", "fourth")] == [1, 2, 3]


def test_keeps_no_more_characters_than_its_bound():
    memo: TextMemo[int] = TextMemo(max_entries=100, max_chars=20)
    for number in range(10):
        memo.put(f"text number {number}", number)  # 13 characters each
    assert memo.chars <= 20 and len(memo) == 1
    assert memo.get("text number 9") == 9


def test_does_not_keep_a_text_longer_than_its_bound():
    memo: TextMemo[int] = TextMemo(max_entries=10, max_chars=1000, max_text=8)
    memo.put("x" * 9, 1)
    memo.put("x" * 8, 2)
    assert memo.get("x" * 9) is None and memo.get("x" * 8) == 2
    assert memo.chars == 8


def test_threads_sharing_a_memo_keep_its_bounds_and_its_results():
    memo: TextMemo[int] = TextMemo(max_entries=50, max_chars=400)
    texts = [f"text {number:04d}" for number in range(500)]

    def scan_all(offset: int) -> None:
        for text in texts[offset:] + texts[:offset]:
            found = memo.get(text)
            assert found is None or found == int(text[5:])
            memo.put(text, int(text[5:]))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for done in [pool.submit(scan_all, offset) for offset in (0, 125, 250, 375)]:
            done.result()
    assert len(memo) <= 50 and memo.chars == 9 * len(memo) <= 400


@pytest.mark.parametrize("text", TEXTS)
def test_a_remembered_text_gives_what_a_scan_gives(memo, text):
    first = scan.scan_text(text, "/a")
    again = scan.scan_text(text, "/b/0")
    assert first == unremembered(text, "/a")
    assert again == unremembered(text, "/b/0")
    assert len(memo) == 1


def test_evasions_are_found_even_when_the_plain_text_was_remembered(memo):
    scan.scan_text(TEXTS[0])
    [hidden] = scan.scan_text(TEXTS[1])
    assert (hidden.entity, hidden.end - hidden.start) == ("EMAIL", len(EMAIL) + 1)
    [encoded] = scan.scan_text(TEXTS[3])
    assert (encoded.entity, encoded.scope) == ("EMAIL", MaskScope.ENCODED)


def test_a_document_of_remembered_strings_gives_what_a_scan_gives(memo):
    document = {
        "notes": list(TEXTS),
        "contact": {"user": "grace.hopper", "domain": "@example.com"},  # split
        EMAIL: "a member name",
    }
    first = scan.scan_json(document)
    fragments = [s for s in first if s.scope is MaskScope.FRAGMENT]
    assert len(fragments) == 2  # the split email, one span per piece
    assert scan.scan_json(document) == first
    assert {s.path for s in first} >= {"/notes/0", "/notes/3", f"/{EMAIL}/~k", "/contact/user"}


def test_short_strings_are_not_remembered(memo):
    scan.scan_json({"a": "short", "b": ["x", "yes", "12345"]})
    assert len(memo) == 0


@pytest.fixture
def scanned(monkeypatch) -> list[str]:
    """The texts the detectors see from now on."""
    seen: list[str] = []
    detect = scan.detect

    def counted(text):
        seen.append(text)
        return detect(text)

    monkeypatch.setattr(scan, "detect", counted)
    return seen


def test_a_payload_checked_at_output_then_at_the_next_input_is_scanned_once(memo, scanned):
    engine = engine_for()
    output = {"text": f"done; reply to {EMAIL}", "data": {"summary": "three items shipped"}}
    engine.decide(check("step.output", user("mesh"), name="writer", payload=output))
    after_output = len(scanned)
    engine.decide(check("step.input", user("mesh"), name="writer", payload={"input": output}))
    assert after_output > 0 and len(scanned) == after_output


def test_siblings_joined_are_scanned_once_and_give_what_a_scan_gives(memo, scanned, monkeypatch):
    monkeypatch.setattr(scan, "_JOINED", TextMemo())
    # An email split over two members, and numbers that may continue one another.
    document = {"user": "grace.hopper", "domain": "@example.com", "versions": ["1.0.0", "2.0.1"]}
    first = scan.scan_json(document)
    joined = [text for text in scanned if "grace.hopper@example.com" in text]
    assert joined, "the members were scanned joined"
    after_first = len(scanned)
    assert scan.scan_json(document) == first
    assert len(scanned) == after_first  # nothing scanned again, joined or alone
    monkeypatch.setattr(scan, "_SCANNED", TextMemo())
    monkeypatch.setattr(scan, "_JOINED", TextMemo())
    assert scan.scan_json(document) == first  # what a scan with empty memos gives
