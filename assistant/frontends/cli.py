"""Command line: a thin layer over the library. Errors become one line and an exit code.

The settings (environment variables, the config file) are read once per command, into
the :class:`~assistant.config.Settings` the group puts in ``ctx.obj``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import textwrap
from pathlib import Path

import click

from ..config import Settings
from ..errors import (
    AssistantError,
    DatabaseCorruptError,
    DiskFullError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexLockedError,
    IndexNotFoundError,
    IndexNotWritableError,
    LLMError,
    MissingExtraError,
    ModelUnavailableError,
    NothingToIndexError,
    SourceNotFoundError,
    SourcesChangedError,
    StoreUnavailableError,
    UsageError,
    VectorsCorruptError,
)
from ..extras import require
from ..ingest.limits import DEFAULT_FEED_LIMIT  # a constant: imports nothing

INDEX_HELP = (
    "A collection NAME (kept in the user's data directory) or an index DIR"
    " (default: $ASSISTANT_INDEX, else the collection 'default')."
)
# -h as well as --help, on every command.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

# The exit status of each kind of failure (README, "Errors"); a subclass not listed
# takes its base's (the most specific listed class wins).
EXIT_CODES: dict[type[AssistantError], int] = {
    AssistantError: 1,
    UsageError: 2,
    SourceNotFoundError: 3,
    IndexNotFoundError: 4,
    IndexCorruptError: 5,
    IndexIncompatibleError: 6,
    IndexLockedError: 7,
    ModelUnavailableError: 8,
    VectorsCorruptError: 9,
    DatabaseCorruptError: 10,
    SourcesChangedError: 11,
    LLMError: 12,
    NothingToIndexError: 13,
    DiskFullError: 14,
    StoreUnavailableError: 15,
    MissingExtraError: 16,
    IndexNotWritableError: 17,
}
UNEXPECTED_EXIT = 70  # EX_SOFTWARE: a bug, not the user's doing
INTERRUPTED_EXIT = 130
BROKEN_PIPE_EXIT = 141  # what a shell reports for SIGPIPE


def exit_code(error: AssistantError) -> int:
    """The exit status for ``error``: its class's, else its nearest listed base's."""
    for kind in type(error).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return EXIT_CODES[AssistantError]


def _settings() -> Settings:
    """This command's settings (read once, by the group)."""
    context = click.get_current_context(silent=True)
    if context is not None and isinstance(context.obj, Settings):
        return context.obj
    return Settings.load(os.environ)


class AssistantGroup(click.Group):
    """Reads the settings once; turns library errors into ``error: ...`` on stderr and
    a distinct exit status."""

    def invoke(self, ctx: click.Context):
        if not isinstance(ctx.obj, Settings):
            ctx.obj = Settings.load(os.environ)
        try:
            return super().invoke(ctx)
        except AssistantError as error:
            click.echo(f"error: {_one_line(str(error))}", err=True)
            sys.exit(exit_code(error))
        except KeyboardInterrupt as interrupt:
            # An index write says what it kept (WriteInterrupted); Ctrl-C elsewhere
            # has nothing to add.
            said = _one_line(str(interrupt)) if str(interrupt) else ""
            click.echo(f"interrupted: {said}" if said else "interrupted", err=True)
            sys.exit(INTERRUPTED_EXIT)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as error:  # the promise is: never a traceback
            if ctx.obj.debug:
                raise
            _exit_if_disk_full(error)
            click.echo(
                f"error: unexpected {type(error).__name__}: {_one_line(str(error))}"
                " (set ASSISTANT_DEBUG=1 for details)",
                err=True,
            )
            sys.exit(UNEXPECTED_EXIT)


