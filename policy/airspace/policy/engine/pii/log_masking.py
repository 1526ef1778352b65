"""PII masking of log lines: every finding replaced by its entity name.

Services hand this to the mesh kit when they start (server.run), so no log line any
service writes carries PII in clear.
"""

from __future__ import annotations

import ipaddress

from airspace.policy.engine.pii.detectors import IP_ADDRESS
from airspace.policy.engine.pii.scan import Span, scan_text


def mask_log_text(text: str) -> str:
    """`text` with every PII finding replaced by its entity name. Loopback and unspecified
    addresses ("listening on 127.0.0.1:50051") identify nobody and stay."""
    spans = [span for span in scan_text(text) if not _infrastructure_address(span)]
    if not spans:
        return text
    parts, end = [], 0
    for span in spans:
        parts += [text[end : span.start], f"[{span.entity}]"]
        end = span.end
    parts.append(text[end:])
    return "".join(parts)


def _infrastructure_address(span: Span) -> bool:
    if span.entity != IP_ADDRESS:
        return False
    address = ipaddress.ip_address(span.value)
    return address.is_loopback or address.is_unspecified
