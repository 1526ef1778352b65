"""WHERE clauses built from the filters a listing was given, written once for every
store: the SQL is portable, and each driver names its parameter marker."""

from __future__ import annotations

from typing import Any

_MARK = "{}"


class Conditions:
    def __init__(self) -> None:
        self._clauses: list[str] = []
        self.args: list[Any] = []

    def add(self, clause: str, *args: Any) -> Conditions:
        """A clause with one {} per argument."""
        self._clauses.append(clause)
        self.args.extend(args)
        return self

    def add_in(self, column: str, values: list[Any]) -> Conditions:
        return self.add(f"{column} IN ({', '.join([_MARK] * len(values))})", *values)

    def sql(self, mark: str) -> str:
        return " AND ".join(self._clauses).replace(_MARK, mark)
