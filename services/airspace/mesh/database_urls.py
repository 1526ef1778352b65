"""Which store a state URL names, and how to show one without its password."""

from __future__ import annotations

import urllib.parse

POSTGRES_SCHEMES = ("postgresql", "postgres")
_HIDDEN = "***"


def is_postgres(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme in POSTGRES_SCHEMES


def redacted(url: str) -> str:
    """The URL with its password (in the authority or a password= parameter) hidden,
    fit for logs and messages."""
    parts = urllib.parse.urlsplit(url)
    params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if parts.password is None and all(name != "password" for name, _ in params):
        return url
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:{_HIDDEN}@{host}"
    query = urllib.parse.urlencode(
        [(name, _HIDDEN if name == "password" else value) for name, value in params], safe="*"
    )
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))
