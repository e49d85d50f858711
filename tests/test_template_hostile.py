"""Broken and hostile client templates: every one is refused in words naming the template,
what is wrong and the tag where, with no traceback, no letter file and no patient value;
limits on a letter's size and time hold, in any thread.

The templates are made here from text (a copy of the bundled p2p template with one more
paragraph), so no hostile file is kept in git.
"""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import pytest
from docx import Document
from letter_cases import (
    AS_OF,
    CALL,
    DENIAL_IDS,
    REQUESTS,
    SUPPLIED,
    build_denials_tracker,
    build_letter_tracker,
)

from patoolkit.cli import main
from patoolkit.letters import (
    BUNDLED_TEMPLATES,
    KINDS,
    BrokenTemplateError,
    LetterMaker,
    TemplateProblemError,
    letter_text,
)
from patoolkit.letters import render as rendering
from patoolkit.tracker.read import load_tracker

TEMPLATE = KINDS["p2p"].template
PATIENT = REQUESTS["p2p"]
# what must never be in an error: the patient's values (the tests' request is LT-P2P)
PATIENT_VALUES = (str(PATIENT["Patient Name"]), "Example-Doe", str(PATIENT["Patient ID"]),
                  str(PATIENT["Member ID"]), "1961")
SUPPLY = ["--set", "availability=noon", "--set", "discussion_points=PT failed"]


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tracker for every refused letter: none may write to it."""
    return build_letter_tracker(tmp_path_factory.mktemp("hostile") / "letters.xlsx")


def client_template(folder: Path, *runs: str | tuple[str, ...]) -> Path:
    """The bundled p2p template with one more paragraph; a tuple is one paragraph typed in
    several Word runs (the middle ones bold, as Word splits a tag someone formatted)."""
    folder.mkdir(parents=True, exist_ok=True)
    document = Document(str(BUNDLED_TEMPLATES / TEMPLATE))
    for paragraph in runs:
        pieces = (paragraph,) if isinstance(paragraph, str) else paragraph
        added = document.add_paragraph()
        for number, piece in enumerate(pieces):
            added.add_run(piece).bold = 0 < number < len(pieces) - 1
    document.save(str(folder / TEMPLATE))
    return folder / TEMPLATE


def letter(tracker: Path, client: Path, out: Path, *extra: str) -> list[str]:
    return ["letter", str(tracker), "LT-P2P", "--kind", "p2p", "--as-of", "2026-11-28",
            "--templates", str(client), "--out", str(out), "--by", "sam", *SUPPLY, *extra]


def assert_refused(code: int, error: str, template: Path, words: str, where: str | None,
                   out: Path) -> None:
    assert code == 1, error
    assert error.startswith(f"patoolkit letter: {template}: "), error
    assert words in error, error
    if where is not None:
        assert where in error, error
    assert "no letter was written" in error
    for never in ("(ref ", "please report it", "Traceback", "Error:", "Error'"):
        assert never not in error, error
    for value in PATIENT_VALUES:
        assert value not in error, error
    assert not out.exists() or not any(out.iterdir())  # no letter, not even half a one


# (template text, what the error says, where it says it is; why the case is here)
CASES = [
    ("{{ request.codes|nofilter }}", "has a mistake in a tag: No filter named 'nofilter'",
     "at {{ request.codes|nofilter }}", "an unknown filter"),
    ("{{ request.codes + }}", "has a mistake in a tag: unexpected 'end of print statement'",
     "at {{ request.codes + }}", "a syntax error"),
    ("{{ request.codes ", "has a mistake in a tag", 'in the paragraph "{{ request.codes"',
     "a tag never closed (Jinja reads on into the Word XML)"),
    ("{% for item in criteria %}{{ item.item }}",
     "The innermost block that needs to be closed is 'for'", None, "{% for %} unclosed"),
    ("{{ request.codes.__class__ }}", "a letter template may not use: Python internals",
     "at {{ request.codes.__class__ }}", "a field's class"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "(unsafe)",
     "at {{ ''.__class__.__mro__[1].__subclasses__() }}", "the classic sandbox escape"),
    ("{{ nothing.__class__ }}", "(unsafe)", "at {{ nothing.__class__ }}",
     "an escape through an undefined name, which must not pass as a missing field"),
    ("{{ self.__init__.__globals__ }}", "(unsafe)", "at {{ self.__init__.__globals__ }}",
     "the template's own globals"),
    ("{{ range.__globals__ }}", "(unsafe)", "at {{ range.__globals__ }}", "a function's globals"),
    ("{{ request.update({'codes': 'x'}) }}", "a method that changes the letter's values",
     "at {{ request.update({'codes': 'x'}) }}", "a change to the letter's values"),
    ("{{ patient['nope'] }}", "uses a field 'nope' of patient that patoolkit does not provide "
     "(it provides dob, id, member_id, name;", "at {{ patient['nope'] }}",
     "an unknown field of a namespace (was: unexpected KeyError)"),
    ("{{ payer.nope }}", "uses a field 'nope' of payer that patoolkit does not provide",
     "at {{ payer.nope }}", "an unknown attribute of a namespace"),
    ("{{ criteria[0].nope }}", "uses a field 'nope' of a Criteria item",
     "at {{ criteria[0].nope }}", "an unknown field of a Criteria item"),
    ("{{ patient[patient.name] }}", "uses a field whose name is computed from a value",
     "at {{ patient[patient.name] }}", "a field named by a patient's value: never shown"),
    ("{{ patient.name.nope }}", "looks up 'nope' on a value that does not have it",
     "at {{ patient.name.nope }}", "an attribute a text does not have"),
    ("{{ {}[patient.name] }}", "looks up a key computed from a value",
     "at {{ {}[patient.name] }}", "a key that is a patient's name: never shown"),
    ("{{ patient.nope() }}", "uses a value that is not there", "at {{ patient.nope() }}",
     "a call of a field that does not exist"),
    ("{{ [] | first }}", "uses a value that is not there", "at {{ [] | first }}",
     "Jinja's own undefined (no first item)"),
    ("{{ '{nope}'.format() }}", "looks up a key that is not there", "at {{ '{nope}'.format() }}",
     "a KeyError raised while filling"),
    ("{{ ('{' ~ patient.name ~ '}').format() }}", "looks up a key that is not there",
     "at {{ ('{' ~ patient.name ~ '}').format() }}",
     "a KeyError whose key is a patient's name: its text is never shown"),
    ("{{ (1, 2)|dictsort }}", "asks a value for something it does not have",
     "at {{ (1, 2)|dictsort }}", "an AttributeError raised while filling"),
    ("{{ patient.name + 1 }}", "combines values of kinds that do not go together",
     "at {{ patient.name + 1 }}", "a TypeError raised while filling"),
    ("{{ 1 / (request.codes|length - request.codes|length) }}", "divides by zero",
     "at {{ 1 / (request.codes|length - request.codes|length) }}", "a ZeroDivisionError"),
    ("{{ '{0} {1}'.format(request.codes) }}", "takes an item past the end",
     "at {{ '{0} {1}'.format(request.codes) }}", "an IndexError"),
    ("{{ '{:d}'.format(patient.name) }}", "converts a value that does not fit",
     "at {{ '{:d}'.format(patient.name) }}", "a ValueError about a patient's name"),
    ("{% include 'other.docx' %}", "reads another file 'other.docx' (include, import or extends)",
     "at {% include 'other.docx' %}", "{% include %}"),
    ("{% import 'macros.xml' as m %}", "reads another file 'macros.xml'",
     "at {% import 'macros.xml' as m %}", "{% import %}"),
    ("{% from 'macros.xml' import sign %}", "reads another file 'macros.xml'",
     "at {% from 'macros.xml' import sign %}", "{% from ... import %}"),
    ("{% macro again(n) %}{{ again(n + 1) }}{% endmacro %}{{ again(1) }}",
     "calls macros more than 50 deep, the limit (MAX_CALL_DEPTH)", "{{ again(n + 1) }}",
     "a macro recursing forever"),
    ("{% for i in range(10**9) %}{% endfor %}",
     "asks for a range of more than 100,000 numbers", "at {% for i in range(10**9) %}",
     "range(10**9)"),
    ("{{ 'x' * 10**9 }}", "builds a text or list of more than 1,000,000 characters, the limit "
     "for one value (MAX_VALUE_CHARS)", "at {{ 'x' * 10**9 }}", "'x' * 10**9, refused unmade"),
    ("{{ patient.member_id * 10**9 }}", "(MAX_VALUE_CHARS)", "at {{ patient.member_id * 10**9 }}",
     "a patient's value multiplied: the value is never shown"),
    ("{% for i in range(2000) %}{{ 'x' * 100000 }}{% endfor %}",
     "prints more than 20,000,000 characters of Word XML, the limit for one letter "
     "(MAX_LETTER_CHARS)", "{{ 'x' * 100000 }}", "200 MB printed by a loop"),
    ("{{ (['x' * 100000] * 2000)|join }}", "(MAX_VALUE_CHARS)",
     "at {{ (['x' * 100000] * 2000)|join }}", "200 MB built by a join"),
    ("{{ range(100000)|map('string')|join('x' * 900000) }}", "(MAX_VALUE_CHARS)",
     "at {{ range(100000)|map('string')|join('x' * 900000) }}", "a join of a generator"),
    ("{% set ns = namespace(text='x') %}{% for i in range(40) %}"
     "{% set ns.text = ns.text ~ ns.text %}{% endfor %}{{ ns.text }}", "(MAX_VALUE_CHARS)",
     "{% set ns.text = ns.text ~ ns.text %}", "a text doubled by a loop"),
    ("{% set a = ['x' * 900000] %}{% set b = [a, a, a, a] %}{{ b }}", "(MAX_VALUE_CHARS)",
     "{{ b }}", "a list holding one large text many times, printed"),
    ("{{ request.codes|center(10**9) }}", "(MAX_VALUE_CHARS)",
     "at {{ request.codes|center(10**9) }}", "a filter's width"),
    ("{{ request.codes|replace('', 'x' * 900000) }}", "(MAX_VALUE_CHARS)",
     "at {{ request.codes|replace('', 'x' * 900000) }}", "a replace that grows"),
    ("{{ '%999999999s' % request.codes }}", "(MAX_VALUE_CHARS)",
     "at {{ '%999999999s' % request.codes }}", "a % format's width"),
    ("{{ '{:>999999999}'.format(request.codes) }}", "(MAX_VALUE_CHARS)",
     "at {{ '{:>999999999}'.format(request.codes) }}", "a format method's width"),
    ("{{ 10 ** (10 ** 10) }}", "computes a number of more than 4,300 digits",
     "at {{ 10 ** (10 ** 10) }}", "a number that would never finish"),
    (("{{ 1 / ", "0", " }}"), "divides by zero", "at {{ 1 / 0 }}",
     "a tag split across Word runs is read whole, and named whole"),
]


@pytest.mark.parametrize(("text", "words", "where", "reason"), CASES,
                         ids=[case[3] for case in CASES])
def test_a_broken_template_is_named_in_words(tracker: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             text: str | tuple[str, ...], words: str,
                                             where: str | None, reason: str) -> None:
    template = client_template(tmp_path / "client", text)
    out = tmp_path / "out"
    code = main(letter(tracker, template.parent, out))
    assert_refused(code, capsys.readouterr().err.strip(), template, words, where, out)


def test_nothing_refused_was_recorded(tracker: Path) -> None:
    assert load_tracker(tracker).frames["History"].empty


def test_a_file_that_is_not_a_docx(tracker: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    client, out = tmp_path / "client", tmp_path / "out"
    client.mkdir()
    (client / TEMPLATE).write_text("Dear {{ patient.name }}", encoding="utf-8")
    code = main(letter(tracker, client, out))
    assert_refused(code, capsys.readouterr().err.strip(), client / TEMPLATE,
                   "is not a Word .docx file (it is not even a zip archive); open it in Word "
                   "and save it again as a Word Document (.docx)", None, out)


def test_a_zip_without_a_document(tracker: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    client, out = tmp_path / "client", tmp_path / "out"
    client.mkdir()
    with zipfile.ZipFile(BUNDLED_TEMPLATES / TEMPLATE) as source, zipfile.ZipFile(
            client / TEMPLATE, "w") as target:
        for item in source.namelist():
            if item != "word/document.xml":
                target.writestr(item, source.read(item))
    code = main(letter(tracker, client, out))
    assert_refused(code, capsys.readouterr().err.strip(), client / TEMPLATE,
                   "is a zip archive but not a Word document (it has no word/document.xml)",
                   None, out)


def test_templates_command_names_a_broken_template_the_same_way(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = client_template(tmp_path / "client", "{{ request.codes + }}")
    assert main(["templates", "--templates", str(template.parent)]) == 1
    error = capsys.readouterr().err
    assert f"{template}: has a mistake in a tag" in error
    assert "(at {{ request.codes + }})" in error


def test_a_tag_split_across_runs_still_fills(tracker: Path, tmp_path: Path) -> None:
    template = client_template(tmp_path / "client", ("Member: {{ patient.", "member_id", " }}."))
    data = LetterMaker(load_tracker(tracker), now=AS_OF, templates=template.parent).render(
        "LT-P2P", "p2p", SUPPLIED["p2p"])
    assert f"Member: {PATIENT['Member ID']}." in letter_text(data)


def test_what_the_limits_watch_still_fills_as_before(tracker: Path, tmp_path: Path) -> None:
    """Loops, ~, filters, macros, * and % within the limits print what Jinja prints."""
    template = client_template(
        tmp_path / "client",
        "{% macro tag(text) %}[{{ text|upper }}]{% endmacro %}"
        "{% for c in criteria %}{{ loop.index }}/{{ loop.length }}{{ tag(c.required) }}"
        "{% if not loop.last %},{% endif %}{% endfor %}",
        "{{ request.codes ~ '-' ~ request.icd10 }} | {{ ['a', 'b']|join(', ') }} | "
        "{{ 'ab' * 2 }} | {{ '%s!' % request.codes }} | {{ '{}?'.format(request.codes) }} | "
        "{{ 2 ** 10 }} | {{ request.codes|replace('7', '<7>') }} | {{ 'x'|center(5) }}.")
    text = letter_text(LetterMaker(load_tracker(tracker), now=AS_OF,
                                   templates=template.parent).render("LT-P2P", "p2p",
                                                                     SUPPLIED["p2p"]))
    assert "1/3[YES],2/3[YES],3/3[YES]" in text
    assert "72148-M54.16 | a, b | abab | 72148! | 72148? | 1024 | <7>2148 |   x  ." in text


def test_a_template_over_the_time_limit(tracker: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(rendering, "MAX_RENDER_SECONDS", 0.2)
    template = client_template(tmp_path / "client", "{% for i in range(100000) %}"
                               "{% for j in range(100000) %}{% endfor %}{% endfor %}")
    out = tmp_path / "out"
    code = main(letter(tracker, template.parent, out))
    assert_refused(code, capsys.readouterr().err.strip(), template,
                   "takes longer than 0.2 seconds to fill, the limit for one letter "
                   "(MAX_RENDER_SECONDS)", None, out)


def test_the_time_limit_holds_in_a_dashboard_thread(tracker: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """No signal, no main thread needed: a dashboard renders in its kernel's thread."""
    monkeypatch.setattr(rendering, "MAX_RENDER_SECONDS", 0.2)
    template = client_template(tmp_path / "client", "{% set r = range(100000) %}"
                               "{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}")
    maker = LetterMaker(load_tracker(tracker), now=AS_OF, templates=template.parent)
    caught: list[BaseException] = []

    def render() -> None:
        try:
            maker.render("LT-P2P", "p2p", SUPPLIED["p2p"])
        except BaseException as error:
            caught.append(error)

    worker = threading.Thread(target=render)
    worker.start()
    worker.join()
    assert len(caught) == 1
    assert isinstance(caught[0], BrokenTemplateError)
    assert isinstance(caught[0], TemplateProblemError)  # what the dashboards already show
    assert caught[0].path == template
    # the limit patched on letters.render is the one the sandbox held the letter to
    assert "takes longer than 0.2 seconds" in caught[0].problem
    assert "(MAX_RENDER_SECONDS)" in caught[0].problem
    assert "{% for j in r %}" in caught[0].where


