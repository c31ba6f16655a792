"""Checking a generated answer against the passages the model was given.

Nothing the model writes is trusted. Each sentence of its answer is checked:

* every ``[n]`` must name a passage it was given; others are removed and flagged;
* a sentence is *verified* only if it has at least one valid citation, every phrase it
  puts in quotation marks occurs in one of its cited passages, its cited passages
  hold at least half of its content words, and they support its key terms: every
  number and name, each verb (or a close paraphrase) with the same negation, and the
  doer and receiver the right way round (sharing words is not support: "Azerbaijan
  admitted Iran owns the border" does not pass on a passage about that border);
* a passage that addresses the model ("ignore previous instructions ...", in the many
  phrasings of ``assistant/data/injection_patterns.json``) is data that cannot vouch
  for anything: a sentence resting only on such passages is unverified.

The verdicts come from this code alone; whatever the model writes about verification
is just text in a sentence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from ..data import DATA_DIR
from ..text.keywords import STOP_WORDS, content_terms, edit_distance, fold, tokens
from ..text.textspans import iter_sentences
from ..types import CheckedSentence

# [1], [2, 3], [2; 3]: what the prompt asks for.
CITATION_MARK = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_LEADING_MARKS = re.compile(r"^(?:\s*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+[.,;:]?")
_QUOTED = re.compile(r"“([^”]{3,}?)”|\"([^\"]{3,}?)\"")
SUPPORT_SHARE = 0.5


def addresses_model(text: str) -> bool:
    """Whether a passage contains instructions aimed at a language model.

    The patterns are data (``assistant/data/injection_patterns.json``), each with
    where its phrasing comes from.
    """
    return bool(_injection_pattern().search(text))


def _comparable(text: str) -> str:
    """Folded, quotes and dashes unified, whitespace collapsed: for phrase matching."""
    text = fold(text)
    text = re.sub(r"[‘’`´]", "'", text)
    text = re.sub(r"[‐‑‒–—―]", "-", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class CheckedAnswer:
    sentences: tuple[CheckedSentence, ...]
    removed: tuple[int, ...]  # citation numbers of passages the model was not given

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def verified(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.verified]

    @property
    def cited(self) -> list[int]:
        """Valid citation numbers in order of first use, from verified sentences."""
        seen: dict[int, None] = {}
        for sentence in self.verified:
            for n in sentence.citations:
                seen.setdefault(n, None)
        return list(seen)


def split_sentences(answer: str) -> list[str]:
    """The answer's sentences; a citation written after the full stop joins its sentence."""
    sentences: list[str] = []
    previous_end = 0
    for start, end in iter_sentences(answer, 0, len(answer)):
        sentence = answer[start:end]
        leading = _LEADING_MARKS.match(sentence)
        same_line = "\n" not in answer[previous_end:start]
        previous_end = end
        if leading and sentences and same_line:
            sentences[-1] += " " + leading.group().strip()
            sentence = sentence[leading.end() :].strip()
        if sentence:
            sentences.append(sentence)
    return sentences


def check_answer(answer: str, passages: dict[int, str]) -> CheckedAnswer:
    """Check ``answer`` against ``passages`` (number -> text, as given to the model)."""
    folded = {n: _comparable(text) for n, text in passages.items()}
    instructing = {n for n, text in passages.items() if addresses_model(text)}
    removed: dict[int, None] = {}
    checked = []
    for sentence in split_sentences(answer):
        valid: dict[int, None] = {}
        invalid: dict[int, None] = {}
        for match in CITATION_MARK.finditer(sentence):
            for number in re.split(r"[,;]", match.group(1)):
                n = int(number)
                (valid if n in passages else invalid).setdefault(n, None)
        removed.update(invalid)
        shown = _without_marks(sentence, set(invalid))
        removed_notes = [f"cited [{n}], which it was not given (removed)" for n in invalid]
        problems: list[str] = []
        cited = list(valid)
        if not cited:
            problems.append("no valid citation")
        else:
            problems.extend(_quote_problems(shown, cited, folded))
            evidence = [n for n in cited if n not in instructing]
            if not evidence:
                listed = ", ".join(f"[{n}]" for n in cited)
                problems.append(f"{listed} holds instructions to the model, not evidence")
            else:
                # One clear reason is enough: the key terms are checked only when the
                # quotes and the shared words have not already failed the sentence.
                problems.extend(_support_problems(shown, evidence, passages, bool(problems)))
        text = " ".join(shown.split())
        if not CITATION_MARK.sub("", text).strip(" .,;:"):
            continue  # only markers were left
        # A removed citation is flagged, but the sentence stands on its valid ones.
        notes = (*removed_notes, *problems)
        checked.append(CheckedSentence(text, tuple(cited), not problems, notes))
    return CheckedAnswer(tuple(checked), tuple(removed))


