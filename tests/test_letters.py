"""Letters: golden text of every kind, escaping, sandbox, missing fields, refusals,
safe file names, no overwrite, client templates, History, batch, CLI, LibreOffice."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st
from letter_cases import (
    AS_OF,
    CALL,
    CRITERIA,
    DENIAL_IDS,
    FIVE_DENIALS,
    GOLDEN,
    HEADERS,
    MARKER,
    PAYERS,
    SETTINGS,
    SUPPLIED,
    build_denials_tracker,
    build_letter_tracker,
    letters_in,
    optional_points_template,
    request_id,
)
from workbooks import make_tracker, sha256

from patoolkit.cli import main
from patoolkit.letters import (
    KINDS,
    BatchResult,
    LetterError,
    LetterMaker,
    LetterNotApplicableError,
    MissingFieldsError,
    PatientFieldsNeededError,
    PatientFieldsSharedError,
    TemplateProblemError,
    filter_requests,
    letter_text,
    parse_set,
    safe_stem,
    to_pdf,
)
from patoolkit.tracker.read import load_tracker

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture
def letters_tracker(tmp_path: Path) -> Path:
    return build_letter_tracker(tmp_path / "letters.xlsx")


def maker_for(path: Path, now: pd.Timestamp = AS_OF, **options: object) -> LetterMaker:
    return LetterMaker(load_tracker(path), now=now, **options)  # type: ignore[arg-type]


def history(path: Path) -> list[dict[str, object]]:
    return load_tracker(path).frames["History"].to_dict("records")


def each(request_ids: list[str], kind: str) -> dict[str, dict[str, object]]:
    """The fields of a kind supplied for each request on its own, as a batch takes them."""
    return dict.fromkeys(request_ids, SUPPLIED[kind])


def test_golden_files_cover_every_kind() -> None:
    assert {path.stem for path in GOLDEN.glob("*.txt")} == set(KINDS) == set(SUPPLIED)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_letter_text_matches_golden(letters_tracker: Path, kind: str) -> None:
    """A changed letter fails here; regenerate on purpose with tests/regen_letter_goldens.py."""
    data = LetterMaker(load_tracker(letters_tracker), now=AS_OF).render(
        request_id(kind), kind, SUPPLIED[kind])
    expected = (GOLDEN / f"{kind}.txt").read_text(encoding="utf-8")
    assert letter_text(data) == expected


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_letter_names_the_payer_patient_and_request(letters_tracker: Path,
                                                          kind: str) -> None:
    text = letter_text(maker_for(letters_tracker).render(request_id(kind), kind, SUPPLIED[kind]))
    row = build_row(kind)
    for value in (row["Member ID"], row["Request ID"], row["Codes"], row["Ordering Provider"],
                  "Maplewood Family Medicine (synthetic)", "614-555-0100"):
        assert str(value) in text
    assert "{{" not in text
    assert "{%" not in text
    for value in SUPPLIED[kind].values():  # every supplied field lands in the letter
        items = value.values() if isinstance(value, dict) else (
            value if isinstance(value, list) else [value])
        for item in items:
            assert str(item) in text


def build_row(kind: str) -> dict[str, object]:
    from letter_cases import REQUESTS

    return REQUESTS[kind]


def test_appeal_quotes_the_denial_reason_and_deadline(letters_tracker: Path) -> None:
    text = letter_text(maker_for(letters_tracker).render("LT-APPEAL", "appeal",
                                                         SUPPLIED["appeal"]))
    assert "\u201cSix weeks of conservative treatment not documented\u201d" in text
    # Commercial: 180 days from the decision of Nov 25, 2026 (29 CFR 2560.503-1(h)(3)(i))
    assert "which ends on May 24, 2027" in text


def test_values_print_as_typed_and_the_docx_stays_valid(tmp_path: Path) -> None:
    path = build_letter_tracker(tmp_path / "t.xlsx", p2p={
        "Ordering Provider": "Dr. Smith & Sons <LLC>", "Denial Reason": 'Not "medically" <b>'})
    supplied = {**SUPPLIED["p2p"], "availability": "Mon & Tue </w:t> {{ 7*7 }} {% raw %}"}
    data = maker_for(path).render("LT-P2P", "p2p", supplied)
    text = letter_text(data)
    assert "Dr. Smith & Sons <LLC>" in text
    assert 'Not "medically" <b>' in text
    assert "Mon & Tue </w:t> {{ 7*7 }} {% raw %}" in text  # a value is never a template
    assert "49" not in text
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "&amp; Sons &lt;LLC&gt;" in archive.read("word/document.xml").decode()


def client_template(folder: Path, kind: str, extra_text: str) -> Path:
    """A copy of the bundled template of a kind with one more paragraph."""
    from patoolkit.letters import BUNDLED_TEMPLATES

    folder.mkdir(parents=True, exist_ok=True)
    document = Document(str(BUNDLED_TEMPLATES / KINDS[kind].template))
    document.add_paragraph(extra_text)
    target = folder / KINDS[kind].template
    document.save(str(target))
    return target


def test_a_template_cannot_reach_python_internals(letters_tracker: Path, tmp_path: Path) -> None:
    client = tmp_path / "client"
    client_template(client, "p2p", "{{ letter.__class__.__mro__[1].__subclasses__() }}")
    maker = maker_for(letters_tracker, templates=client)
    with pytest.raises(TemplateProblemError, match=r"unsafe|not safely|SecurityError"):
        maker.render("LT-P2P", "p2p", SUPPLIED["p2p"])
    client_template(client, "p2p", "{{ request.update({'codes': 'x'}) }}")  # no mutation
    with pytest.raises(TemplateProblemError):
        maker_for(letters_tracker, templates=client).render("LT-P2P", "p2p", SUPPLIED["p2p"])


def test_missing_fields_are_all_named_with_where_to_fill_them(tmp_path: Path) -> None:
    path = build_letter_tracker(tmp_path / "t.xlsx", appeal={
        "Denial Reason": None, "Member ID": None, "Ordering Provider": None})
    book = openpyxl.load_workbook(path)
    book["Settings"]["B4"] = None  # practice_phone
    book["Payers"]["F2"] = None  # Summit's appeals address
    book.save(path)
    maker = maker_for(path)
    supplied = {key: value for key, value in SUPPLIED["appeal"].items() if key != "enclosures"}
    with pytest.raises(MissingFieldsError) as caught:
        maker.render("LT-APPEAL", "appeal", supplied)
    where = {item.name: item.where for item in caught.value.missing}
    assert set(where) == {"request.denial_reason", "patient.member_id", "provider.name",
                          "practice.phone", "payer.appeals_address", "enclosures"}
    assert where["request.denial_reason"] == "fill Requests row 3, column 'Denial Reason'"
    assert where["provider.name"] == "fill Requests row 3, column 'Ordering Provider'"
    assert where["practice.phone"] == "fill the Settings sheet, key 'practice_phone'"
    assert where["payer.appeals_address"] == "fill Payers row 2, column 'Appeals Address'"
    assert "--set enclosures=" in where["enclosures"]
    assert "nothing was written" in str(caught.value)


def test_missing_payer_row_says_to_add_one(tmp_path: Path) -> None:
    path = build_letter_tracker(tmp_path / "t.xlsx", p2p={"Payer": "Unlisted Health"})
    with pytest.raises(MissingFieldsError) as caught:
        maker_for(path).render("LT-P2P", "p2p", SUPPLIED["p2p"])
    where = {item.name: item.where for item in caught.value.missing}
    assert where["payer.appeals_address"].startswith(
        "add a row for payer 'Unlisted Health' (Commercial) on the Payers sheet")


def test_missing_criteria_evidence_names_each_item(letters_tracker: Path) -> None:
    supplied = {**SUPPLIED["medical-necessity"], "evidence": {"Diagnosis": "Clinic note"}}
    with pytest.raises(MissingFieldsError) as caught:
        maker_for(letters_tracker).render("LT-LMN", "medical-necessity", supplied)
    assert [item.name for item in caught.value.missing] == [
        "evidence[Prior imaging results]", "evidence[Conservative treatment tried]"]


@pytest.mark.parametrize(("kind", "changes", "now", "reason"), [
    ("p2p", {"Decision": "Approved", "Status": "Approved", "Denial Reason": None}, AS_OF,
     "it was Approved, not denied"),
    ("p2p", {}, pd.Timestamp("2026-12-10"), "peer-to-peer window closed on 2026-12-09"),
    ("p2p", {"P2P Date": pd.Timestamp("2026-11-26").date(), "P2P Outcome": "Upheld"}, AS_OF,
     "already held on 2026-11-26 (Upheld)"),
    ("appeal", {"Appeal Outcome": "Overturned"}, AS_OF, "already overturned"),
    ("appeal", {"Appeal Submitted Date": pd.Timestamp("2026-11-26").date()}, AS_OF,
     "already submitted on 2026-11-26"),
    ("expedited-appeal", {"Decision": None, "Decision Date": None, "Status": "Submitted"},
     AS_OF, "no decision yet"),
    ("external-review", {"Appeal Outcome": "Overturned"}, AS_OF, "this one was not"),
    ("external-review", {}, pd.Timestamp("2027-02-15"), "window closed on 2027-02-01"),
    ("external-review", {"Plan Type": "Medicare Advantage",
                         "Payer": "Lakeshore Medicare Advantage"}, AS_OF,
     "Medicare Advantage plans forward"),
    ("info-response", {"Info Requested At": None}, AS_OF, "has not asked for more information"),
    ("medical-necessity", {"Decision": "Denied", "Decision Date": AS_OF.date()}, AS_OF,
     "contest it with --kind p2p"),
])
def test_a_request_that_does_not_fit_the_kind_is_refused(
        tmp_path: Path, kind: str, changes: dict[str, object], now: pd.Timestamp,
        reason: str) -> None:
    path = build_letter_tracker(tmp_path / "t.xlsx", **{kind: changes})
    with pytest.raises(LetterNotApplicableError, match=reason.replace("(", r"\(")
                       .replace(")", r"\)")):
        maker_for(path, now=now).render(request_id(kind), kind, SUPPLIED[kind])


def test_a_hostile_request_id_cannot_escape_the_output_folder(tmp_path: Path) -> None:
    path = build_letter_tracker(tmp_path / "t.xlsx", p2p={"Request ID": "../../etc/x"})
    out = tmp_path / "out"
    result = maker_for(path).make(["../../etc/x"], "p2p", SUPPLIED["p2p"], out=out)
    assert [made.path.parent for made in result.made] == [out]
    assert result.made[0].path.name == "etc_x_p2p_2026-11-28.docx"
    assert safe_stem("/abs/..\\x", "p2p", AS_OF.date()) == "abs_x_p2p_2026-11-28"
    assert not any(tmp_path.parent.glob("etc*"))


def test_letters_never_overwrite_and_are_recorded_in_history(letters_tracker: Path) -> None:
    maker = maker_for(letters_tracker)
    first = maker.make(["LT-P2P"], "p2p", SUPPLIED["p2p"], by="sam")
    before = sha256(first.made[0].path)
    second = maker_for(letters_tracker).make(["LT-P2P"], "p2p", SUPPLIED["p2p"], by="sam")
    names = [first.made[0].path.name, second.made[0].path.name]
    assert names == ["LT-P2P_p2p_2026-11-28.docx", "LT-P2P_p2p_2026-11-28-2.docx"]
    assert sha256(first.made[0].path) == before
    assert first.made[0].path.parent == letters_tracker.parent / "letters_out"
    rows = history(letters_tracker)
    assert [(r["request_id"], r["field"], r["new_value"], r["by"]) for r in rows] == [
        ("LT-P2P", "letter:p2p", names[0], "sam"), ("LT-P2P", "letter:p2p", names[1], "sam")]


def test_a_stale_maker_refuses_a_letter_whose_request_changed_since(
        letters_tracker: Path) -> None:
    """A letter made from an old load would carry what is no longer so: refused, before
    any letter, when its request changed; another request's change does not matter."""
    from patoolkit.errors import TrackerConflictError
    from patoolkit.tracker.edit import update_request

    maker = maker_for(letters_tracker)
    update_request(letters_tracker, "LT-LMN", {"notes": "edited meanwhile"}, by="ana")
    made = maker.make(["LT-P2P"], "p2p", SUPPLIED["p2p"])  # another request: goes in
    assert [m.request_id for m in made.made] == ["LT-P2P"]
    assert load_tracker(letters_tracker).requests.loc[7, "notes"] == "edited meanwhile"
    update_request(letters_tracker, "LT-P2P", {"denial_reason": "Changed since"}, by="ana")
    out = letters_tracker.parent / "second"
    with pytest.raises(TrackerConflictError, match="LT-P2P changed since"):
        maker.make(["LT-P2P"], "p2p", SUPPLIED["p2p"], out=out)
    assert not out.exists()  # refused before any letter


