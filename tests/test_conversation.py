"""Follow-up rewriting, the Markdown export and the per-index question history."""

from __future__ import annotations

import pytest

from assistant.frontends.conversation import Conversation, is_follow_up, make_standalone
from assistant.frontends.history import QuestionHistory, history_file

FIRST = "What did Azerbaijan say about the 132-km border?"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and what did Iran say?", "what did Iran say about the 132-km border?"),
        ("What did Khamenei claim?", "What did Khamenei claim about the 132-km border?"),
        ("what about Iran?", "Iran, regarding the 132-km border?"),
        ("and when did it happen?", "when did it happen, regarding the 132-km border?"),
        # Questions that stand on their own are left alone.
        ("Who is Heydari?", "Who is Heydari?"),
        ("what did Iran say about drones?", "what did Iran say about drones?"),
        ("When was Pashinyan elected?", "When was Pashinyan elected?"),
    ],
)
def test_follow_ups_take_the_previous_topic(question, expected):
    assert make_standalone(question, FIRST) == expected


def test_without_a_topic_clause_the_content_words_carry_over():
    assert make_standalone("and Iran?", "When was Pashinyan elected?") == (
        "Iran, regarding pashinyan elected?"
    )


def test_first_question_is_never_rewritten():
    assert make_standalone("and what did Iran say?", None) == "and what did Iran say?"
    assert is_follow_up("and what did Iran say?")
    assert not is_follow_up(FIRST)


def test_conversation_chains_from_the_last_standalone_question():
    conversation = Conversation()
    assert conversation.standalone(FIRST) == FIRST
    conversation.add(FIRST, FIRST, answer=None)
    second = conversation.standalone("and what did Iran say?")
    conversation.add("and what did Iran say?", second, answer=None)
    # The third follow-up still knows the topic, two turns back.
    assert conversation.standalone("and what did Armenia say?") == (
        "what did Armenia say about the 132-km border?"
    )


def test_markdown_export_quotes_every_citation(fake_seeds_index):
    conversation = Conversation()
    answer = fake_seeds_index.ask(FIRST)
    conversation.add(FIRST, FIRST, answer)
    refusal = fake_seeds_index.ask("Who won the 2022 FIFA World Cup final?")
    conversation.add(refusal.question, refusal.question, refusal)
    markdown = conversation.to_markdown("Test")
    assert markdown.startswith("# Test\n\n## 1. " + FIRST)
    for c in answer.citations:
        speaker = f" — {c.said_by}" if c.said_by else ""
        assert f"> {c.quote_text}{speaker} [{c.n}]" in markdown
        assert (
            f"[{c.n}] {c.document.title} — {c.document.outlet}" in markdown
            and f"{c.passage.source} ¶{c.passage.paragraph}"
            f" (characters {c.passage.start}–{c.passage.end})"
            in markdown
        )
    assert "## 2. Who won the 2022 FIFA World Cup final?" in markdown
    assert "**Not in the sources.**" in markdown


def test_history_persists_per_index(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path))
    first = QuestionHistory(tmp_path / "a")
    first.add("one")
    first.add("two")
    first.add("two")  # an immediate repeat is kept once
    first.add("   ")
    assert QuestionHistory(tmp_path / "a").questions == ["one", "two"]
    assert QuestionHistory(tmp_path / "b").questions == []
    assert history_file(tmp_path / "a") != history_file(tmp_path / "b")


def test_history_survives_a_torn_line_and_searches_newest_first(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path))
    history = QuestionHistory(tmp_path / "idx")
    for q in ["Who is Heydari?", "What did Iran say?", "Heydari's warning?", "Who is Heydari?"]:
        history.add(q)
    with history.path.open("a") as handle:
        handle.write('{"q": "half-writ')  # a crash mid-write
    reloaded = QuestionHistory(tmp_path / "idx")
    assert len(reloaded) == 4
    assert reloaded.search("heydari") == ["Who is Heydari?", "Heydari's warning?"]


def test_history_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path))
    history = QuestionHistory(tmp_path / "idx", limit=3)
    for n in range(10):
        history.add(f"q{n}")
    assert history.questions == ["q7", "q8", "q9"]
    assert QuestionHistory(tmp_path / "idx", limit=3).questions == ["q7", "q8", "q9"]
    # The file itself is compacted once it holds twice the limit.
    assert len(history.path.read_text().splitlines()) == 3