def _without_marks(sentence: str, invalid: set[int]) -> str:
    """The sentence with citations to passages not given taken out."""

    def keep_valid(match: re.Match) -> str:
        numbers = [int(x) for x in re.split(r"[,;]", match.group(1))]
        kept = [n for n in numbers if n not in invalid]
        return "[" + ", ".join(map(str, kept)) + "]" if kept else ""

    return re.sub(r"\s+([.,;:!?])", r"\1", CITATION_MARK.sub(keep_valid, sentence))


def _quote_problems(sentence: str, cited: list[int], folded: dict[int, str]) -> list[str]:
    problems = []
    for match in _QUOTED.finditer(sentence):
        phrase = match.group(1) or match.group(2)
        pieces = [p for p in re.split(r"\.\.\.|…", _comparable(phrase)) if p.strip(" .,;")]
        if not pieces:
            continue
        if not any(all(p.strip(" .,;") in folded[n] for p in pieces) for n in cited):
            listed = ", ".join(f"[{n}]" for n in cited)
            problems.append(f"quoted “{phrase.strip()}” does not occur in {listed}")
    return problems


def _support_problems(
    sentence: str, cited: list[int], passages: dict[int, str], failed: bool = False
) -> list[str]:
    """Sharing words is not support: first half the claim's content words must be in
    its passages (by stem), then its key terms must be supported there."""
    claim = CITATION_MARK.sub(" ", sentence)
    terms = content_terms(claim)
    if not terms:
        return []
    evidence = {_stem(w) for n in cited for w in tokens(passages[n])}
    found = sum(
        1 for t in terms if _stem(t) in evidence or any(_stems_match(_stem(t), e) for e in evidence)
    )
    if found < SUPPORT_SHARE * len(terms):
        listed = ", ".join(f"[{n}]" for n in cited)
        return [f"{listed} does not state this ({found} of {len(terms)} words found)"]
    return [] if failed else _claim_support_problems(claim, cited, passages)


def best_quote_span(passage_text: str, sentences: list[str]) -> tuple[int, int] | None:
    """Offsets (into ``passage_text``) of a phrase the answer quotes from it, if any."""
    for sentence in sentences:
        for match in _QUOTED.finditer(sentence):
            words = re.findall(r"\w+", match.group(1) or match.group(2))
            if len(words) < 2:
                continue
            pattern = r"\W+".join(re.escape(w) for w in words)
            found = re.search(pattern, passage_text, re.IGNORECASE)
            if found:
                return found.start(), found.end()
    return None


# -- what a claim needs from its passage ------------------------------------------------