def test_a_macro_deeper_than_python_allows_is_named_too(tracker: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "MAX_CALL_DEPTH", 1_000_000)  # Python's own limit first
    template = client_template(tmp_path / "client",
                               "{% macro again() %}{{ again() }}{% endmacro %}{{ again() }}")
    maker = LetterMaker(load_tracker(tracker), now=AS_OF, templates=template.parent)
    with pytest.raises(BrokenTemplateError, match="calls a macro from itself without end"):
        maker.render("LT-P2P", "p2p", SUPPLIED["p2p"])


def test_a_broken_template_stops_a_batch_and_writes_nothing(tmp_path: Path) -> None:
    tracker = build_denials_tracker(tmp_path / "denials.xlsx")
    template = client_template(tmp_path / "client", "{{ 1 / 0 }}")
    maker = LetterMaker(load_tracker(tracker), now=AS_OF, templates=template.parent)
    result = maker.make(DENIAL_IDS, "p2p", {"availability": CALL},
                        supplied_for={key: {"discussion_points": "PT"} for key in DENIAL_IDS})
    assert result.made == []
    first = result.errors[0]
    assert isinstance(first, BrokenTemplateError)
    assert "divides by zero" in str(first)
    assert [why for _, why in result.skipped[1:]] == [
        "not made: the p2p template failed on request LT-DENIAL-1."] * (len(DENIAL_IDS) - 1)
    assert not (tmp_path / "letters_out").exists() or not any(
        (tmp_path / "letters_out").iterdir())
    assert load_tracker(tracker).frames["History"].empty


def test_a_refused_template_is_refused_every_time(tracker: Path, tmp_path: Path) -> None:
    """Compiled once, refused each time: Jinja folding {}['a'] as it compiles must not
    leave a blank for the next letter."""
    template = client_template(tmp_path / "client", "{{ {}['a'] }}")
    maker = LetterMaker(load_tracker(tracker), now=AS_OF, templates=template.parent)
    for _ in range(2):
        with pytest.raises(BrokenTemplateError, match="looks up 'a' on a value"):
            maker.render("LT-P2P", "p2p", SUPPLIED["p2p"])
