"""Languages: passages carry the language their source states, a question's language is
told by its function words, other-language passages give way to those in it, ``--lang``
filters, and a citation in another language says so. Books are made in the test."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from assistant import Index, IndexWriter
from assistant.errors import UsageError
from assistant.filters import SearchFilter
from assistant.ingest.sources import SourceFile, load_documents
from assistant.query.language import detect, prefer_language
from assistant.types import Hit, Passage, primary_language

from .test_epub import _chapter, make_book

ENGLISH = (
    "<h1>Building the source package</h1>"
    "<p>To build the source package, run debuild with the -S option in the package"
    " folder.</p>"
    "<p>The debuild command signs the source package with your GPG key.</p>"
)
SPANISH = (
    "<h1>Construir el paquete fuente</h1>"
    "<p>Para construir el paquete fuente, ejecute debuild con la opción -S en la carpeta"
    " del paquete.</p>"
    "<p>La orden debuild firma el paquete fuente con su clave GPG.</p>"
)
QUESTION = "How does debuild build the source package?"


def _book(tmp_path: Path) -> Path:
    folder = tmp_path / "books"
    folder.mkdir()
    chapters = {"en.xhtml": _chapter(ENGLISH, "en-US"), "es.xhtml": _chapter(SPANISH, "es")}
    make_book(folder / "guide.epub", chapters, ["es.xhtml", "en.xhtml"])
    return folder


@pytest.fixture
def book_index(tmp_path, fake_encoder) -> Path:
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(_book(tmp_path))])
    return index_dir


# -- where a language comes from ----------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "code"),
    [("en-US", "en"), ("pt_BR", "pt"), ("ES", "es"), ("ast", "ast"), ("und", None), ("", None)],
)
def test_a_stated_language_is_its_primary_subtag(tag, code):
    assert primary_language(tag) == code


def test_each_passage_of_a_book_keeps_its_chapters_language(book_index, fake_encoder):
    index = Index(book_index, encoder=fake_encoder)
    (document,) = index.documents()
    passages = [p for p in index.document_passages(document.doc_id) if not p.is_head]
    languages = {p.text.split()[0]: p.language for p in passages}
    assert languages["Para"] == "es" and languages["To"] == "en"


def test_html_front_matter_and_records_state_a_language(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '<html lang="fr-CA"><head><title>Guide</title>'
        '<meta name="generator" content="Sphinx"></head>'
        "<body><p>Le paquet source se construit avec debuild.</p></body></html>"
    )
    note = tmp_path / "note.md"
    note.write_text("---\ntitle: Notas\nlang: es-MX\n---\n\nEl paquete se construye así.\n")
    records = tmp_path / "records.jsonl"
    records.write_text(
        '{"id": 1, "text": "Hallo.", "language": "de-AT"}\n{"id": 2, "text": "Hi."}\n'
    )
    html_doc = load_documents(SourceFile(str(page), page))[0]
    note_doc = load_documents(SourceFile(str(note), note))[0]
    german, unstated = load_documents(SourceFile(str(records), records))
    assert html_doc.language_at(0) == "fr"
    assert note_doc.language_at(len(note_doc.text) - 2) == "es"
    assert (german.language_at(0), unstated.language_at(0)) == ("de", None)


# -- a question's language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "code"),
    [
        ("How do I build the source package?", "en"),
        ("¿Cómo se construye el paquete fuente?", "es"),
        ("Comment construire le paquet source avec debuild ?", "fr"),
        ("Wie wird das Paket mit debuild gebaut?", "de"),
        ("Как собрать пакет исходного кода?", "ru"),
        ("debuild", None),  # no function word: unknown
        ("Ubuntu packaging guide", None),
    ],
)
def test_a_questions_language_is_told_by_its_function_words(question, code):
    assert detect(question) == code


def _hit(pid: int, language: str | None) -> Hit:
    return Hit(Passage(pid, "d", "s", pid, 0, 1, "x", language=language), score=1.0 / (pid + 1))


def test_other_language_hits_give_way_and_are_dropped_only_when_enough_remain():
    hits = [_hit(0, "es"), _hit(1, "en"), _hit(2, None), _hit(3, "ru"), _hit(4, "en")]
    assert [h.passage.passage_id for h in prefer_language(hits, "en")] == [1, 2, 4]
    few = [_hit(0, "es"), _hit(1, "en"), _hit(2, "ru")]
    assert [h.passage.passage_id for h in prefer_language(few, "en")] == [1, 0, 2]
    assert prefer_language(hits, None) == hits


def test_a_language_filter_takes_codes_and_refuses_what_is_not_one():
    assert SearchFilter.parse(languages=["pt-BR", "en,es", "EN"]).languages == ("pt", "en", "es")
    assert SearchFilter.parse(languages=()) is None
    with pytest.raises(UsageError):
        SearchFilter.parse(languages=["not a language"])


# -- ask and search -----------------------------------------------------------------------


def test_an_english_question_cites_the_english_chapter(cli, fake_model, book_index):
    result = cli("ask", QUESTION, "--index", book_index, "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["language"] == "en"
    assert answer["citations"]
    assert {c["language"] for c in answer["citations"]} == {"en"}
    assert not any(c["other_language"] for c in answer["citations"])
    searched = json.loads(cli("search", QUESTION, "--index", book_index, "--json").stdout)
    assert searched["results"][0]["language"] == "en"


def test_lang_cites_the_spanish_chapter_and_says_its_language(cli, fake_model, book_index):
    result = cli("ask", QUESTION, "--index", book_index, "--lang", "es")
    assert result.exit_code == 0, result.output
    sources = result.output.split("Sources:")[1]
    assert "debuild firma el paquete fuente" in sources or "ejecute debuild" in sources
    assert "in Spanish" in sources
    assert "To build the source package" not in sources
    result = cli("ask", QUESTION, "--index", book_index, "--lang", "es", "--json")
    as_json = json.loads(result.stdout)
    assert {c["language"] for c in as_json["citations"]} == {"es"}
    assert all(c["other_language"] for c in as_json["citations"])
    assert as_json["filter"]["languages"] == ["es"]


def test_lang_leaves_out_passages_that_state_no_language(cli, fake_model, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "plain.txt").write_text("Run debuild to build the source package.\n")
    index_dir = tmp_path / "idx"
    assert cli("index", "build", folder, "--index", index_dir).exit_code == 0
    result = cli("search", "debuild", "--index", index_dir, "--lang", "en", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"] == []
    assert json.loads(cli("search", "debuild", "--index", index_dir, "--json").stdout)["results"]


def test_an_index_written_before_languages_still_opens(book_index, fake_encoder):
    manifest = json.loads((book_index / "manifest.json").read_text())
    database = book_index / manifest["generation"] / "passages.sqlite"
    db = sqlite3.connect(database)
    db.execute("ALTER TABLE passages DROP COLUMN language")
    db.commit()
    db.close()
    index = Index(book_index, encoder=fake_encoder)
    hits = index.search(QUESTION, k=5)
    assert hits and all(h.passage.language is None for h in hits)
    answer = index.ask(QUESTION)
    assert not answer.abstained
    assert all(c.other_language is None for c in answer.citations)
    assert index.search(QUESTION, k=5, search_filter=SearchFilter.parse(languages=["es"])) == []


async def test_the_chat_lang_command_keeps_the_language_beside_other_filters(
    tmp_path, monkeypatch, fake_model, book_index
):
    from textual.widgets import Static

    from assistant.frontends.tui.app import AssistantApp
    from assistant.frontends.tui.widgets import QuestionInput

    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path / "user"))
    app = AssistantApp(book_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        box = app.screen.query_one(QuestionInput)
        for command in ("/lang es", "/since 2000"):
            box.value = command
            await pilot.press("enter")
            await pilot.pause()
        assert app.screen.search_filter.languages == ("es",)
        assert "in es" in str(app.screen.query_one("#filter-line", Static).render())


def test_the_mcp_tools_and_the_http_filter_take_lang(fake_model, book_index):
    pytest.importorskip("fastapi")
    from assistant.frontends.http import search_filter
    from assistant.frontends.mcp import IndexTools

    tools = IndexTools(book_index)
    found = tools.search(QUESTION, k=5, lang="es")
    assert found["results"] and {r["language"] for r in found["results"]} == {"es"}
    answer = tools.ask(QUESTION, lang="es")
    assert {c["language"] for c in answer["citations"]} == {"es"}
    assert search_filter(None, None, (), "es-ES").languages == ("es",)
    assert search_filter(None, None, ()) is None
