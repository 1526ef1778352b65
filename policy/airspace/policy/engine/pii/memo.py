"""Scan results remembered by text, so that a text crossing several checks is scanned once.

One step's output is checked at step.output, is the next step's input (checked at
step.input), is streamed in events that the reader view scans for every reader, and
parts of it reach audit details: the same strings, scanned up to four times. What a scan
finds in a string depends on that string alone (not on who sent it, nor on any bundle),
so a remembered result is exactly what scanning again would give, evasions included: a
text hiding an entity behind invisible characters or base64 is a different key from its
plain form, and its spans were found by the full scan the first time.

Why a memo keyed by the text rather than spans carried with the payload: a payload
crosses processes (a Struct over gRPC, the run log, the state service) and is edited on
the way (masked, edited by an approver); spans riding with it would have to be trusted
from wherever it came from and kept in step with every edit. A key that is the text
itself needs no trust: equal text, equal spans. Python strings hash once, so a lookup
costs a hash of a new string and one comparison, far less than the regexes.

Bounds are constants, not settings (nothing about them is site-specific): MAX_ENTRIES
texts and MAX_CHARS characters in all, the oldest dropped first (a text is looked up
again soon after its first scan, while its step goes on, so recency adds little); a text
longer than MAX_TEXT is not remembered, so that one large payload cannot push out all the
others. The scanner only asks for texts of its minimum length and more.

What is kept: the texts (as keys) and their spans, in this process's memory, which holds
those same payloads while they are checked and sent on (the scanner keeps a second memo,
of sibling strings joined, under the same bounds). Nothing of it is written, logged,
exported or reachable through any API, and a text is dropped at the latest once
MAX_ENTRIES newer texts have been scanned. Between tenants: the result depends only on the text, so an
entry one tenant's payload made gives another tenant exactly what a scan would. A hit is
some microseconds faster than a scan; that could tell only that the very same whole
string was scanned lately, under a call's milliseconds of noise, which is not worth a
memo per tenant.
"""

from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

V = TypeVar("V")

MAX_ENTRIES = 4096
MAX_CHARS = 4 * 1024 * 1024
MAX_TEXT = 64 * 1024


class TextMemo(Generic[V]):
    """A bounded map from text to an immutable result, safe to share between threads
    (the policy service decides on a thread pool): a lookup is one call on the dict,
    which the interpreter makes atomic; adding and dropping hold the lock, so the count
    of characters stays true."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, max_chars: int = MAX_CHARS, max_text: int = MAX_TEXT
    ):
        self._max_entries = max_entries
        self._max_chars = max_chars
        self._max_text = min(max_text, max_chars)
        self._entries: collections.OrderedDict[str, V] = collections.OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, text: str) -> V | None:
        return self._entries.get(text)

    def put(self, text: str, result: V) -> None:
        if len(text) > self._max_text:
            return
        with self._lock:
            if text in self._entries:
                return  # another thread scanned it meanwhile: the same result
            self._entries[text] = result
            self._chars += len(text)
            while len(self._entries) > self._max_entries or self._chars > self._max_chars:
                dropped, _ = self._entries.popitem(last=False)
                self._chars -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def chars(self) -> int:
        """The characters of every text remembered."""
        return self._chars