def _quiet_broken_pipe() -> None:
    """The reader of our output went away (``assistant ask … | head -1``): stop without
    a word, as Unix tools do. Python would still flush stdout at exit and complain, so
    it is pointed at /dev/null first."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(BROKEN_PIPE_EXIT)


def _exit_if_disk_full(error: Exception) -> None:
    """A full disk outside the index write (which says how much it needs): still one
    line and exit 14, not an "unexpected" error."""
    from ..api import is_disk_full

    if is_disk_full(error):
        click.echo(
            f"error: no space left on device ({_one_line(str(error))})"
            " (free some space and try again)",
            err=True,
        )
        sys.exit(EXIT_CODES[DiskFullError])


def _one_line(text: str) -> str:
    from .render import one_line

    return one_line(text)


def _shown(value) -> str:
    """A path or name from data as printed: controls made visible, its spacing kept."""
    from ..text.display import inert

    return inert(str(value), keep_newlines=False)


def _index_path(value: str | None) -> Path:
    from ..paths import resolve_index

    return resolve_index(value, _settings())


def _open_index(value: str | None):
    from ..api import Index

    return Index(_index_path(value))


def _emit_json(data) -> None:
    from ..text.display import escape_json_controls

    click.echo(escape_json_controls(json.dumps(data, ensure_ascii=False, indent=2)))


def _progress_printer(quiet: bool = False):
    """A progress line on a terminal (stderr); nothing when piped, redirected or quiet."""
    if quiet or not sys.stderr.isatty():
        return None
    return _ProgressLine()


class _ProgressLine:
    """One line of stderr, redrawn in place: a bar, the count, the rate, the time left
    (``render.ProgressFigures``). Redrawn at most ten times a second, and always at the
    start and end of a stage, so a short stage is still seen."""

    def __init__(self) -> None:
        from .render import ProgressFigures

        self.figures = ProgressFigures()
        self.drawn_at = 0.0
        self.width = 0

    def detail(self, **fields) -> None:
        """The file at hand and the work in tokens (``plan.progress_detail``)."""
        self.figures.detail(**fields)

    def __call__(self, stage: str, done: int, total: int) -> None:
        import time

        new_stage = stage != self.figures.stage
        if new_stage and self.figures.stage:
            self._draw()
            click.echo("", err=True)  # keep the finished stage's line
            self.width = 0
        self.figures.update(stage, done, total)
        now = time.monotonic()
        if new_stage or done >= total or now - self.drawn_at >= 0.1:
            self.drawn_at = now
            self._draw()
        if stage == "writing" and done >= total:
            click.echo("", err=True)

    def _draw(self) -> None:
        filled = int(self.figures.fraction * 20)
        line = f"[{'#' * filled}{'-' * (20 - filled)}] {self.figures.line()}"
        line = line[: shutil.get_terminal_size().columns - 1]  # a wrapped line is not redrawn
        padding = " " * max(self.width - len(line), 0)  # wipe a longer previous line
        self.width = len(line)
        click.echo(f"\r{line}{padding}", err=True, nl=False)


index_option = click.option("--index", "index_dir", metavar="NAME|DIR", help=INDEX_HELP)
quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="Print nothing but errors (no progress, no summary)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group(cls=AssistantGroup, invoke_without_command=True, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="assistant", prog_name="assistant")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Ask questions of your own documents; answers quote the sources verbatim.

    With no command, opens the chat on the default index. Start with:
    assistant index add PATH (a file, a folder or a URL).

    Shell completion (bash): eval "$(_ASSISTANT_COMPLETE=bash_source assistant)"
    (zsh: zsh_source, fish: fish_source).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(chat)


def llm_options(command):
    """--llm and its settings; each may also come from the environment or config file."""
    options = [
        click.option(
            "--llm",
            "llm_url",
            metavar="URL",
            help="Answer with the language model of this OpenAI-compatible server"
            " (e.g. http://127.0.0.1:8080/v1; default: $ASSISTANT_LLM_URL or the config file).",
        ),
        click.option(
            "--llm-model", metavar="NAME", help="Model name (default: the server's first)."
        ),
        click.option(
            "--context-window", type=int, metavar="TOKENS", help="The model's context window."
        ),
        click.option(
            "--answer-tokens", type=int, metavar="TOKENS", help="Tokens kept for the answer."
        ),
        click.option("--no-llm", is_flag=True, help="Answer extractively even if a model is set."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def filter_options(command):
    """--since, --until, --source and --lang: restrict the search itself."""
    options = [
        click.option(
            "--since",
            metavar="DATE",
            help="Only documents published on or after DATE (YYYY[-MM[-DD]]).",
        ),
        click.option("--until", metavar="DATE", help="Only documents published up to DATE."),
        click.option(
            "--source",
            "sources",
            multiple=True,
            metavar="NAME",
            help="Only this outlet, file, folder or glob (repeat for several).",
        ),
        click.option(
            "--lang",
            "languages",
            multiple=True,
            metavar="CODE",
            help="Only passages whose source states this language (en, es, pt-BR, ...);"
            " passages stating none are left out.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _search_filter(since, until, sources, languages=()):
    from ..filters import SearchFilter

    return SearchFilter.parse(since, until, sources, languages)


def _llm_config(llm_url, llm_model, context_window, answer_tokens, no_llm):
    if no_llm:
        return None
    from ..query.llm import LLMConfig

    return LLMConfig.resolve(
        _settings(),
        url=llm_url,
        model=llm_model,
        context_window=context_window,
        answer_tokens=answer_tokens,
    )


@main.command()
@index_option
@llm_options
@filter_options
def chat(index_dir: str | None, since, until, sources, languages, **llm_settings) -> None:
    """Open the terminal chat (with no index yet, it asks for a file or folder to add)."""
    require("textual", "chat", "the chat")
    llm = _llm_config(**llm_settings)
    search_filter = _search_filter(since, until, sources, languages)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "the chat needs a terminal; for scripts use `assistant ask` or `assistant search`"
        )
    from .tui import run_chat

    for warning in llm.warnings if llm is not None else ():
        click.echo(f"warning: {_one_line(warning)}", err=True)
    run_chat(_index_path(index_dir), llm=llm, search_filter=search_filter, settings=_settings())


@main.command()
@click.argument("question")
@index_option
@click.option("-k", "k", default=3, show_default=True, help="Most citations to give.")
@json_option
@llm_options
@filter_options
def ask(
    question: str,
    index_dir: str | None,
    k: int,
    as_json: bool,
    since,
    until,
    sources,
    languages,
    **llm_settings,
) -> None:
    """Answer QUESTION from the index, citing passages verbatim."""
    from ..api import clean_question
    from ..query.language import other_language
    from ..text.display import inert

    clean_question(question)  # an empty question is a usage error, index or not
    llm = _llm_config(**llm_settings)
    search_filter = _search_filter(since, until, sources, languages)
    index = _open_index(index_dir)
    streamed: list[str] = []

    def show_piece(piece: str) -> None:
        if not streamed:
            piece = piece.lstrip()  # models often open with blank lines
        if piece:
            streamed.append(piece)
            click.echo(inert(piece), nl=False)

    on_text = None if as_json or llm is None else show_piece
    answer = index.ask(question, k=k, llm=llm, on_text=on_text, search_filter=search_filter)
    from .render import answer_warnings, ask_json

    warnings = answer_warnings(index, answer, llm)
    if as_json:
        _emit_json(ask_json(answer, warnings, search_filter))
        return
    if streamed:
        click.echo("\n")
    for warning in warnings:
        click.echo(f"warning: {_one_line(warning)}", err=True)
    if answer.mode == "llm":
        _print_verification(answer)
    else:
        if streamed:
            click.echo("Extractive answer:")
        click.echo(inert(answer.text))
    if answer.abstained:
        if answer.nearest:
            click.echo("\nNearest passages:")
            for rank, hit in enumerate(answer.nearest, 1):
                language = other_language(hit.passage.language, answer.language)
                document = index.document(hit.passage.doc_id)
                _print_passage(rank, hit.passage, document, language=language)
        return
    click.echo("\nSources:")
    for citation in answer.citations:
        _print_passage(
            citation.n,
            citation.passage,
            citation.document,
            citation.score,
            citation.said_by,
            citation.other_language,
        )
    if answer.mode == "llm":
        _print_tokens(answer.llm)


def _print_verification(answer) -> None:
    """After the streamed text: what the verifier found, sentence by sentence."""
    report = answer.llm
    verified = sum(s.verified for s in report.sentences)
    click.echo(f"Verified {verified} of {len(report.sentences)} sentences against the passages.")
    for sentence in report.sentences:
        if not sentence.verified:
            problems = _one_line("; ".join(sentence.problems))
            click.echo(f"  unverified: “{_one_line(sentence.text)}” — {problems}")
    if report.removed:
        removed = ", ".join(f"[{n}]" for n in report.removed)
        click.echo(f"  removed citations to passages it was not given: {removed}")


def _print_tokens(report) -> None:
    tokens = report.tokens
    click.echo(
        f"\nModel {_one_line(report.model or '?')}: prompt {tokens['prompt']} tokens"
        f" ({tokens['passages_given']} passages, {tokens['passages_left_out']} left out)"
        f" + answer {tokens['answer']} of a {tokens['context_window']}-token window"
    )


def _print_passage(
    n: int,
    passage,
    document,
    score: float | None = None,
    said_by: str | None = None,
    language: str | None = None,
) -> None:
    """One numbered source; ``language``: the passage's, when it is not the question's."""
    from ..text.display import inert
    from .render import characters, document_label, language_note, location

    click.echo(f"[{n}] {_one_line(document_label(document, passage.source))}")
    where = f"{location(passage, document)}, {characters(passage)}"
    if score is not None:
        where += f", score {score:.4f}"
    if language:
        where += f", {language_note(language)}"
    click.echo(f"    {inert(where, keep_newlines=False)}")
    if said_by:
        click.echo(f"    said by {_one_line(said_by)}")
    body = textwrap.fill(
        _one_line(passage.text),
        width=100,
        initial_indent="    “",
        subsequent_indent="     ",
    )
    click.echo(body + "”")


@main.command()
@click.argument("query")
@index_option
@click.option("-k", "k", default=5, show_default=True, help="How many passages.")
@json_option
@filter_options
def search(
    query: str, index_dir: str | None, k: int, as_json: bool, since, until, sources, languages
) -> None:
    """Find the passages that best match QUERY (dense + keyword, combined)."""
    from ..api import clean_question
    from ..query.language import detect, other_language
    from .render import search_json

    clean_question(query)  # an empty query is a usage error, index or not
    search_filter = _search_filter(since, until, sources, languages)
    index = _open_index(index_dir)
    hits = index.search(query, k=k, search_filter=search_filter)
    if as_json:
        _emit_json(search_json(query, hits, search_filter))
        return
    if not hits:
        within = f" {_one_line(search_filter.describe())}" if search_filter else ""
        click.echo(f"No passages found{within}.")
        return
    asked_in = detect(query)
    for rank, hit in enumerate(hits, 1):
        language = other_language(hit.passage.language, asked_in)
        document = index.document(hit.passage.doc_id)
        _print_passage(rank, hit.passage, document, hit.score, language=language)


@main.command()
@click.argument("topic")
@index_option
@click.option("-k", "k", default=20, show_default=True, help="Most speakers to list.")
@json_option
@click.option("--timeline", is_flag=True, help="Every statement in date order, one line each.")
@filter_options
def said(
    topic: str,
    index_dir: str | None,
    k: int,
    as_json: bool,
    timeline: bool,
    since,
    until,
    sources,
    languages,
) -> None:
    """Who said what on TOPIC: each speaker's statements, verbatim, with dates and sources."""
    from ..api import clean_question
    from .said_view import by_speaker_lines, said_json, said_warnings, timeline_lines

    clean_question(topic)  # an empty topic is a usage error, index or not
    search_filter = _search_filter(since, until, sources, languages)
    index = _open_index(index_dir)
    found = index.statements(topic, k=k, search_filter=search_filter)
    warnings = said_warnings(index, found)
    if as_json:
        _emit_json(said_json(found, warnings, search_filter))
        return
    for warning in warnings:
        click.echo(f"warning: {_one_line(warning)}", err=True)
    if found.abstained:
        _print_abstention(index, found)
        return
    for line in timeline_lines(found) if timeline else by_speaker_lines(found):
        click.echo(line)