def test_a_tracker_open_in_excel_is_refused_before_any_letter(letters_tracker: Path) -> None:
    from patoolkit.errors import TrackerLockedError

    lock = letters_tracker.with_name(f".~lock.{letters_tracker.name}#")
    lock.write_text("someone,at the front desk")
    with pytest.raises(TrackerLockedError, match="open in Excel or LibreOffice"):
        maker_for(letters_tracker).make(["LT-P2P", "LT-APPEAL"], "appeal",
                                        supplied_for=each(["LT-P2P", "LT-APPEAL"], "appeal"))
    assert not (letters_tracker.parent / "letters_out").exists()
    lock.unlink()
    made = maker_for(letters_tracker).make(["LT-P2P"], "p2p", SUPPLIED["p2p"], record=False)
    assert len(made.made) == 1  # --no-history never needed the tracker to be writable


def test_letters_made_but_not_recorded_are_named(letters_tracker: Path) -> None:
    from patoolkit.letters import LettersNotRecordedError

    lock = letters_tracker.with_name(f"~${letters_tracker.name}")

    def opened_in_excel_meanwhile(done: int, total: int) -> None:
        if done == 1:
            lock.write_text("x")

    before = sha256(letters_tracker)
    with pytest.raises(LettersNotRecordedError) as caught:
        maker_for(letters_tracker).make(["LT-P2P", "LT-APPEAL"], "appeal",
                                        supplied_for=each(["LT-P2P", "LT-APPEAL"], "appeal"),
                                        progress=opened_in_excel_meanwhile)
    made = caught.value.result.made
    assert [m.request_id for m in made] == ["LT-P2P", "LT-APPEAL"]
    assert all(m.path.exists() for m in made)
    message = str(caught.value)
    assert "NOT recorded in the History sheet" in message
    assert "because the tracker was opened in Excel or LibreOffice meanwhile" in message
    assert all(str(m.path) in message for m in made)
    assert sha256(letters_tracker) == before  # nothing half-written
    assert main(["letter", str(letters_tracker), "LT-URGENT", "--kind", "expedited-appeal",
                 *[f"--set={k}={v}" for k, v in SUPPLIED["expedited-appeal"].items()
                   if isinstance(v, str)]]) == 1


