"""How "who said what" is written out: the lines of ``assistant said`` (by speaker, or
``--timeline``), its JSON (``--json``, ``GET /said``, the ``who_said`` tool) and the
chat's Markdown table. One module for every front end, so that they never disagree.

Every text from a document goes through :func:`~.render.one_line` (controls made
visible) here; the JSON carries the text as indexed.
"""

from __future__ import annotations

from ..types import Reported, SaidSpeaker, SaidStatement, WhoSaid, filter_to_json
from .render import changed_warnings, one_line, short_name

UNDATED = "undated"
WIDTH = 100  # the quotes of ``assistant said`` wrap at this width
# A timeline line's quote is cut to this many characters.
TIMELINE_QUOTE = 90


def said_json(said: WhoSaid, warnings: list[str], search_filter=None) -> dict:
    """The document ``assistant said --json`` prints: ``{"topic", "speakers": [{"speaker",
    "role", "side", "statements": [{"quote", "doc_id", "source", "title", "outlet",
    "published", "paragraph", "start", "end", "also_in"}]}], "abstained", "reason",
    "nearest", "warnings", "filter"}``. Fields are only ever added."""
    return {**said.to_json(), "warnings": warnings, "filter": filter_to_json(search_filter)}


def said_warnings(index, said: WhoSaid) -> list[str]:
    """A warning for each quoted file that changed on disk since it was indexed."""
    sources = [
        reported.source
        for speaker in said.speakers
        for statement in speaker.statements
        for reported in (statement.where, *statement.also_in)
    ]
    return changed_warnings(index, sources)


def speaker_label(speaker: SaidSpeaker) -> str:
    """``Kioumars Heydari — Brigadier General, commander of Iran’s Ground Force (for
    Iran)``; the side is left out when the name already says it."""
    label = one_line(speaker.speaker)
    if speaker.role:
        label += f" — {one_line(speaker.role)}"
    if speaker.side and speaker.side not in speaker.speaker:
        label += f" (for {one_line(speaker.side)})"
    return label


def short_speaker(speaker: SaidSpeaker) -> str:
    """``Kioumars Heydari (Iran)``: the name and the side, for a timeline or a column."""
    name = one_line(speaker.speaker)
    if speaker.side and speaker.side not in speaker.speaker:
        return f"{name} ({one_line(speaker.side)})"
    return name


def date_of(statement: SaidStatement | Reported) -> str:
    return statement.published or UNDATED


def where_line(reported: Reported) -> str:
    """``Outlet — Title — file ¶paragraph, characters start–end``."""
    parts = [one_line(p) for p in (reported.outlet, reported.title) if p]
    place = f"{one_line(reported.source)} ¶{reported.paragraph}"
    parts.append(f"{place}, characters {reported.start}–{reported.end}")
    return " — ".join(parts)


def reporter(reported: Reported) -> str:
    """Who reported it, briefly: the outlet, else the file's name."""
    return one_line(reported.outlet or short_name(reported.source))


def reported_by(statement: SaidStatement) -> str | None:
    """``reported by Atlas News and Middle East Monitor`` when several outlets did."""
    if not statement.also_in:
        return None
    names = list(dict.fromkeys(reporter(r) for r in (statement.where, *statement.also_in)))
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return f"reported by {listed}"


def heading(said: WhoSaid) -> str:
    statements = sum(len(speaker.statements) for speaker in said.speakers)
    speakers = len(said.speakers)
    counts = (
        f"{speakers} speaker{'s' * (speakers != 1)},"
        f" {statements} statement{'s' * (statements != 1)}"
    )
    return f"Who said what on “{one_line(said.topic)}” ({counts}):"


def abstention_line(said: WhoSaid) -> str:
    return f"No one is quoted on this: {one_line(said.reason or 'nothing found')}."


def by_speaker_lines(said: WhoSaid) -> list[str]:
    """The statements speaker by speaker, each with its date, quote and source."""
    import textwrap

    lines = [heading(said)]
    indent = " " * 14
    for speaker in said.speakers:
        lines += ["", speaker_label(speaker)]
        for statement in speaker.statements:
            quote = one_line(f"“{statement.quote}”")
            first = f"  {date_of(statement):<10}  "
            lines += textwrap.wrap(quote, WIDTH, initial_indent=first, subsequent_indent=indent)
            lines.append(f"{indent}{where_line(statement.where)}")
            for other in statement.also_in:
                lines.append(f"{indent}also {date_of(other)}: {where_line(other)}")
            by = reported_by(statement)
            if by:
                lines.append(f"{indent}({by})")
    return lines


def cut(text: str, width: int) -> str:
    text = one_line(text)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def timeline_lines(said: WhoSaid) -> list[str]:
    """Every statement of every side in date order, one line each: date, speaker (side),
    the quote cut to one line, and the source."""
    lines = [heading(said).replace("Who said what", "Timeline of what was said", 1)]
    for speaker, statement in said.timeline():
        quote = cut(statement.quote, TIMELINE_QUOTE)
        source = f"{one_line(statement.source)} ¶{statement.where.paragraph}"
        more = f" (+{len(statement.also_in)} more)" if statement.also_in else ""
        lines.append(
            f"{date_of(statement):<10}  {short_speaker(speaker)}: “{quote}” — {source}{more}"
        )
    return lines


# -- the chat's export -------------------------------------------------------------------


def columns(said: WhoSaid) -> list[tuple[str, list[tuple[SaidSpeaker, SaidStatement]]]]:
    """The side-by-side view's columns: one per side when the sources give sides (the
    speakers without one together last, as "no side stated"), else one per speaker.
    Each column's statements in date order."""
    if any(speaker.side for speaker in said.speakers):
        groups: dict[str, list] = {}
        for speaker in said.speakers:
            groups.setdefault(speaker.side or "", []).extend(
                (speaker, statement) for statement in speaker.statements
            )
        named = [(side or "no side stated", pairs) for side, pairs in groups.items()]
        named.sort(key=lambda column: column[0] == "no side stated")
    else:
        named = [
            (short_speaker(speaker), [(speaker, s) for s in speaker.statements])
            for speaker in said.speakers
        ]
    from ..types import statement_order

    return [(name, sorted(pairs, key=lambda p: statement_order(p[1]))) for name, pairs in named]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (one line, pipes escaped)."""
    return one_line(text).replace("|", "\\|")


def markdown_table(said: WhoSaid) -> str:
    """The side-by-side view as a Markdown table: one column per side (or speaker),
    one row per statement in date order, each cell the date, who, quote and source."""
    title = f"# Who said what: {_cell(said.topic)}\n"
    if said.abstained:
        return f"{title}\n{abstention_line(said)}\n"
    view = columns(said)
    rows = max(len(pairs) for _, pairs in view)
    lines = [title, "| " + " | ".join(_cell(name) for name, _ in view) + " |"]
    lines.append("|" + "---|" * len(view))
    for row in range(rows):
        cells = []
        for _, pairs in view:
            if row >= len(pairs):
                cells.append("")
                continue
            speaker, statement = pairs[row]
            source = f"{statement.source} ¶{statement.where.paragraph}"
            by = reported_by(statement)
            who = _cell(short_speaker(speaker))
            cell = f"**{date_of(statement)}** {who}: “{_cell(statement.quote)}” — {_cell(source)}"
            cells.append(cell + (f" ({_cell(by)})" if by else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
