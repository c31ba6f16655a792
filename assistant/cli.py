"""Command line: a thin layer over the library. Errors become one line and an exit code."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import click

from .errors import AssistantError

INDEX_HELP = "Index directory (default: $ASSISTANT_INDEX or the project's index/)."


class AssistantGroup(click.Group):
    """Turns library errors into ``error: ...`` on stderr and a distinct exit status."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AssistantError as error:
            click.echo(f"error: {_one_line(str(error))}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as error:  # the promise is: never a traceback
            if os.environ.get("ASSISTANT_DEBUG"):
                raise
            _exit_if_disk_full(error)
            click.echo(
                f"error: unexpected {type(error).__name__}: {_one_line(str(error))}"
                " (set ASSISTANT_DEBUG=1 for details)",
                err=True,
            )
            sys.exit(70)


def _exit_if_disk_full(error: Exception) -> None:
    """A full disk outside the index write (which says how much it needs): still one
    line and exit 14, not an "unexpected" error."""
    from .errors import DiskFullError
    from .store import is_disk_full

    if is_disk_full(error):
        click.echo(
            f"error: no space left on device ({_one_line(str(error))})"
            " (free some space and try again)",
            err=True,
        )
        sys.exit(DiskFullError.exit_code)


def _one_line(text: str) -> str:
    from .display import inert

    return " ".join(inert(text, keep_newlines=False).split())


def _shown(value) -> str:
    """A path or name from data as printed: controls made visible, its spacing kept."""
    from .display import inert

    return inert(str(value), keep_newlines=False)


def _index_path(value: str | None) -> Path:
    from .paths import default_index_dir

    return Path(value) if value else default_index_dir()


def _open_index(value: str | None):
    from .api import Index

    return Index(_index_path(value))


def _emit_json(data) -> None:
    from .display import escape_json_controls

    click.echo(escape_json_controls(json.dumps(data, ensure_ascii=False, indent=2)))


def _changed_warnings(index, sources) -> list[str]:
    return [
        f"{name} changed since it was indexed; its quotes show the indexed text"
        " (run: assistant index update)"
        for name in index.changed_sources(sources)
    ]


def _progress_printer():
    """A progress bar on a terminal; nothing when stderr is piped or redirected."""
    if not sys.stderr.isatty():
        return None
    state: dict = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = state.get(stage)
        if bar is None:
            for other in state.values():
                other.render_finish()
            bar = click.progressbar(length=max(total, 1), label=f"{stage:9}", file=sys.stderr)
            state.clear()
            state[stage] = bar
        bar.update(done - bar.pos)

    return report


index_option = click.option("--index", "index_dir", metavar="DIR", help=INDEX_HELP)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group(cls=AssistantGroup, invoke_without_command=True)
@click.version_option(package_name="assistant", prog_name="assistant")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Ask questions of your own documents; answers quote the sources verbatim.

    With no command, opens the chat on the default index.
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
    """--since, --until and --source: restrict the search itself."""
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
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _search_filter(since, until, sources):
    from .filters import SearchFilter

    return SearchFilter.parse(since, until, sources)


def _filter_json(search_filter) -> dict | None:
    if search_filter is None:
        return None
    return {
        "since": search_filter.since,
        "until": search_filter.until,
        "sources": list(search_filter.sources),
    }


def _llm_config(llm_url, llm_model, context_window, answer_tokens, no_llm):
    if no_llm:
        return None
    from .llm import LLMConfig

    return LLMConfig.resolve(
        url=llm_url, model=llm_model, context_window=context_window, answer_tokens=answer_tokens
    )


@main.command()
@index_option
@llm_options
@filter_options
def chat(index_dir: str | None, since, until, sources, **llm_settings) -> None:
    """Open the terminal chat (builds the index from seeds/ first if it is missing)."""
    llm = _llm_config(**llm_settings)
    search_filter = _search_filter(since, until, sources)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        from .errors import UsageError

        raise UsageError(
            "the chat needs a terminal; for scripts use `assistant ask` or `assistant search`"
        )
    from .tui import run_chat

    for warning in llm.warnings if llm is not None else ():
        click.echo(f"warning: {_one_line(warning)}", err=True)
    run_chat(_index_path(index_dir), llm=llm, search_filter=search_filter)


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
    **llm_settings,
) -> None:
    """Answer QUESTION from the index, citing passages verbatim."""
    from .display import inert

    llm = _llm_config(**llm_settings)
    search_filter = _search_filter(since, until, sources)
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
    warnings = _changed_warnings(index, [c.passage.source for c in answer.citations])
    if answer.notice:
        warnings.insert(0, answer.notice)
    if llm is not None:
        warnings[:0] = llm.warnings  # the settings' own (a config file others can read)
    if as_json:
        data = {**answer.to_json(), "warnings": warnings}
        data["filter"] = _filter_json(search_filter)
        _emit_json(data)
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
                _print_passage(rank, hit.passage, index.store.document(hit.passage.doc_id))
        return
    click.echo("\nSources:")
    for citation in answer.citations:
        _print_passage(
            citation.n, citation.passage, citation.document, citation.score, citation.said_by
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
    n: int, passage, document, score: float | None = None, said_by: str | None = None
) -> None:
    from .display import inert

    facts = [document.outlet, document.published]
    heading = inert(document.title or passage.source, keep_newlines=False)
    extra = ", ".join(inert(f, keep_newlines=False) for f in facts if f)
    click.echo(f"[{n}] {heading}" + (f" — {extra}" if extra else ""))
    where = f"{passage.source} ¶{passage.paragraph}, characters {passage.start}–{passage.end}"
    if score is not None:
        where += f", score {score:.4f}"
    click.echo(f"    {inert(where, keep_newlines=False)}")
    if said_by:
        click.echo(f"    said by {_one_line(said_by)}")
    body = textwrap.fill(
        inert(passage.text, keep_newlines=False),
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
def search(query: str, index_dir: str | None, k: int, as_json: bool, since, until, sources) -> None:
    """Find the passages that best match QUERY (dense + keyword, combined)."""
    from .types import hit_to_json

    search_filter = _search_filter(since, until, sources)
    index = _open_index(index_dir)
    hits = index.search(query, k=k, search_filter=search_filter)
    if as_json:
        results = [hit_to_json(h, r) for r, h in enumerate(hits, 1)]
        _emit_json({"query": query, "results": results, "filter": _filter_json(search_filter)})
        return
    if not hits:
        within = f" {_one_line(search_filter.describe())}" if search_filter else ""
        click.echo(f"No passages found{within}.")
        return
    for rank, hit in enumerate(hits, 1):
        _print_passage(rank, hit.passage, index.store.document(hit.passage.doc_id), hit.score)


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
    retrieval on a BEIR collection with --beir (nDCG@10, recall@100, MRR@10)."""
    if beir_dir is not None:
        _eval_beir(beir_dir, split, index_dir, as_json)
        return
    if questions is None:
        from .errors import UsageError

        raise UsageError("give a QUESTIONS.jsonl file, or --beir DIR")
    from .evaluate import evaluate, load_questions

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
    from .beir import METHODS, evaluate_beir, load_beir, open_corpus_index

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


@main.group()
def index() -> None:
    """Build, update and inspect an index."""


allow_empty_option = click.option(
    "--allow-empty",
    is_flag=True,
    help="Write the index even if it ends up with no document (refused otherwise, exit 13).",
)
follow_links_option = click.option(
    "--follow-links",
    is_flag=True,
    help="Index what symlinks point to outside the given folders (skipped otherwise).",
)


@index.command()
@click.argument("paths", nargs=-1, required=True)
@index_option
@json_option
@allow_empty_option
@follow_links_option
def build(
    paths: tuple[str, ...],
    index_dir: str | None,
    as_json: bool,
    allow_empty: bool,
    follow_links: bool,
) -> None:
    """Index the files and directories in PATHS (replaces the index)."""
    from .indexer import build_index

    report = build_index(
        list(paths),
        _index_path(index_dir),
        _progress_printer(),
        allow_empty=allow_empty,
        follow_links=follow_links,
    )
    _print_report(report, as_json)


@index.command()
@index_option
@json_option
@allow_empty_option
@follow_links_option
def update(index_dir: str | None, as_json: bool, allow_empty: bool, follow_links: bool) -> None:
    """Re-read the indexed paths; embed only new or changed files."""
    from .indexer import update_index

    report = update_index(
        _index_path(index_dir),
        _progress_printer(),
        allow_empty=allow_empty,
        follow_links=follow_links,
    )
    _print_report(report, as_json)


def _print_report(report, as_json: bool) -> None:
    if as_json:
        _emit_json(report.to_json())
        return
    for skipped in report.skipped:
        click.echo(f"skipped: {_one_line(skipped.reason)}", err=True)
    for warning in report.warnings:  # lines left out of files that were indexed
        click.echo(f"warning: {_one_line(warning.reason)}", err=True)
    click.echo(
        f"indexed {report.documents} documents, {report.passages} passages"
        f" ({report.boilerplate} boilerplate) into {_shown(report.index)}"
    )
    click.echo(
        f"files: {len(report.files_embedded)} new or changed, {report.files_unchanged} unchanged,"
        f" {len(report.files_removed)} removed, {len(report.skipped)} skipped"
    )
    click.echo(
        f"embedded {report.passages_embedded} passages, reused {report.passages_reused}"
        f" in {report.seconds:.1f} s"
    )


@index.command()
@index_option
@json_option
def verify(index_dir: str | None, as_json: bool) -> None:
    """Check the index files and sources deeply; exit status says what is wrong."""
    from .verify import verify_index

    report = verify_index(_index_path(index_dir))
    if as_json:
        _emit_json(report.to_json())
    else:
        for check in report.checks:
            mark = "ok  " if check.ok else "FAIL"
            click.echo(f"{mark}  {check.name:9} {_one_line(check.detail)}")
    if report.problems:
        first = report.problems[0]
        if not as_json:
            click.echo(f"error: {_one_line(str(first))}", err=True)
        sys.exit(report.exit_code)


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