def test_a_full_disk_at_the_history_write_still_names_the_letters(
        letters_tracker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import patoolkit.tracker.edit
    from patoolkit.letters import LettersNotRecordedError

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(patoolkit.tracker.edit, "record_history", disk_full)
    with pytest.raises(LettersNotRecordedError, match="No space left on device") as caught:
        maker_for(letters_tracker).make(["LT-P2P"], "p2p", SUPPLIED["p2p"])
    assert caught.value.result.made[0].path.exists()
    assert str(caught.value.result.made[0].path) in str(caught.value)


def test_a_pdf_failure_keeps_the_letters_and_their_history(
        letters_tracker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import patoolkit.letters.maker

    def office_hangs(paths: object, timeout: float = 300) -> list[Path]:
        raise subprocess.TimeoutExpired("soffice", timeout)

    monkeypatch.setattr(patoolkit.letters.maker, "to_pdf", office_hangs)  # where make reads it
    result = maker_for(letters_tracker).make(["LT-P2P"], "p2p", SUPPLIED["p2p"], pdf=True)
    assert result.made[0].path.exists()
    assert result.made[0].pdf is None
    assert result.history_recorded
    assert "LibreOffice could not make the PDF (TimeoutExpired)" in str(result.pdf_problem)
    assert [row["field"] for row in history(letters_tracker)] == ["letter:p2p"]


def test_a_request_id_typed_in_another_case_uses_the_trackers_spelling(
        letters_tracker: Path) -> None:
    result = maker_for(letters_tracker).make(["lt-p2p"], "p2p", SUPPLIED["p2p"], by="sam")
    assert result.made[0].request_id == "LT-P2P"
    assert result.made[0].path.name == "LT-P2P_p2p_2026-11-28.docx"
    assert [row["request_id"] for row in history(letters_tracker)] == ["LT-P2P"]


def test_a_duplicated_request_id_gets_no_letter_naming_both_rows(tmp_path: Path) -> None:
    """`check` reports the duplicate; a letter for that ID could be either patient's, so
    none is made (it once read the first row: the second patient's typed text would have
    gone into the first patient's letter)."""
    import datetime as dt

    path = build_letter_tracker(tmp_path / "t.xlsx", appeal={
        "Request ID": "LT-P2P", "Decision Date": dt.date(2026, 6, 1)})
    with pytest.raises(LetterNotApplicableError, match="its ID is on Requests rows 2 and 3"):
        maker_for(path).render("LT-P2P", "p2p", SUPPLIED["p2p"])
    assert not (tmp_path / "letters_out").exists() or not any(
        (tmp_path / "letters_out").iterdir())


def test_client_templates_override_the_bundled_ones_file_by_file(letters_tracker: Path,
                                                                  tmp_path: Path) -> None:
    client = letters_tracker.parent / "client_letters"
    client_template(client, "p2p", "Client closing line for {{ patient.member_id }}.")
    (client / "fields.toml").write_text('[availability]\nlabel = "Call window"\n')
    # named in Settings, relative to the tracker
    book = openpyxl.load_workbook(letters_tracker)
    book["Settings"].append(["letter_templates_folder", "client_letters"])
    book.save(letters_tracker)
    maker = maker_for(letters_tracker)
    p2p = letter_text(maker.render("LT-P2P", "p2p", SUPPLIED["p2p"]))
    appeal = letter_text(maker.render("LT-APPEAL", "appeal", SUPPLIED["appeal"]))
    assert "Client closing line for SHP000111." in p2p
    assert appeal == (GOLDEN / "appeal.txt").read_text(encoding="utf-8")
    labels = {f.name: f.label for f in maker.fields("p2p").supplied}
    assert labels["availability"] == "Call window"
    assert maker.fields("p2p").path == client / "p2p_request.docx"
    assert maker.fields("appeal").path.parent.name == "letters"


def test_a_missing_template_folder_is_a_clear_error(letters_tracker: Path,
                                                    tmp_path: Path) -> None:
    with pytest.raises(TemplateProblemError, match="does not exist"):
        maker_for(letters_tracker, templates=tmp_path / "nope")


def test_batch_makes_what_it_can_and_says_why_it_skipped_the_rest(letters_tracker: Path) -> None:
    tracker = load_tracker(letters_tracker)
    denied = filter_requests(tracker, decisions=["Denied"], decided_from=AS_OF.date().replace(
        day=20))
    assert denied == ["LT-P2P", "LT-APPEAL", "LT-URGENT"]
    steps: list[tuple[int, int]] = []
    result = LetterMaker(tracker, now=AS_OF).make(
        [*denied, "LT-LMN", "NOPE"], "appeal", supplied_for=each([*denied, "LT-LMN"], "appeal"),
        progress=lambda done, total: steps.append((done, total)))
    assert isinstance(result, BatchResult)
    assert [made.request_id for made in result.made] == ["LT-P2P", "LT-APPEAL", "LT-URGENT"]
    assert [request for request, _ in result.skipped] == ["LT-LMN", "NOPE"]
    assert "no decision yet" in result.skipped[0][1]
    assert steps == [(n, 5) for n in range(1, 6)]
    assert "3 letter(s) made, 2 skipped" in result.summary()
    assert len(history(letters_tracker)) == 3


def test_parse_set_splits_lists_and_reads_evidence() -> None:
    maker_fields = None
    supplied = parse_set(["availability=noon", "evidence[Prior imaging results]=X-ray"],
                         maker_fields)
    assert supplied == {"availability": "noon",
                        "evidence": {"Prior imaging results": "X-ray"}}
    with pytest.raises(LetterError, match="name=value"):
        parse_set(["oops"])
    with pytest.raises(LetterError, match="not a field"):
        parse_set(["request=x"])


def test_cli_letter_makes_one_and_reports_missing_fields(letters_tracker: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    out = letters_tracker.parent / "out"
    base = ["letter", str(letters_tracker), "LT-P2P", "--kind", "p2p", "--as-of", "2026-11-28",
            "--out", str(out), "--by", "sam"]
    assert main(base) == 1
    error = capsys.readouterr().err
    assert "availability: supply it: --set availability=" in error
    assert not out.exists() or not any(out.iterdir())
    assert main([*base, "--set", "availability=noon", "--set",
                 "discussion_points=PT failed; new foot drop"]) == 0
    made = out / "LT-P2P_p2p_2026-11-28.docx"
    assert made.is_file()
    text = letter_text(made)
    assert "\u2022 PT failed\n\u2022 new foot drop" in text
    assert "Recorded 1 letter(s)" in capsys.readouterr().out


def test_cli_refuses_the_wrong_kind_and_unknown_kinds(letters_tracker: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["letter", str(letters_tracker), "LT-LMN", "--kind", "p2p"]) == 1
    assert "no decision yet" in capsys.readouterr().err
    assert main(["letter", str(letters_tracker), "LT-LMN", "--kind", "thanks"]) == 1
    assert "not a letter kind" in capsys.readouterr().err
    assert main(["letter", str(letters_tracker), "--kind", "appeal"]) == 2
    assert "name a REQUEST_ID" in capsys.readouterr().err


def test_cli_batch_summary(letters_tracker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["letter", str(letters_tracker), "--kind", "appeal", "--decision", "Denied",
                 "--as-of", "2026-11-28"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "0 letter(s) made, 4 skipped" in printed
    assert "skipped LT-EXTERNAL: no first-level appeal (appeal): its first-level appeal was " \
           "already upheld" in printed
    # an appeal's fields are all about its patient: in a batch, each needs its own
    assert "skipped LT-APPEAL: needs 'Clinical summary', 'Answer to the denial reason, point " \
           "by point' and 'Documents enclosed' for this patient; make it on its own from the " \
           "Letter tab" in printed
    assert not (letters_tracker.parent / "letters_out").exists() or not any(
        (letters_tracker.parent / "letters_out").iterdir())


def test_cli_templates_lists_kinds_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "--json"]) == 0
    documents = json.loads(capsys.readouterr().out)
    assert [d["kind"] for d in documents] == list(KINDS)
    by_kind = {d["kind"]: d for d in documents}
    appeal = {f["name"]: f["optional"] for f in by_kind["appeal"]["to_supply"]}
    assert appeal == {"denial_response": False, "clinical_rationale": False,
                      "enclosures": False, "good_cause": True}  # good cause: late appeals only
    assert "request.denial_reason" in by_kind["appeal"]["from_tracker"]
    assert "deadlines.p2p_window_closes" in by_kind["p2p"]["from_tracker"]
    optional = {f["name"]: f["optional"] for f in by_kind["info-response"]["to_supply"]}
    assert optional == {"cover_note": True, "enclosures": False}
    assert main(["templates"]) == 0
    assert "medical-necessity: Letter of medical necessity" in capsys.readouterr().out


def test_cli_templates_says_whose_each_field_is(capsys: pytest.CaptureFixture[str]) -> None:
    # fields.toml: the provider's call window is the sender's (a batch may share it); what
    # the provider will raise is about one patient
    assert main(["templates", "--json"]) == 0
    documents = {d["kind"]: d for d in json.loads(capsys.readouterr().out)}
    about = {f["name"]: f["about"] for f in documents["p2p"]["to_supply"]}
    assert about == {"availability": "sender", "discussion_points": "patient"}
    assert {f["about"] for d in documents.values() for f in d["to_supply"]} == {"sender",
                                                                                 "patient"}
    assert main(["templates"]) == 0
    printed = capsys.readouterr().out
    assert "    availability (sender): When the ordering provider" in printed
    assert "    discussion_points (patient): Points the provider will raise" in printed


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_every_rendered_kind(letters_tracker: Path, tmp_path: Path) -> None:
    out = tmp_path / "pdf"
    maker = maker_for(letters_tracker)
    made = [maker.make([request_id(kind)], kind, SUPPLIED[kind], out=out,
                       record=False).made[0] for kind in KINDS]
    pdfs = to_pdf([letter.path for letter in made])  # one LibreOffice start for all
    assert [pdf.stem for pdf in pdfs] == [letter.path.stem for letter in made]
    for letter, pdf in zip(made, pdfs, strict=True):
        assert pdf.stat().st_size > 5000
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                  text=True, check=True).stdout
            assert "Maplewood Family Medicine (synthetic)" in text
            assert letter.request_id in text


def test_a_plan_without_an_appeal_deadline_still_gets_its_letters(tmp_path: Path) -> None:
    """Medicare FFS has no appeal filing timeframe unless the Payers sheet gives one."""
    ffs = {"Payer": "Medicare Part B", "Plan Type": "Medicare FFS"}
    path = build_letter_tracker(tmp_path / "t.xlsx", p2p=ffs, appeal=ffs)
    book = openpyxl.load_workbook(path)
    book["Payers"].append(["Medicare Part B", "Medicare FFS", None, "800-555-0199", None,
                           "Medicare Part B Redeterminations, PO Box 3000, Sampleton, OH 43003"])
    book.save(path)
    maker = maker_for(path)
    appeal = letter_text(maker.render("LT-APPEAL", "appeal", SUPPLIED["appeal"]))
    p2p = letter_text(maker.render("LT-P2P", "p2p", SUPPLIED["p2p"]))
    assert "appeal period" not in appeal
    assert "so that a written appeal can be filed." in p2p
    assert "By fax" not in appeal  # no fax on the Payers row: the line is left out


# --- batches: one patient's text never reaches another patient's letter ----------------

@pytest.fixture
def denials(tmp_path: Path) -> Path:
    return build_denials_tracker(tmp_path / "denials.xlsx")


def test_a_batch_never_puts_one_patients_text_in_another_letter(denials: Path) -> None:
    """Five denials, text typed for one: only its letter holds it; the rest say why not."""
    result = maker_for(denials).make(
        DENIAL_IDS, "p2p", {"availability": CALL},
        supplied_for={"lt-denial-3 ": {"discussion_points": [MARKER]}})
    assert [made.request_id for made in result.made] == ["LT-DENIAL-3"]
    texts = letters_in(denials.parent / "letters_out")
    assert list(texts) == ["LT-DENIAL-3"]  # no other letter was written at all
    assert MARKER in texts["LT-DENIAL-3"]
    assert CALL in texts["LT-DENIAL-3"]
    assert "Example-Cole, Pat (synthetic)" in texts["LT-DENIAL-3"]
    assert [request for request, _ in result.skipped] == [
        "LT-DENIAL-1", "LT-DENIAL-2", "LT-DENIAL-4", "LT-DENIAL-5"]
    for _, why in result.skipped:
        assert why == ("needs 'Points the provider will raise' for this patient; make it on "
                       "its own from the Letter tab (or `patoolkit letter` with its REQUEST_ID)")
    assert all(isinstance(error, PatientFieldsNeededError) for error in result.errors)
    assert [row["request_id"] for row in history(denials)] == ["LT-DENIAL-3"]


def test_each_letter_of_a_batch_holds_its_own_patients_text_and_no_one_elses(
        denials: Path) -> None:
    client = optional_points_template(denials.parent / "client")
    own = {request: f"points for {request} only" for request in DENIAL_IDS[:4]}
    own["LT-DENIAL-3"] = MARKER
    result = maker_for(denials, templates=client).make(
        DENIAL_IDS, "p2p", {"availability": CALL},
        supplied_for={request: {"discussion_points": text} for request, text in own.items()})
    assert [made.request_id for made in result.made] == DENIAL_IDS  # points are optional here
    texts = letters_in(denials.parent / "letters_out")
    assert sorted(texts) == DENIAL_IDS
    for request, text in texts.items():
        assert CALL in text  # the sender's call window is in every letter
        for other, typed in own.items():
            assert (typed in text) == (other == request), (request, other)
    assert "Points:" not in texts["LT-DENIAL-5"]  # nothing typed for it: the part is left out


def test_a_batch_refuses_to_share_a_field_about_the_patient(denials: Path) -> None:
    with pytest.raises(PatientFieldsSharedError) as caught:
        maker_for(denials).make(DENIAL_IDS, "p2p",
                                {"availability": CALL, "discussion_points": [MARKER]})
    message = str(caught.value)
    assert "cannot share 'Points the provider will raise' (discussion_points)" in message
    assert "Make those letters one at a time" in message
    assert "Fields a batch may share (about the sender in fields.toml): availability." in message
    assert MARKER not in message
    assert caught.value.exit_code == 2
    assert not (denials.parent / "letters_out").exists()
    assert history(denials) == []
    # a dashboard batch whose filters show one request is still a batch
    with pytest.raises(PatientFieldsSharedError):
        maker_for(denials).plan_batch(["LT-DENIAL-3"], "p2p", {"discussion_points": MARKER},
                                      batch=True)
    # one request on its own takes what was typed for it, as the Letter tab and CLI do
    alone = maker_for(denials).make(["LT-DENIAL-3"], "p2p",
                                    {"availability": CALL, "discussion_points": [MARKER]})
    assert MARKER in letter_text(alone.made[0].path)


def test_plan_batch_says_what_each_letter_takes_from_the_form_and_writes_nothing(
        denials: Path) -> None:
    before = sha256(denials)
    plan = maker_for(denials).plan_batch(
        [*DENIAL_IDS, "NOPE"], "p2p", {"availability": CALL, "discussion_points": ""},
        supplied_for={"LT-DENIAL-3": {"discussion_points": [MARKER]},
                      "LT-ELSEWHERE": {"discussion_points": ["not in this batch"]}})
    assert plan.shared == {"availability": CALL}  # the blank is not a value to share
    assert plan.labelled(plan.shared) == [
        ("When the ordering provider is available for the call", CALL)]
    assert [letter.request_id for letter in plan.to_make] == ["LT-DENIAL-3"]
    made = plan.to_make[0]
    assert made.own == {"discussion_points": [MARKER]}
    assert made.values == {"availability": CALL, "discussion_points": [MARKER]}
    assert [letter.request_id for letter in plan.to_skip] == [
        "LT-DENIAL-1", "LT-DENIAL-2", "LT-DENIAL-4", "LT-DENIAL-5", "NOPE"]
    assert all(letter.own == {} for letter in plan.to_skip)
    assert plan.to_skip[0].why is not None
    assert plan.to_skip[0].why.startswith("needs 'Points the provider will raise' for this "
                                          "patient")
    assert "no request with ID 'NOPE'" in str(plan.to_skip[-1].why)
    assert sha256(denials) == before
    assert not (denials.parent / "letters_out").exists()


def test_a_batch_without_a_sender_field_says_to_fill_it_for_the_whole_batch(
        denials: Path) -> None:
    plan = maker_for(denials).plan_batch(DENIAL_IDS[:2], "p2p", supplied_for={
        "LT-DENIAL-1": {"discussion_points": ["own"]}})
    assert isinstance(plan.letters[0].skip, MissingFieldsError)
    assert "availability: supply it for the whole batch" in str(plan.letters[0].why)
    assert isinstance(plan.letters[1].skip, PatientFieldsNeededError)  # its patient first


def test_every_field_of_the_bundled_letters_says_whose_it_is() -> None:
    import tomllib

    from patoolkit.letters import BUNDLED_TEMPLATES, template_fields

    entries = tomllib.loads((BUNDLED_TEMPLATES / "fields.toml").read_text(encoding="utf-8"))
    assert {entry["about"] for entry in entries.values()} == {"sender", "patient"}
    about = {f.name: f.about for kind in KINDS.values()
             for f in template_fields(kind, [BUNDLED_TEMPLATES]).supplied}
    assert set(about) <= set(entries)  # none left to the default
    # only what is the same whoever the patient is may be shared by a batch
    assert {name for name, whose in about.items() if whose == "sender"} == {
        "availability", "review_entity_address"}


def test_a_clients_fields_toml_decides_whose_a_field_is(denials: Path) -> None:
    client = denials.parent / "client"
    client.mkdir()
    # an entry replaces the bundled one whole: without `about`, about the patient
    (client / "fields.toml").write_text('[availability]\nlabel = "Call window"\n')
    with pytest.raises(PatientFieldsSharedError, match="'Call window' \\(availability\\)"):
        maker_for(denials, templates=client).plan_batch(DENIAL_IDS, "p2p",
                                                        {"availability": CALL})
    (client / "fields.toml").write_text('[discussion_points]\nabout = "sender"\n')
    plan = maker_for(denials, templates=client).plan_batch(
        DENIAL_IDS, "p2p", {"availability": CALL, "discussion_points": "Same for all"})
    assert len(plan.to_make) == 5  # the client said so: shared
    (client / "fields.toml").write_text('[availability]\nabout = "practice"\n')
    with pytest.raises(TemplateProblemError, match=r'about = \'practice\'; write about = "sender"'):
        maker_for(denials, templates=client).fields("p2p")


def test_cli_refuses_a_patient_field_for_more_than_one_request(
        denials: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def letter(*arguments: str) -> int:
        return main(["letter", str(denials), *arguments, "--kind", "p2p", "--as-of",
                     "2026-11-28", "--set", f"availability={CALL}"])

    points = f"--set=discussion_points={MARKER}"
    assert letter("--decision", "Denied", points) == 2
    error = capsys.readouterr().err
    assert "--set discussion_points (Points the provider will raise): about one patient, " \
           "and 5 requests are selected" in error
    assert "Make those letters one at a time" in error
    assert "Fields a batch may share (about the sender): availability" in error
    assert letter("LT-DENIAL-2", "LT-DENIAL-3", points) == 2
    assert "2 requests are selected" in capsys.readouterr().err
    # the filters alone chose one request: the text is for a patient no one named
    assert letter("--owner", "Lee", points) == 2
    assert "about one patient, and the filters chose the request" in capsys.readouterr().err
    assert not (denials.parent / "letters_out").exists()  # nothing made by any of them
    assert history(denials) == []
    # a field about the sender is fine in a batch; each letter then needs its own points
    assert letter("--decision", "Denied") == 1
    printed = capsys.readouterr().out
    assert "0 letter(s) made, 5 skipped" in printed
    assert "skipped LT-DENIAL-1: needs 'Points the provider will raise' for this patient" \
        in printed
    # one named request takes its own points
    assert letter("LT-DENIAL-3", points) == 0
    texts = letters_in(denials.parent / "letters_out")
    assert list(texts) == ["LT-DENIAL-3"]
    assert MARKER in texts["LT-DENIAL-3"]


@pytest.fixture(scope="module")
def denials_maker(tmp_path_factory: pytest.TempPathFactory) -> LetterMaker:
    return maker_for(build_denials_tracker(tmp_path_factory.mktemp("denials") / "d.xlsx"))


@settings(max_examples=40, deadline=None)
@given(typed=st.dictionaries(st.sampled_from(DENIAL_IDS),
                             st.text(min_size=1).filter(str.strip), max_size=5),
       order=st.lists(st.sampled_from(DENIAL_IDS), min_size=2, max_size=7),
       spelling=st.sampled_from([str, str.lower, lambda key: f" {key.lower()} "]))
def test_no_letter_of_a_batch_takes_another_requests_values(
        denials_maker: LetterMaker, typed: dict[str, str], order: list[str],
        spelling: Callable[[str], str]) -> None:
    """Whatever was typed for whichever requests, in any order, a letter takes its own only."""
    plan = denials_maker.plan_batch(
        order, "p2p", {"availability": CALL},
        supplied_for={spelling(request): {"discussion_points": text}
                      for request, text in typed.items()})
    assert [letter.request_id for letter in plan.letters] == order  # every request listed
    for letter in plan.letters:
        own = typed.get(letter.request_id)
        assert letter.own == ({} if own is None else {"discussion_points": own})
        assert letter.values == {"availability": CALL, **letter.own}
        assert (letter.skip is None) == (own is not None)


def test_a_request_id_on_two_rows_gets_no_letter_whoever_typed_for_it(tmp_path: Path) -> None:
    """Two patients' rows under one ID (' lt-denial-1 ' spelled otherwise too): which patient
    a letter is for cannot be told, so neither gets one, and nobody else's text is used."""
    rows = [dict(row) for row in FIVE_DENIALS]
    rows[3]["Request ID"] = "LT-DENIAL-3"  # the fourth patient's row reuses the third's ID
    rows[4]["Request ID"] = " lt-denial-1 "
    path = make_tracker(tmp_path / "dup.xlsx", rows, headers=HEADERS,
                        extra_sheets={"Payers": PAYERS, "Settings": SETTINGS,
                                      "Criteria": CRITERIA})
    client = optional_points_template(tmp_path / "client")
    result = maker_for(path, templates=client).make(
        ["LT-DENIAL-1", "LT-DENIAL-2", "LT-DENIAL-3"], "p2p", {"availability": CALL},
        supplied_for={"LT-DENIAL-3": {"discussion_points": MARKER}})
    assert [made.request_id for made in result.made] == ["LT-DENIAL-2"]
    skipped = dict(result.skipped)
    assert "its ID is on Requests rows 4 and 5" in skipped["LT-DENIAL-3"]
    assert "its ID is on Requests rows 2 and 6" in skipped["LT-DENIAL-1"]
    texts = letters_in(tmp_path / "letters_out")
    assert list(texts) == ["LT-DENIAL-2"]
    assert MARKER not in texts["LT-DENIAL-2"]
    with pytest.raises(LetterNotApplicableError, match="give each request its own ID"):
        maker_for(path, templates=client).render("LT-DENIAL-3", "p2p",
                                                 {"availability": CALL})


def test_a_settings_template_folder_that_does_not_exist_is_a_finding(
        letters_tracker: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder named in Settings that is not there: check warns, letter exits 1 saying why."""
    book = openpyxl.load_workbook(letters_tracker)
    book["Settings"].append(["letter_templates_folder", "Clients/Maple (moved)"])
    book.save(letters_tracker)
    tracker = load_tracker(letters_tracker)
    assert any("names a folder that does not exist" in p.message for p in tracker.warnings)
    code = main(["letter", str(letters_tracker), request_id("p2p"), "--kind", "p2p",
                 "--no-history", *[f"--set={k}={v}" for k, v in SUPPLIED["p2p"].items()]])
    assert code == 1
    assert "the letter template folder does not exist" in capsys.readouterr().err


# (kind, changes, the good-cause words, why) -- CONTRACT section 2: a late filing is not refused
LATE_APPEALS = [
    ("appeal", {}, "good cause, which the plan may allow",
     "Commercial: the plan's discretion (filing deadline 2027-05-24, 180 days)"),
    ("expedited-appeal", {"Decision Date": pd.Timestamp("2026-09-01").date()},
     "good cause, as 42 CFR 422.582(c) provides",
     "Medicare Advantage: 65 days from 2026-09-01 ended 2026-11-05; 42 CFR 422.582(c)"),
]


@pytest.mark.parametrize(("kind", "changes", "words", "why"), LATE_APPEALS,
                         ids=[case[-1] for case in LATE_APPEALS])
def test_a_late_appeal_is_made_with_a_good_cause_paragraph(
        tmp_path: Path, kind: str, changes: dict[str, object], words: str, why: str) -> None:
    path = build_letter_tracker(tmp_path / "t.xlsx", **{kind: changes})
    now = pd.Timestamp("2027-06-01") if kind == "appeal" else AS_OF
    maker = maker_for(path, now=now)
    # without the reason: a marked line for the person to complete before sending
    text = letter_text(maker.render(request_id(kind), kind, SUPPLIED[kind]))
    assert "Good cause for filing after the appeal period" in text, why
    assert words in text, why
    assert "[To complete before sending: what kept this appeal from being filed in time" in text
    assert "filed within your appeal period" not in text
    supplied = {**SUPPLIED[kind], "good_cause": "The denial notice reached us on 2027-05-30."}
    text = letter_text(maker.render(request_id(kind), kind, supplied))
    assert "The denial notice reached us on 2027-05-30." in text
    assert "To complete before sending" not in text


def test_an_appeal_in_time_has_no_good_cause_paragraph(letters_tracker: Path) -> None:
    text = letter_text(maker_for(letters_tracker).render("LT-APPEAL", "appeal",
                                                         SUPPLIED["appeal"]))
    assert "Good cause" not in text
    assert "filed within your appeal period, which ends on May 24, 2027" in text


def test_the_letters_package_exports_exactly_its_all() -> None:
    """patoolkit.letters.__all__ is what the package exports (httpx's equality), each
    concern's module says what it is for, and the limits on a letter live only where the
    sandbox reads them: a change made on the package instead could not take effect."""
    import inspect

    import patoolkit.letters as letters

    for name in letters.__all__:
        assert getattr(letters, name) is not None, name
    public = {name for name in dir(letters) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(letters, name))}
    assert public - modules - {"annotations"} == set(letters.__all__)
    assert modules >= {"kinds", "templates", "context", "render", "output", "maker"}
    assert all(inspect.getdoc(getattr(letters, name)) for name in modules)
    assert hasattr(letters.render, "MAX_RENDER_SECONDS")
    assert not [name for name in public if name.startswith("MAX_")]
