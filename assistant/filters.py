"""Restricting a search to some documents: by publication date, by source and by the
language passages are in.

The restriction is applied inside each search (the vector search only visits allowed
passages, the BM25 queries only match them), never to the results afterwards, so a
filter cannot empty a result list that has matches within it. How a store applies it
is the store's business (the local one turns it into SQL: ``storage.database``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

from .errors import UsageError
from .types import primary_language

_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def _bound(value: str, end: bool) -> str:
    """``2023`` / ``2023-04`` / ``2023-04-02`` as an ISO day; a period's first day, or
    its last when ``end``."""
    match = _DATE.match(value.strip())
    if not match:
        raise UsageError(f"dates are YYYY, YYYY-MM or YYYY-MM-DD, not {value!r}")
    year = int(match.group(1))
    month = int(match.group(2) or (12 if end else 1))
    if not 1 <= month <= 12:
        raise UsageError(f"no month {month} in {value!r}")
    last = calendar.monthrange(year, month)[1]
    day = int(match.group(3) or (last if end else 1))
    if not 1 <= day <= last:
        raise UsageError(f"no day {day} in {value!r}")
    return f"{year:04d}-{month:02d}-{day:02d}"


@dataclass(frozen=True)
class SearchFilter:
    """Documents published in [since, until] (inclusive) and from any of ``sources``.

    A source matches a document when it names its outlet (any case, e.g. "Middle East
    Monitor"), or its file: the path as indexed, a directory it is in, or a glob
    pattern (``seeds/00*``). With a date bound, documents without a known date are
    left out: nothing says they fall inside.

    With ``languages`` (primary subtags, "es"), only passages whose source states one
    of them pass: a passage whose source states no language is left out, as an
    undated document is by a date bound.
    """

    since: str | None = None
    until: str | None = None
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, since: str | None = None, until: str | None = None, sources=(), languages=()
    ) -> SearchFilter | None:
        """From user input; None when nothing restricts."""
        start = _bound(since, end=False) if since else None
        stop = _bound(until, end=True) if until else None
        if start and stop and start > stop:
            raise UsageError(f"--since {since} is after --until {until}")
        cleaned = tuple(s.strip() for s in sources if s and s.strip())
        codes = _languages(languages)
        if not (start or stop or cleaned or codes):
            return None
        return cls(start, stop, cleaned, codes)

    def describe(self) -> str:
        parts = []
        if self.since:
            parts.append(f"since {self.since}")
        if self.until:
            parts.append(f"until {self.until}")
        if self.sources:
            parts.append("from " + " or ".join(self.sources))
        if self.languages:
            parts.append("in " + " or ".join(self.languages))
        return ", ".join(parts)


def _languages(given) -> tuple[str, ...]:
    """Language codes as given ("es", "pt-BR", "en,fr"), as primary subtags, each once."""
    if isinstance(given, str):
        given = [given]
    codes: dict[str, None] = {}
    for value in given or ():
        for part in (value or "").split(","):
            if not part.strip():
                continue
            code = primary_language(part)
            if code is None:
                raise UsageError(f"a language is a code such as en, es or pt-BR, not {part!r}")
            codes[code] = None
    return tuple(codes)