def _print_abstention(index, found) -> None:
    from .said_view import abstention_line

    click.echo(abstention_line(found))
    if found.nearest:
        click.echo("\nNearest passages:")
        for rank, hit in enumerate(found.nearest, 1):
            _print_passage(rank, hit.passage, index.document(hit.passage.doc_id))


@main.command()
@index_option
def mcp(index_dir: str | None) -> None:
    """Serve the index to an MCP client (an AI assistant) over stdio: tools search,
    ask, who_said, get_passage, get_document and list_sources."""
    require("mcp", "mcp", "assistant mcp")
    from .mcp import serve

    serve(_index_path(index_dir))


@main.command(name="eval")
@click.argument("questions", required=False, type=click.Path(dir_okay=False, path_type=Path))
@index_option
@click.option("-k", "k", default=3, show_default=True, help="Citations per answer.")
@click.option(
    "--beir",
    "beir_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Score retrieval on a BEIR folder (corpus.jsonl, queries.jsonl, qrels/) instead.",
)
@click.option("--split", default="test", show_default=True, help="BEIR split: qrels/SPLIT.tsv.")
@json_option
def eval_command(
    questions: Path | None,
    index_dir: str | None,
    k: int,
    beir_dir: Path | None,
    split: str,
    as_json: bool,
) -> None:
    """Score answers on QUESTIONS.jsonl (hit@1, hit@3, MRR, abstention accuracy), or
    retrieval on a BEIR collection with --beir (nDCG@10, recall@100, MRR@10).

    \b
    QUESTIONS.jsonl has one JSON object a line:
      {"q": "What did Azerbaijan say about the 132-km border?",
       "gold": ["132-kilometer section"], "kind": "said"}
      {"q": "What is the GDP of Japan?", "abstain": true}
    q       the question (required)
    gold    strings; a cited passage holding any one of them is a hit
    abstain true when the sources do not answer: refusing is then right
    kind    optional label; the scores are also given per kind
    """
    if beir_dir is not None:
        _eval_beir(beir_dir, split, index_dir, as_json)
        return
    if questions is None:
        raise UsageError("give a QUESTIONS.jsonl file, or --beir DIR")
    from ..eval.questions import evaluate, load_questions

    items = load_questions(questions)
    report = evaluate(_open_index(index_dir), items, k=k)
    if as_json:
        _emit_json(report.to_json())
        return
    for result in report.results:
        if result.expected_abstain:
            mark = "ok  " if result.abstained else "MISS"
            cited = _shown(", ".join(result.cited))  # file names may hold escapes
            got = "abstained" if result.abstained else f"answered {cited}"
        else:
            mark = "ok  " if result.correct else "MISS"
            got = "abstained" if result.abstained else f"gold at {result.gold_rank or '-'}"
        click.echo(f"{mark} {got:24} {_one_line(result.question)}")
    m = report.metrics
    click.echo("")
    click.echo(f"questions            {m['questions']} ({m['answerable']} answerable)")
    click.echo(f"hit@1                {m['hit@1']:.3f}")
    click.echo(f"hit@3                {m['hit@3']:.3f}")
    click.echo(f"MRR                  {m['mrr']:.3f}")
    click.echo(f"abstention accuracy  {m['abstention_accuracy']:.3f}")
    click.echo(
        f"abstentions          precision {m['abstention_precision']:.3f},"
        f" recall {m['abstention_recall']:.3f}"
        f" ({m['false_abstentions']} false, {m['missed_abstentions']} missed)"
    )
    if report.by_kind:
        click.echo("")
        click.echo(f"{'kind':20} {'n':>4} {'hit@1':>6} {'hit@3':>6} {'refused':>8}")

        def figure(value: float | None, width: int) -> str:
            return f"{'-':>{width}}" if value is None else f"{value:{width}.3f}"

        for kind, f in report.by_kind.items():
            click.echo(
                f"{_one_line(kind)[:20]:20} {f['questions']:4d} {figure(f['hit@1'], 6)}"
                f" {figure(f['hit@3'], 6)} {figure(f['refused'], 8)}"
            )


