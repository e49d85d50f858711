"""The denials and appeals dashboard, driven as a person would (values set, buttons clicked)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from letter_cases import (
    AS_OF,
    CALL,
    DENIAL_IDS,
    MARKER,
    SUPPLIED,
    build_denials_tracker,
    build_letter_tracker,
    letters_in,
    optional_points_template,
)

from patoolkit import load_tracker
from patoolkit.letters import letter_text
from patoolkit.ui import DenialsDashboard, TrackerSession, denials_app


@pytest.fixture
def dashboard(tmp_path: Path) -> DenialsDashboard:
    path = build_letter_tracker(tmp_path / "letters.xlsx")
    return DenialsDashboard(TrackerSession(path, user="ana"), as_of=str(AS_OF))


def open_request(dashboard: DenialsDashboard, request_id: str) -> None:
    board = dashboard.board
    dashboard.open_row(board[board["request_id"] == request_id].iloc[0])


def fill(dashboard: DenialsDashboard, values: dict[str, object]) -> None:
    form = dashboard.letter
    for name, value in values.items():
        if name == "evidence":
            for item, text in value.items():  # type: ignore[attr-defined]
                form.evidence[item].value = text
        else:
            form.inputs[name].value = "\n".join(value) if isinstance(value, list) else str(value)


def test_board_lists_open_denials_soonest_first_with_overdue_marked(
        dashboard: DenialsDashboard) -> None:
    shown = dashboard.table.frame
    # LT-P2P and LT-APPEAL: P2P window (14 days from Nov 25) is next; LT-URGENT (Medicare
    # Advantage, no P2P window set: 14 days) too; LT-EXTERNAL: external review, Feb 1
    assert shown["request_id"].tolist() == ["LT-P2P", "LT-APPEAL", "LT-URGENT", "LT-EXTERNAL"]
    assert shown["next_window"].tolist() == ["Peer-to-peer window"] * 3 + ["External review"]
    assert shown["next_shown"].tolist()[-1] == "2027-02-01"
    assert "4 open denials" in dashboard.header.value
    # a passed P2P window is not overdue while the appeal window is still open
    later = DenialsDashboard(dashboard.session, as_of="2026-12-20 09:00")
    assert later.board.iloc[0]["next_window"] == "Appeal filing"
    assert later._row_classes(later.board.iloc[0]) == []
    # every window passed: overdue, in red
    late = DenialsDashboard(dashboard.session, as_of="2027-06-01 09:00")
    assert all(late._row_classes(row) == ["pa-overdue"] for _, row in late.board.iterrows())
    assert "4 overdue" in late.header.value


def test_filters_narrow_the_board(dashboard: DenialsDashboard) -> None:
    dashboard.window.value = "External review"
    assert dashboard.table.frame["request_id"].tolist() == ["LT-EXTERNAL"]
    dashboard.window.value = "(all)"
    dashboard.payer.value = "Lakeshore Medicare Advantage"
    assert dashboard.table.frame["request_id"].tolist() == ["LT-URGENT"]


def test_open_offers_only_the_kinds_that_fit_and_says_why_not(
        dashboard: DenialsDashboard) -> None:
    open_request(dashboard, "LT-EXTERNAL")
    form = dashboard.letter
    assert [key for _, key in form.kind.options] == ["external-review"]
    assert "external review" in form.title.value.lower() or "LT-EXTERNAL" in form.title.value
    assert "already upheld" in form.unavailable.value
    assert dashboard.tabs.selected_index == 1


def test_preview_names_empty_fields_then_shows_the_letter(dashboard: DenialsDashboard) -> None:
    open_request(dashboard, "LT-APPEAL")
    form = dashboard.letter
    form.kind.value = "appeal"
    assert form.preview_letter() is None
    assert "3 field(s) are empty" in form.feedback.value
    assert "Answer to the denial reason" in form.feedback.value  # the form's own label
    fill(dashboard, SUPPLIED["appeal"])
    text = form.preview_letter()
    assert text is not None
    assert "Medication history" in text
    assert "Medication history" in form.preview.value
    assert not list((dashboard.session.path.parent).glob("letters_out/*"))  # preview writes no file


def test_make_writes_records_and_offers_the_download(dashboard: DenialsDashboard) -> None:
    open_request(dashboard, "LT-URGENT")
    form = dashboard.letter
    form.kind.value = "expedited-appeal"
    fill(dashboard, SUPPLIED["expedited-appeal"])
    data = form.make_letter()
    assert data is not None
    made = (dashboard.session.path.parent / "letters_out"
            / "LT-URGENT_expedited-appeal_2026-11-28.docx")
    assert made.read_bytes() == data
    link = re.search(r'href="data:[^;]+;base64,([^"]+)"', form.download.value)
    assert link is not None
    assert base64.b64decode(link.group(1)) == data
    assert "DAS28 5.6" in letter_text(data)
    history = load_tracker(dashboard.session.path).frames["History"]
    assert history[["request_id", "field", "new_value", "by"]].values.tolist() == [
        ["LT-URGENT", "letter:expedited-appeal", made.name, "ana"]]
    assert "recorded it in the History sheet" in form.feedback.value


def test_a_letter_made_while_excel_opened_the_tracker_is_offered_and_flagged(
        dashboard: DenialsDashboard, monkeypatch: pytest.MonkeyPatch) -> None:
    import patoolkit.tracker.edit

    open_request(dashboard, "LT-URGENT")
    form = dashboard.letter
    form.kind.value = "expedited-appeal"
    fill(dashboard, SUPPLIED["expedited-appeal"])
    path = dashboard.session.path
    checked = patoolkit.tracker.edit.check_writable

    def then_opened_in_excel(*args: object) -> None:
        checked(*args)  # type: ignore[arg-type]
        path.with_name(f".~lock.{path.name}#").write_text("x")  # right after the check

    monkeypatch.setattr(patoolkit.tracker.edit, "check_writable", then_opened_in_excel)
    data = form.make_letter()
    assert data is not None
    assert "NOT recorded in the History sheet" in form.feedback.value
    assert "because the tracker was opened in Excel or LibreOffice" in form.feedback.value
    assert "Save again" not in form.feedback.value  # the form has no Save button
    assert "download" in form.download.value.lower()
    assert load_tracker(path).frames["History"].empty


def test_a_letter_is_refused_while_the_tracker_is_open_in_excel(
        dashboard: DenialsDashboard) -> None:
    open_request(dashboard, "LT-URGENT")
    form = dashboard.letter
    form.kind.value = "expedited-appeal"
    fill(dashboard, SUPPLIED["expedited-appeal"])
    path = dashboard.session.path
    path.with_name(f"~${path.name}").write_text("x")
    assert form.make_letter() is None
    assert "open in Excel or LibreOffice. Close it there, then try again" in \
        form.feedback.value
    assert not (path.parent / "letters_out").exists()


def test_typed_fields_follow_the_kind_but_not_another_request(
        dashboard: DenialsDashboard) -> None:
    open_request(dashboard, "LT-P2P")
    form = dashboard.letter
    form.kind.value = "appeal"
    form.inputs["clinical_rationale"].value = "Lee: MRI shows L5 radiculopathy"
    form.kind.value = "expedited-appeal"  # same patient, another letter: what was typed stays
    assert form.inputs["clinical_rationale"].value == "Lee: MRI shows L5 radiculopathy"
    open_request(dashboard, "LT-APPEAL")  # another patient: a clean form
    assert form.kind.value == "expedited-appeal"
    assert all(widget.value == "" for widget in form.inputs.values())


def test_a_page_left_open_overnight_dates_letters_from_the_new_day(
        dashboard: DenialsDashboard) -> None:
    import pandas as pd

    first = dashboard.maker()
    assert dashboard.maker() is first  # the same day and tracker: made once
    dashboard.fixed_now = AS_OF + pd.Timedelta(days=1)
    assert dashboard.maker().now.date() == (AS_OF + pd.Timedelta(days=1)).date()


def test_medical_necessity_asks_evidence_for_each_criteria_item(tmp_path: Path) -> None:
    path = build_letter_tracker(tmp_path / "t.xlsx")
    dashboard = DenialsDashboard(TrackerSession(path), as_of=str(AS_OF))
    dashboard.open_row({"request_id": "LT-LMN"})
    assert list(dashboard.letter.evidence) == ["Diagnosis", "Prior imaging results",
                                               "Conservative treatment tried"]
    fill(dashboard, SUPPLIED["medical-necessity"])
    text = dashboard.letter.preview_letter()
    assert text is not None
    assert "Prior imaging results | X-ray report, Oct 2" in text


def test_batch_makes_letters_with_progress_and_a_report(dashboard: DenialsDashboard) -> None:
    dashboard.open_row({"request_id": "LT-APPEAL"})
    dashboard.letter.kind.value = "appeal"
    fill(dashboard, SUPPLIED["appeal"])
    dashboard.batch_kind.value = "appeal"
    dashboard.plan_batch()
    dashboard.confirm_batch()
    assert dashboard.progress.bar.value == dashboard.progress.bar.max == 4
    assert dashboard.progress.result == "1 letter made; 3 skipped (see the list)."
    report = dashboard.batch_report.value
    # the appeal text was typed for LT-APPEAL: the other denials' letters need their own
    assert "1 letter(s) made" in report
    assert "3 skipped" in report
    assert "LT-EXTERNAL: no first-level appeal" in report
    assert "LT-P2P: needs &#x27;Clinical summary&#x27;" in report
    assert report.count('class="pa-download"') == 1
    assert load_tracker(dashboard.session.path).frames["History"]["request_id"].tolist() == [
        "LT-APPEAL"]


def five_denials(folder: Path, client: bool = False) -> DenialsDashboard:
    """Five denials; MARKER typed for LT-DENIAL-3 on the Letter tab, and the call window."""
    path = build_denials_tracker(folder / "denials.xlsx")
    if client:  # a client's P2P template whose points are optional: every letter is made
        import openpyxl

        optional_points_template(folder / "client")
        book = openpyxl.load_workbook(path)
        book["Settings"].append(["letter_templates_folder", "client"])
        book.save(path)
    dashboard = DenialsDashboard(TrackerSession(path, user="ana"), as_of=str(AS_OF))
    open_request(dashboard, "LT-DENIAL-3")
    dashboard.letter.kind.value = "p2p"
    fill(dashboard, {"availability": CALL, "discussion_points": [MARKER]})
    dashboard.batch_kind.value = "p2p"
    return dashboard


def made_letters(dashboard: DenialsDashboard) -> dict[str, str]:
    return letters_in(dashboard.session.path.parent / "letters_out")


def test_a_batch_lists_each_letter_first_and_keeps_the_typed_text_to_its_patient(
        tmp_path: Path) -> None:
    dashboard = five_denials(tmp_path)
    plan = dashboard.plan_batch()
    assert plan is not None
    shown = dashboard.batch_plan.value
    assert "1 peer-to-peer review request letter(s) to make" in shown
    assert "4 to skip" in shown
    assert "Nothing is written until you Confirm" in shown
    assert f"When the ordering provider is available for the call</b>: {CALL}" in shown
    made = re.findall(r'<li class="pa-batch-letter"><b>([^<]+)</b>(.*?)</li></ul></li>', shown)
    assert [request for request, _ in made] == ["LT-DENIAL-3"]
    assert "this patient's own fields" in made[0][1]
    assert MARKER in made[0][1]
    assert shown.count(MARKER) == 1  # listed once, under its own request
    skipped = re.findall(r'<li class="pa-batch-skip"><b>([^<]+)</b>: ([^<]+)</li>', shown)
    assert [request for request, _ in skipped] == [
        "LT-DENIAL-1", "LT-DENIAL-2", "LT-DENIAL-4", "LT-DENIAL-5"]
    assert all(why.startswith("needs &#x27;Points the provider will raise&#x27; for this "
                              "patient; make it on its own from the Letter tab")
               for _, why in skipped)
    assert not (dashboard.session.path.parent / "letters_out").exists()  # listed, not made
    assert not dashboard.confirm_button.disabled
    assert dashboard.confirm_button.description == "Confirm: make 1 letter(s)"
    dashboard.confirm_button.click()
    letters = made_letters(dashboard)
    assert list(letters) == ["LT-DENIAL-3"]
    assert MARKER in letters["LT-DENIAL-3"]
    assert "1 letter(s) made" in dashboard.batch_report.value
    assert "LT-DENIAL-5: needs" in dashboard.batch_report.value
    assert dashboard.confirm_button.disabled  # made once; list again for more


def test_the_typed_text_reaches_no_other_letter_of_a_batch(tmp_path: Path) -> None:
    dashboard = five_denials(tmp_path, client=True)
    plan = dashboard.plan_batch()
    assert plan is not None
    assert [letter.request_id for letter in plan.to_make] == DENIAL_IDS
    shown = dashboard.batch_plan.value
    assert shown.count("the tracker's values and the shared fields only") == 4
    dashboard.confirm_batch()
    letters = made_letters(dashboard)
    assert sorted(letters) == DENIAL_IDS
    for request, text in letters.items():
        assert CALL in text  # about the sender: in every letter
        assert (MARKER in text) == (request == "LT-DENIAL-3"), request
    history = load_tracker(dashboard.session.path).frames["History"]
    assert sorted(history["request_id"]) == DENIAL_IDS


def test_what_confirm_makes_is_what_the_list_showed(tmp_path: Path) -> None:
    dashboard = five_denials(tmp_path, client=True)
    dashboard.plan_batch()
    dashboard.owner.value = "Lee"  # other filters: the list no longer holds
    assert dashboard.batch_plan.value == ""
    assert dashboard.confirm_button.disabled
    dashboard.confirm_batch()
    assert "Show the letters first" in dashboard.batch_report.value
    assert not (dashboard.session.path.parent / "letters_out").exists()
    dashboard.owner.value = "(all)"
    dashboard.plan_batch()
    dashboard.letter.inputs["discussion_points"].value = "typed after the list was shown"
    dashboard.confirm_batch()
    letters = made_letters(dashboard)
    assert MARKER in letters["LT-DENIAL-3"]
    assert not any("typed after the list" in text for text in letters.values())


def test_another_kind_on_the_letter_tab_gives_the_batch_nothing(tmp_path: Path) -> None:
    dashboard = five_denials(tmp_path)
    dashboard.batch_kind.value = "appeal"
    plan = dashboard.plan_batch()
    assert plan is not None
    assert plan.shared == {}
    assert plan.to_make == []
    assert MARKER not in dashboard.batch_plan.value
    assert dashboard.confirm_button.disabled


def test_denials_app_on_an_unusable_tracker_is_a_friendly_page(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a workbook")
    page = denials_app(str(broken))
    assert "Traceback" not in page.value
    assert "broken.xlsx" in page.value


def test_recording_a_p2p_request_moves_the_denial_on_the_board(
        dashboard: DenialsDashboard) -> None:
    open_request(dashboard, "LT-P2P")
    detail = dashboard.detail
    detail.open_step("appeal")  # Peer-to-peer and appeal
    p2p_requested = detail.form.children[1]  # the step's first field: p2p_requested_date
    p2p_requested.value = "2026-11-28"  # type: ignore[attr-defined]
    detail.form.children[-1].children[0].click()  # Save: shows what will change
    detail.form.children[-1].children[0].click()  # Confirm: writes through the safe writer
    assert "Saved" in detail.feedback.value
    row = dashboard.board[dashboard.board["request_id"] == "LT-P2P"].iloc[0]
    assert row["stage"] == "P2P requested"
    assert row["next_window"] == "Appeal filing"  # the P2P window is used
    history = load_tracker(dashboard.session.path).frames["History"]
    assert "p2p_requested_date" in set(history["field"])


def test_a_late_appeal_is_offered_and_the_page_says_the_filing_is_late(
        dashboard: DenialsDashboard) -> None:
    """Issue 15: a passed filing deadline does not refuse the appeal letter; the page says the
    filing is late and the letter carries the good-cause paragraph (42 CFR 422.582(c) for
    Medicare Advantage; Summit is Commercial: the plan's discretion)."""
    late = DenialsDashboard(dashboard.session, as_of="2027-06-01 09:00")
    row = late.board[late.board["request_id"] == "LT-APPEAL"].iloc[0]
    assert row["stage"] == "Appeal filing late: good cause needed"
    open_request(late, "LT-APPEAL")
    form = late.letter
    assert "appeal" in [key for _, key in form.kind.options]
    assert "the filing is late" in form.feedback.value
    assert "May 24, 2027" in form.feedback.value
    form.kind.value = "appeal"
    assert "good_cause" in form.inputs
    fill(late, {**SUPPLIED["appeal"], "good_cause": "The notice reached us on 2027-05-30."})
    text = form.preview_letter()
    assert text is not None
    assert "Good cause for filing after the appeal period" in text
    assert "The notice reached us on 2027-05-30." in text


def test_skipped_letters_say_what_to_fill_in_the_pages_words(tmp_path: Path) -> None:
    """The letters module tells a command-line user `--set availability=...`; the page
    says which field of the Letter tab to fill, by its label."""
    dashboard = five_denials(tmp_path, client=True)  # the points are optional there
    dashboard.letter.inputs["availability"].value = ""  # the call window left empty
    plan = dashboard.plan_batch()
    assert plan is not None
    assert plan.to_skip
    assert any("--set" in str(letter.why) for letter in plan.to_skip)  # the CLI's words
    shown = dashboard.batch_plan.value
    assert "--set" not in shown
    assert "fill it in on the Letter tab" in shown
    assert "availability:" not in shown  # the field's label, not its name