_DATA = DATA_DIR
_WORD = re.compile(r"[^\W_]+(?:['’][^\W\d_]+)?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# All capitals and longer than an acronym: emphasis ("VERIFIED:"), not a name.
_LONGEST_ACRONYM = 6
# Words a verb may be from a negation and still be negated by it ("did not really say").
_NEGATION_REACH = 5
# How names of peoples end (Iranian, Azerbaijani, Turkish, Chinese, American).
_DEMONYM_ENDINGS = ("ian", "ean", "ese", "ish", "ican", "i")


@dataclass(frozen=True)
class _ClaimWords:
    negation: frozenset[str]
    auxiliaries: frozenset[str]
    be_forms: frozenset[str]
    determiners: frozenset[str]
    not_verbs: frozenset[str]
    pronouns: frozenset[str]
    numbers: dict[str, int]
    irregular: dict[str, str]
    speech: frozenset[str]
    general_speech: frozenset[str]
    groups: tuple[tuple[str, ...], ...]
    time_names: frozenset[str]


@lru_cache(maxsize=1)
def _claim_data() -> dict:
    return json.loads((_DATA / "claim_words.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _claim_words() -> _ClaimWords:
    data = _claim_data()

    def words(name: str) -> frozenset[str]:
        return frozenset(data[name]["words"])

    return _ClaimWords(
        negation=words("negation"),
        auxiliaries=words("auxiliaries"),
        be_forms=words("be_forms"),
        determiners=words("determiners"),
        not_verbs=words("not_verbs_in_ed"),
        pronouns=words("subject_pronouns"),
        numbers=dict(data["number_words"]["words"]),
        irregular=dict(data["irregular_verbs"]["words"]),
        speech=frozenset(_stem(w) for w in data["speech_verbs"]["words"]),
        general_speech=frozenset(_stem(w) for w in data["general_speech_verbs"]["words"]),
        groups=tuple(tuple(group) for group in data["verb_paraphrases"]["groups"]),
        time_names=words("time_names"),
    )


@lru_cache(maxsize=1)
def _injection_pattern() -> re.Pattern:
    data = json.loads((_DATA / "injection_patterns.json").read_text(encoding="utf-8"))
    joined = "|".join(f"(?:{entry['pattern']})" for entry in data["patterns"])
    return re.compile(joined, re.IGNORECASE | re.MULTILINE)


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    """A crude English stem: "accused", "accuses", "accusing" -> "accus"; "said" -> "say".

    Only for comparing a claim's words with a passage's, both stemmed the same way.
    """
    w = fold(word)
    w = _claim_data()["irregular_verbs"]["words"].get(w, w)
    if len(w) > 4 and w.endswith(("ies", "ied")):
        w = w[:-3] + "i"
    elif len(w) > 5 and w.endswith("ing") and re.search("[aeiouy]", w[:-3]):
        w = w[:-3]
    elif len(w) > 4 and w.endswith(("ed", "sses", "ches", "shes", "xes", "zes", "ses")):
        w = w[:-2] if not w.endswith("eed") else w
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # admitt -> admit
    if len(w) > 2 and w.endswith("y"):
        w = w[:-1] + "i"  # spy, spies, spying
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def _stems_match(claim: str, passage: str) -> bool:
    """Same stem, or one the other grows from ("occupi" and "occupation")."""
    if claim == passage:
        return True
    if len(claim) < 4 or len(passage) < 4:
        return False
    shared = next((i for i, (a, b) in enumerate(zip(claim, passage, strict=False)) if a != b), None)
    shared = min(len(claim), len(passage)) if shared is None else shared
    return shared >= min(len(claim), 5) and shared >= min(len(passage), 4)


def _names_match(claim: str, passage: str) -> bool:
    """Folded names: equal, a demonym of the same stem ("iran", "iranian"), or one typo."""
    if claim == passage:
        return True
    short, long = sorted((claim, passage), key=len)
    if len(short) >= 4 and long.startswith(short) and len(long) - len(short) <= 3:
        return True
    return len(short) >= 6 and edit_distance(claim, passage) <= 1


@dataclass(frozen=True)
class _Word:
    text: str  # as written
    folded: str
    stem: str
    possessive: bool = False  # written with 's: "Iran's claims" (a noun follows)

    sentence_start: bool = False

    @property
    def is_name(self) -> bool:
        first = self.text[0]
        if not first.isupper() or self.folded in STOP_WORDS:
            return False
        if self.sentence_start and self.folded.endswith(("ing", "ed", "ly")):
            return False  # "Closing the plant ...": capitalised because it comes first
        return not (self.text.isupper() and len(self.text) > _LONGEST_ACRONYM)

    @property
    def is_time(self) -> bool:
        """A month or weekday: a name, but never the one who acts."""
        return self.folded in _claim_words().time_names


def _words_of(text: str) -> list[_Word]:
    found = []
    for match in _WORD.finditer(text):
        raw = re.sub(r"['’]s$", "", match.group())  # Iran's -> Iran
        possessive = raw != match.group()
        raw = re.sub(r"['’]", "", raw)  # didn't -> didnt
        for part in _split_number_unit(raw):
            found.append(_Word(part, fold(part), _stem(part), possessive, not found))
    return found


def _split_number_unit(raw: str) -> list[str]:
    """ "132km" -> ["132", "km"]: the number stands alone."""
    match = re.fullmatch(r"(\d+)([^\W\d_]+)", raw)
    return [match.group(1), match.group(2)] if match else [raw]


def _numbers_in(text: str) -> set[str]:
    """The numbers a text states: digits (1,000 as 1000) and number words."""
    numbers = {m.group().replace(",", "") for m in _NUMBER.finditer(fold(text))}
    values = _claim_words().numbers
    numbers |= {str(values[w]) for w in _TOKEN_ONLY.findall(fold(text)) if w in values}
    return {n.rstrip("0").rstrip(".") if "." in n else n for n in numbers}


_TOKEN_ONLY = re.compile(r"[^\W\d_]+")


class _Evidence:
    """The cited passages, as sentences of words, for checking one claim against."""

    def __init__(self, texts: list[str]) -> None:
        self.sentences: list[list[_Word]] = []
        for text in texts:
            for start, end in iter_sentences(text, 0, len(text)):
                self.sentences.append(_words_of(text[start:end]))
        self.words = [w for sentence in self.sentences for w in sentence]
        self.stems = {w.stem for w in self.words}
        self.names = {w.folded for w in self.words if w.text[:1].isupper()} | {
            w.folded for w in self.words
        }
        self.names |= {_initials(run) for run in self._name_runs() if len(run) > 1}
        self.numbers = _numbers_in(" ".join(texts))
        self.folded = " ".join(w.folded for w in self.words)

    def _name_runs(self) -> list[list[_Word]]:
        """Capitalised words in a row ("European Union", "State Security Service")."""
        runs: list[list[_Word]] = []
        for sentence in self.sentences:
            run: list[_Word] = []
            for word in [*sentence, None]:
                if word is not None and word.text[:1].isupper():
                    run.append(word)
                    continue
                if run:
                    runs.append(run)
                run = []
        return runs

    def closest(self, words: list[_Word]) -> list[_Word]:
        """The passage sentence sharing the most word stems with ``words``."""
        wanted = {w.stem for w in words if w.folded not in STOP_WORDS}
        return max(
            self.sentences,
            key=lambda sentence: len(wanted & {w.stem for w in sentence}),
            default=[],
        )

    def has_stem(self, stem: str) -> bool:
        return stem in self.stems or any(_stems_match(stem, s) for s in self.stems)

    def has_name(self, folded: str) -> bool:
        return any(_names_match(folded, n) for n in self.names)

    def verb_positions(self, stems: set[str]) -> list[tuple[int, int]]:
        """(sentence, word) positions of any of these verb stems."""
        return [
            (i, j)
            for i, sentence in enumerate(self.sentences)
            for j, word in enumerate(sentence)
            if any(_stems_match(s, word.stem) for s in stems)
        ]


def _initials(run: list[_Word]) -> str:
    """ "European Union" -> "eu": so a claim may name it by its abbreviation."""
    return "".join(w.folded[0] for w in run if w.folded not in STOP_WORDS)


def _verb_indices(words: list[_Word]) -> list[int]:
    """Where the claim's verbs are (found without a tagger)."""
    return [i for i in range(len(words)) if _looks_like_verb(words, i)]


def _looks_like_verb(words: list[_Word], i: int) -> bool:
    """A past tense (-ed, or an irregular one) not after an article, a word after a
    modal or "to", or a present tense in -s right after a name or pronoun ("Iran owns")."""
    lists = _claim_words()
    word = words[i]
    w = word.folded
    if word.text[:1].isupper() or not w.isalpha() or len(w) < 2 or w in lists.negation:
        return False
    before = words[i - 1].folded if i else ""
    if before in lists.determiners:
        return False
    verdict = _past_or_after_auxiliary(words, i, lists)
    if verdict is not None:
        return verdict
    return _present_after_subject(words, i, lists)


def _past_or_after_auxiliary(words: list[_Word], i: int, lists) -> bool | None:
    """True for a past tense or a word after a modal or "to" ("did not admit"), False
    for a function word, None when neither says."""
    w = words[i].folded
    before = words[i - 1].folded if i else ""
    if w in lists.irregular:
        return True
    if w in STOP_WORDS:
        return False
    if w.endswith("ed") and len(w) >= 5 and w not in lists.not_verbs:
        return True
    if before in lists.auxiliaries:
        return True
    if i >= 2 and before in lists.negation and words[i - 2].folded in lists.auxiliaries:
        return True  # "did not admit"
    return None


def _present_after_subject(words: list[_Word], i: int, lists) -> bool:
    """A present tense in -s right after a pronoun or a name: "Iran owns"."""
    w = words[i].folded
    previous = words[i - 1] if i else None
    if not w.endswith("s") or w.endswith(("ss", "us", "is")) or previous is None:
        return False
    if previous.folded in lists.pronouns:
        return True
    if not previous.is_name or previous.possessive:
        return False
    # "Iran owns the border" but "Iranian forces had": after a demonym, an -s word is
    # a verb only when an object follows it.
    following = words[i + 1] if i + 1 < len(words) else None
    object_follows = following is not None and (
        following.is_name or following.folded in lists.determiners or following.folded.isdigit()
    )
    return object_follows or not previous.folded.endswith(_DEMONYM_ENDINGS)


def _verb_family(verb: _Word) -> set[str]:
    """The verb's stem and the stems of its close paraphrases."""
    lists = _claim_words()
    family = {verb.stem}
    for group in lists.groups:
        stems = {_stem(member) for member in group if " " not in member}
        if any(_stems_match(verb.stem, s) for s in stems):
            family |= stems
    if verb.stem in lists.general_speech:
        family |= lists.speech  # "said" is a fair word for any reporting verb
    return family


def _negated(words: list[_Word], at: int | None) -> bool:
    """Whether a negation governs the word at ``at`` (the whole sentence when None):
    one a few words before it ("did not admit", "no deal was signed") or right after
    it ("held no drills")."""
    negation = _claim_words().negation
    if at is None:
        return any(w.folded in negation for w in words)
    window = words[max(0, at - _NEGATION_REACH) : at + 2]
    return any(w.folded in negation for w in window)


def _passive(words: list[_Word], at: int) -> bool:
    """ "X was accused by Y": a be-form just before the verb and "by" after it."""
    be = _claim_words().be_forms
    before = {w.folded for w in words[max(0, at - 2) : at]}
    return bool(before & be) and any(w.folded == "by" for w in words[at + 1 : at + 6])


def _sides(words: list[_Word], at: int, lo: int, hi: int) -> tuple[set[str], set[str]]:
    """Names on the doing and the receiving side of the verb at ``at``, looking from
    ``lo`` to ``hi``: before and after it, or in a passive ("was struck by X") the
    names after "by" and the rest."""
    before = [w for w in words[lo:at] if w.is_name and not w.is_time]
    after = [w for w in words[at + 1 : hi] if not w.is_time]
    by = next((k for k, w in enumerate(after) if w.folded == "by"), None)
    if by is not None and _passive(words, at):
        agents = {w.folded for w in after[by:] if w.is_name}
        return agents, {w.folded for w in before + after[:by] if w.is_name}
    return {w.folded for w in before}, {w.folded for w in after if w.is_name}


def _claim_support_problems(claim: str, cited: list[int], texts: dict[int, str]) -> list[str]:
    """What the cited passages do not support of the claim's key terms: its numbers,
    names, verbs (or a close paraphrase), their negation, and who did what to whom."""
    listed = ", ".join(f"[{n}]" for n in cited)
    evidence = _Evidence([texts[n] for n in cited])
    words = _words_of(claim)
    problems = []
    missing_numbers = sorted(_numbers_in(claim) - evidence.numbers)
    if missing_numbers:
        problems.append(f"{listed} does not give the number {', '.join(missing_numbers)}")
    names = {w.folded: w.text for w in words if w.is_name}
    missing_names = [text for folded, text in names.items() if not evidence.has_name(folded)]
    if missing_names:
        problems.append(f"{listed} does not mention {', '.join(missing_names)}")
    verbs = _verb_indices(words)
    problems += _verb_problems(words, verbs, evidence, listed, names)
    if not verbs:
        negated = _negated(words, None)
        if _negated(evidence.closest(words), None) != negated:
            problems.append(_negation_problem(listed, negated))
    return problems


def _verb_problems(
    words: list[_Word], verbs: list[int], evidence: _Evidence, listed: str, names: dict
) -> list[str]:
    """For each of the claim's verbs: whether the passages say it (or a paraphrase),
    with the same negation, and with the same one doing it."""
    pronouns = _claim_words().pronouns
    problems = []
    previous_agents: set[str] = set()
    for k, at in enumerate(verbs):
        verb = words[at]
        positions = evidence.verb_positions(_verb_family(verb))
        if not positions:
            problems.append(f"{listed} does not say “{verb.text}” or anything like it")
            continue
        negated = _negated(words, at)
        if not any(_negated(evidence.sentences[i], j) == negated for i, j in positions):
            problems.append(_negation_problem(listed, negated))
        lo = verbs[k - 1] + 1 if k else 0
        hi = verbs[k + 1] if k + 1 < len(verbs) else len(words)
        agents, patients = _sides(words, at, lo, hi)
        if not agents and any(w.folded in pronouns for w in words[lo:at]):
            agents = previous_agents  # "Hamas said it killed ...": "it" is Hamas
        previous_agents = agents
        if agents and patients and _roles_reversed(agents, patients, evidence, positions):
            doers = ", ".join(names.get(a, a) for a in sorted(agents))
            problems.append(f"{listed} does not have {doers} as the one who “{verb.text}”")
    return problems


def _negation_problem(listed: str, claim_negated: bool) -> str:
    if claim_negated:
        return f"the sentence denies what {listed} affirms"
    return f"{listed} denies what the sentence affirms"


def _roles_reversed(agents: set[str], patients: set[str], evidence: _Evidence, positions) -> bool:
    """Whether, in every passage sentence with the verb and both parties, the claim's
    doer is only on the receiving side and one of the receivers is only the doer."""

    def found(names: set[str], side: set[str]) -> set[str]:
        return {a for a in names if any(_names_match(a, b) for b in side)}

    verdicts = []
    for i, j in positions:
        sentence = evidence.sentences[i]
        doers, done_to = _sides(sentence, j, 0, len(sentence))
        agents_seen = found(agents, doers | done_to)
        if not agents_seen or not found(patients, doers | done_to):
            continue
        agents_wrong = not found(agents, doers) and bool(found(agents, done_to))
        patients_wrong = bool(found(patients, doers) - found(patients, done_to))
        verdicts.append(agents_wrong and patients_wrong)
    return bool(verdicts) and all(verdicts)