def _eval_beir(beir_dir: Path, split: str, index_dir: str | None, as_json: bool) -> None:
    from ..eval.beir import METHODS, evaluate_beir, load_beir, open_corpus_index

    data = load_beir(beir_dir, split)
    index = open_corpus_index(data, Path(index_dir) if index_dir else None, _progress_printer())
    report = evaluate_beir(index, data)
    if as_json:
        _emit_json(report.to_json())
        return
    click.echo(
        f"{_shown(report.collection)} {_shown(report.split)}: {report.queries} queries,"
        f" {report.documents} documents, {report.passages} passages"
        f" ({report.seconds:.1f} s; a document's best passage stands for it)"
    )
    click.echo("")
    click.echo(f"{'method':10} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8}")
    for method in METHODS:
        s = report.scores[method]
        click.echo(f"{method:10} {s['ndcg@10']:8.4f} {s['recall@100']:8.4f} {s['mrr@10']:8.4f}")


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any other than loopback draws a warning.",
)
@click.option(
    "--port",
    default=8321,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0: any free one, printed).",
)
@index_option
@llm_options
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Searches and answers run at once (default: 16).",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 100_000),
    help="Connections served at once; past it, 503 (default: 256, or fewer when the"
    " open-file limit leaves less room).",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(0.1, 3600),
    default=10.0,
    show_default=True,
    help="Seconds a client has to send its request's headers, and again its body.",
)
@click.option("--access-log", is_flag=True, help="Log each request on stderr.")
def serve(
    host: str,
    port: int,
    index_dir: str | None,
    workers: int | None,
    max_connections: int | None,
    read_timeout: float,
    access_log: bool,
    **llm_settings,
) -> None:
    """Serve the index over HTTP: GET /search, POST /ask, GET /sources,
    GET /documents/ID, GET /health; the JSON of --json, the OpenAPI schema at
    /openapi.json. With $ASSISTANT_API_TOKEN set, every route but /health needs
    "Authorization: Bearer TOKEN"."""
    for module in ("fastapi", "starlette", "uvicorn"):
        require(module, "serve", "assistant serve")
    from . import http as http_api

    llm = _llm_config(**llm_settings)
    token = _settings().http_token()
    index = _open_index(index_dir)
    sock = http_api.listen(host, port)  # a port in use fails before the model loads
    index.warm_up()  # the model loads now, not on the first request
    for warning in http_api.host_warnings(host, token) + list(llm.warnings if llm else ()):
        click.echo(f"warning: {_one_line(warning)}", err=True)
    mode = f"answers by {llm.shown_url}" if llm else "extractive answers"
    click.echo(
        f"serving {_shown(index.path)} at {http_api.url_of(sock)} ({mode};"
        f" {'bearer token required' if token else 'no token'}; schema: /openapi.json)"
    )
    sys.stdout.flush()
    app = http_api.create_app(
        index,
        llm=llm,
        token=token,
        workers=workers,
        hosts=http_api.allowed_hosts(host),
        debug=_settings().debug,
        limits=http_api.ConnectionLimits(max_connections, read_timeout, read_timeout),
    )
    http_api.run(app, sock, access_log=access_log)


