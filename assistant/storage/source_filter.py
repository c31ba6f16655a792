"""What ``--source NAME`` means, for any store: a document passes when NAME is its
outlet (in any case), its source file, a folder its file is in, or a glob its file
matches (SQLite GLOB's rules: case-sensitive, ``[^…]`` negates).

The sources part is resolved here, against the sources an index holds, into the list
of those that pass; each store then keeps the documents of those sources (and those of
the named outlets) with its own query.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable


def source_matches(source: str, wanted: Iterable[str]) -> bool:
    """Whether a document's source passes any of the names: the file itself, a folder
    it is in, or a glob."""
    for name in wanted:
        folder = name.rstrip("/") + "/"
        pattern = name.replace("[^", "[!")
        if source == name or source.startswith(folder) or fnmatch.fnmatchcase(source, pattern):
            return True
    return False


def matching_sources(known: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """The indexed sources that pass, sorted."""
    wanted = tuple(wanted)
    return sorted({source for source in known if source_matches(source, wanted)})