@main.group()
def index() -> None:
    """Add to, remove from, build, update and inspect an index (a collection)."""


allow_empty_option = click.option(
    "--allow-empty",
    is_flag=True,
    help="Write the index even if it ends up with no document (refused otherwise, exit 13).",
)
verbose_option = click.option(
    "--verbose", is_flag=True, help="List every skipped file, also those listed before."
)
follow_links_option = click.option(
    "--follow-links",
    is_flag=True,
    help="Index what symlinks point to outside the given folders (skipped otherwise).",
)

allow_private_urls_option = click.option(
    "--allow-private-urls",
    is_flag=True,
    help="Let redirects and feed entries lead to loopback, link-local or private"
    " addresses (refused otherwise; a URL you give is fetched wherever it is).",
)

feed_limit_option = click.option(
    "--feed-limit",
    type=click.IntRange(min=1),
    default=DEFAULT_FEED_LIMIT,
    show_default=True,
    metavar="N",
    help="Fetch at most N new entries of each feed in this write; the others wait for the"
    " next update.",
)

store_option = click.option(
    "--store",
    metavar="URI",
    help="Where passages and vectors live: local (the index directory), milvus:PATH.db"
    " (Milvus Lite), milvus://HOST:PORT or https://... (a Milvus server; token from"
    " $ASSISTANT_MILVUS_TOKEN). Default: the index's own, local for a new one.",
)


@index.command()
@click.argument("paths", nargs=-1, required=True)
@index_option
@json_option
@allow_empty_option
@follow_links_option
@store_option
@quiet_option
@verbose_option
def build(
    paths: tuple[str, ...],
    index_dir: str | None,
    as_json: bool,
    allow_empty: bool,
    follow_links: bool,
    store: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Make a new index from the files and directories in PATHS (replaces the index)."""
    from ..indexing.writer import IndexWriter

    report = IndexWriter(_index_path(index_dir)).build(
        list(paths),
        _progress_printer(quiet or as_json),
        allow_empty=allow_empty,
        follow_links=follow_links,
        store=store,
    )
    _print_report(report, as_json, quiet, verbose)


@index.command()
@index_option
@json_option
@allow_empty_option
@follow_links_option
@allow_private_urls_option
@feed_limit_option
@quiet_option
@verbose_option
def update(
    index_dir: str | None,
    as_json: bool,
    allow_empty: bool,
    follow_links: bool,
    allow_private_urls: bool,
    feed_limit: int,
    quiet: bool,
    verbose: bool,
) -> None:
    """Re-read the indexed paths; embed only new or changed files."""
    from ..indexing.writer import IndexWriter

    report = IndexWriter(_index_path(index_dir)).update(
        _progress_printer(quiet or as_json),
        allow_empty=allow_empty,
        follow_links=follow_links,
        allow_private_urls=allow_private_urls,
        feed_limit=feed_limit,
    )
    _print_report(report, as_json, quiet, verbose)


@index.command()
@click.argument("sources", nargs=-1)
@click.option(
    "--feed", "feeds", multiple=True, metavar="URL", help="An RSS or Atom feed (repeatable)."
)
@index_option
@json_option
@allow_empty_option
@follow_links_option
@allow_private_urls_option
@feed_limit_option
@store_option
@quiet_option
@verbose_option
def add(
    sources: tuple[str, ...],
    feeds: tuple[str, ...],
    index_dir: str | None,
    as_json: bool,
    allow_empty: bool,
    follow_links: bool,
    allow_private_urls: bool,
    feed_limit: int,
    store: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Add files, directories or web pages (http:// or https:// URLs) to the index,
    creating it if needed; only what is new is read and embedded."""
    from ..errors import UsageError
    from ..indexing.writer import IndexWriter

    urls = [s for s in sources if s.lower().startswith(("http://", "https://"))]
    paths = [s for s in sources if s not in urls]
    if not (paths or urls or feeds):
        raise UsageError("give a file, a directory or a URL to add (or --feed URL)")
    report = IndexWriter(_index_path(index_dir)).add(
        paths,
        _progress_printer(quiet or as_json),
        urls=urls,
        feeds=list(feeds),
        allow_empty=allow_empty,
        follow_links=follow_links,
        store=store,
        allow_private_urls=allow_private_urls,
        feed_limit=feed_limit,
    )
    _print_report(report, as_json, quiet, verbose)


@index.command()
@click.argument("paths", nargs=-1, required=True)
@index_option
@json_option
@allow_empty_option
@quiet_option
def remove(
    paths: tuple[str, ...], index_dir: str | None, as_json: bool, allow_empty: bool, quiet: bool
) -> None:
    """Remove indexed files or directories (as given to build or add) and their
    documents; nothing else is re-embedded."""
    from ..indexing.writer import IndexWriter

    report = IndexWriter(_index_path(index_dir)).remove(
        list(paths),
        _progress_printer(quiet or as_json),
        allow_empty=allow_empty,
    )
    _print_report(report, as_json, quiet)


@index.command(name="sources")
@index_option
@json_option
@click.option(
    "--verbose", is_flag=True, help="Also say what each reader left out of its file, and why."
)
def list_sources_command(index_dir: str | None, as_json: bool, verbose: bool) -> None:
    """List the indexed files: passages, dates, state (indexed, changed, missing,
    skipped) and the characters of text kept of what each file offered."""
    found = _open_index(index_dir).sources()
    if as_json:
        _emit_json({"index": str(_index_path(index_dir)), "sources": [s.to_json() for s in found]})
        return
    header = f"{'state':8} {'docs':>5} {'passages':>8}  {'modified':10}  {'published':21}"
    click.echo(f"{header}  source")
    for info in found:
        modified = (info.modified or "")[:10]
        click.echo(
            f"{info.state:8} {info.documents:5d} {info.passages:8d}  {modified:10}"
            f"  {_one_line(info.published or '-'):21}  {_one_line(info.source)}"
        )
        if info.reason:
            click.echo(f"{'':8} {_one_line(info.reason)}")
        kept = info.kept_line()
        if kept:
            click.echo(f"{'':8} {kept}")
        for why in info.dropped if verbose and kept else ():
            click.echo(f"{'':10} left out: {_one_line(why)}")
    counted = [info for info in found if info.state != "skipped"]
    click.echo(
        f"{len(counted)} files, {sum(i.documents for i in counted)} documents,"
        f" {sum(i.passages for i in counted)} passages"
        f" ({len(found) - len(counted)} skipped)"
    )


@index.command(name="list")
@json_option
def list_collections(as_json: bool) -> None:
    """List the collections in the user's data directory (use one with --index NAME)."""
    from ..api import Index
    from ..paths import collections_dir, default_index_dir

    folder = collections_dir(_settings())
    default = default_index_dir(_settings())
    rows = []
    names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    for name in names:
        path = folder / name
        try:
            manifest = Index.read_manifest(path)
        except AssistantError as error:
            row = {"name": name, "path": str(path), "error": str(error)}
        else:
            row = {
                "name": name,
                "path": str(path),
                "documents": manifest.documents,
                "passages": manifest.passages,
                "updated": manifest.updated_at,
            }
        row["default"] = path == default
        rows.append(row)
    if as_json:
        _emit_json({"directory": str(folder), "default": str(default), "collections": rows})
        return
    if not rows:
        click.echo(f"no collections in {_shown(folder)} (make one: assistant index add PATH)")
    for row in rows:
        mark = "*" if row["default"] else " "
        if "error" in row:
            click.echo(f"{mark} {_one_line(row['name']):20} {_one_line(row['error'])}")
            continue
        click.echo(
            f"{mark} {_one_line(row['name']):20} {row['documents']:6d} documents"
            f" {row['passages']:8d} passages  updated {_shown(row['updated'])[:16]}"
        )
    if not any(row["default"] for row in rows):
        click.echo(f"default index: {_shown(default)}")


def _print_report(report, as_json: bool, quiet: bool = False, verbose: bool = False) -> None:
    """On a terminal, the report in full; piped, one summary line; quiet, nothing.
    Skipped files are listed on the write that first meets them (every one with
    ``verbose``), then counted by type in one line."""
    from ..ingest.sources import skipped_summary

    if as_json:
        _emit_json(report.to_json())
        return
    if quiet:
        return
    listed = [skipped for skipped in report.skipped if verbose or not skipped.known]
    for skipped in listed:
        click.echo(f"skipped: {_one_line(skipped.reason)}", err=True)
    if len(report.skipped) > 1 or len(listed) < len(report.skipped):
        click.echo(skipped_summary(report.skipped), err=True)
    for warning in report.warnings:  # lines left out of files that were indexed
        click.echo(f"warning: {_one_line(warning.reason)}", err=True)
    for note in report.notes:  # private addresses fetched as asked
        click.echo(f"note: {_one_line(note.reason)}", err=True)
    counts = (
        f"{report.documents} documents, {report.passages} passages"
        f" ({report.boilerplate} boilerplate)"
    )
    files = (
        f"{len(report.files_embedded)} new or changed, {report.files_unchanged} unchanged,"
        f" {len(report.files_removed)} removed, {len(report.skipped)} skipped"
    )
    embedded = f"embedded {report.passages_embedded} passages, reused {report.passages_reused}"
    if not sys.stdout.isatty():
        click.echo(
            f"indexed {counts} into {_shown(report.index)}; files: {files};"
            f" {embedded} in {report.seconds:.1f} s"
        )
        return
    click.echo(f"indexed {counts} into {_shown(report.index)}")
    click.echo(f"files: {files}")
    click.echo(f"{embedded} in {report.seconds:.1f} s")


@index.command()
@index_option
@json_option
def verify(index_dir: str | None, as_json: bool) -> None:
    """Check the index files and sources deeply; exit status says what is wrong."""
    from ..api import verify_index

    report = verify_index(_index_path(index_dir))
    code = exit_code(report.problems[0]) if report.problems else 0
    if as_json:
        _emit_json(_verify_json(report, code))
    else:
        for check in report.checks:
            mark = "ok  " if check.ok else "FAIL"
            click.echo(f"{mark}  {check.name:9} {_one_line(check.detail)}")
    if report.problems:
        first = report.problems[0]
        if not as_json:
            click.echo(f"error: {_one_line(str(first))}", err=True)
        sys.exit(code)


def _verify_json(report, code: int) -> dict:
    """The report for scripts, with the exit status the command ends with."""
    return {
        "index": report.index,
        "ok": report.ok,
        "exit_code": code,
        "checks": [check.__dict__ for check in report.checks],
    }


@index.command()
@index_option
@json_option
def status(index_dir: str | None, as_json: bool) -> None:
    """Show what the index holds and whether its sources changed since."""
    info = _open_index(index_dir).status()
    if as_json:
        _emit_json(info.to_json())
        return
    click.echo(f"index      {_shown(info.path)}")
    click.echo(f"documents  {info.documents}")
    click.echo(f"passages   {info.passages}")
    click.echo(f"files      {len(info.files)}")
    if info.store_uri:
        counts = ", ".join(f"{value} {name}" for name, value in info.store_counts.items())
        click.echo(f"store      {_shown(info.store_uri)} ({_shown(info.collection)}: {counts})")
    click.echo(f"model      {_shown(info.model)} ({info.dimension} dimensions)")
    click.echo(f"schema     {info.schema_version}")
    click.echo(f"built      {_shown(info.built_at)}")  # the manifest is a file too
    click.echo(f"updated    {_shown(info.updated_at)}")
    changes = len(info.stale) + len(info.missing) + len(info.new)
    if changes:
        click.echo(
            f"out of date: {len(info.stale)} changed, {len(info.missing)} missing,"
            f" {len(info.new)} new (run: assistant index update)"
        )
        for name in info.stale:
            click.echo(f"  changed  {_one_line(name)}")
        for name in info.missing:
            click.echo(f"  missing  {_one_line(name)}")
        for name in info.new:
            click.echo(f"  new      {_one_line(name)}")
    else:
        click.echo("up to date")


if __name__ == "__main__":  # pragma: no cover
    main()
