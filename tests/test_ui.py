"""Dashboard logic driven as a user would, without a kernel: set .value, .click(), read widgets."""

from __future__ import annotations

import datetime as dt
import html
import shutil
from pathlib import Path

import ipywidgets as widgets
import openpyxl
import pandas as pd
import pytest

from conftest import SAMPLE_TRACKER
from patoolkit import load_tracker
from patoolkit.ui import (
    ClientSetup,
    IntakeForm,
    TodayDashboard,
    TrackerSession,
    intake_app,
    payer_rules_table,
    today_app,
)
from patoolkit.ui.detail import status_after

AS_OF = "2026-12-01 09:00"


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    path = tmp_path / "pa_tracker.xlsx"
    shutil.copy2(SAMPLE_TRACKER, path)
    return path


@pytest.fixture
def today(sample_copy: Path) -> TodayDashboard:
    return TodayDashboard(TrackerSession(sample_copy, user="tester"), as_of=AS_OF)


def count_of(dashboard: TodayDashboard, key: str) -> int:
    return int(dashboard.count_buttons[key].description.rsplit(":", 1)[1])


def shown_total(dashboard: TodayDashboard) -> int:
    return len(dashboard.table.frame)


def test_counts_match_the_worklist_and_filter_the_table(today: TodayDashboard) -> None:
    everything = shown_total(today)
    assert everything == len(today.actions) > 0
    assert count_of(today, "overdue") == int((today.actions["days_left"] < 0).sum())
    today.count_buttons["p2p"].click()
    assert shown_total(today) == count_of(today, "p2p")
    assert set(today.table.frame["action_key"]) == {"request_p2p"}
    assert today.count_buttons["p2p"].button_style == "info"
    today.count_buttons["p2p"].click()  # a second click clears it
    assert shown_total(today) == everything


def test_filters_narrow_and_clear(today: TodayDashboard) -> None:
    owner = today.owner.options[1]
    today.owner.value = owner
    assert 0 < shown_total(today) < len(today.actions)
    assert set(today.table.frame["owner"]) == {owner}
    payer = today.payer.options[1]
    today.payer.value = payer
    assert set(today.table.frame["payer"]) <= {payer}
    today.due_from.value = dt.date(2030, 1, 1)
    assert shown_total(today) == 0
    assert "Nothing to show" in today.table.message
    today.clear_filters()
    assert shown_total(today) == len(today.actions)


def test_table_pages_and_sorts(today: TodayDashboard) -> None:
    assert "Showing 1–15 of" in today.table.status.value
    assert today.table.previous.disabled
    first_page = today.table.visible_request_ids
    today.table.next.click()
    assert today.table.visible_request_ids != first_page
    today.table.sort.value = "payer"
    payers = list(today.table.frame["payer"])
    assert payers == sorted(payers)
    today.table.descending.value = True
    assert list(today.table.frame["payer"]) == sorted(payers, reverse=True)


def test_a_column_heading_sorts_by_its_column_and_again_the_other_way(
        today: TodayDashboard) -> None:
    table = today.table
    table.next.click()  # a heading's sort starts from the first page
    days = table.headings["days_left_shown"]
    days.click()
    assert (table.sort.value, table.descending.value, table.page) == ("days_left_shown", False, 0)
    left = list(table.frame["days_left"])  # sorted by the number, not its text
    assert left == sorted(left)
    assert days.description.endswith("▲")
    assert not table.headings["payer"].description.endswith(("▲", "▼"))
    days.click()
    assert table.descending.value
    assert list(table.frame["days_left"]) == sorted(left, reverse=True)
    assert days.description.endswith("▼")
    payer = table.headings["payer"]
    payer.click()  # another column: from the top again
    assert (table.sort.value, table.descending.value) == ("payer", False)
    payers = list(table.frame["payer"])
    assert payers == sorted(payers)
    assert payer.description == "Payer ▲"
    assert days.description == "Days"
    # the Sort by control moves the heading's mark too
    table.sort.value = "owner"
    assert table.headings["owner"].description == "Owner ▲"
    assert payer.description == "Payer"


def test_overdue_rows_are_marked(today: TodayDashboard) -> None:
    rows = today.table.shown_rows
    frame = today.table.frame.iloc[:len(rows)]
    for row, days_left in zip(rows, frame["days_left"], strict=True):
        assert ("pa-overdue" in row._dom_classes) == (days_left < 0)


def test_record_a_status_check_writes_the_cell_and_history(today: TodayDashboard,
                                                            sample_copy: Path) -> None:
    today.action.value = "Check status"
    row = today.table.frame.iloc[0]
    today.open_row(row)
    assert today.tabs.selected_index == 1
    detail = today.detail
    assert row["request_id"] in detail.title.value
    assert "Decision due" in detail.deadlines.value
    detail.step_buttons[0].click()  # Record status check
    save = detail.form.children[-1].children[0]
    save.click()
    assert "Save these changes" in detail.form.children[0].value
    confirm = detail.form.children[-1].children[0]
    confirm.click()
    assert "Saved 1 change" in detail.feedback.value
    tracker = load_tracker(sample_copy)
    requests = tracker.requests.set_index("request_id")
    assert requests.loc[row["request_id"], "last_status_check"].date() == dt.date.today()
    history = tracker.frames["History"]
    mine = history[history["request_id"] == row["request_id"]]
    assert mine["field"].iloc[-1] == "last_status_check"
    assert mine["by"].iloc[-1] == "tester"
    assert "Last Status Check" in detail.history.value


def _colleague_saves(path: Path, request_id: str, title: str, value: object) -> bytes:
    """A colleague changes one cell of a request in Excel and saves (here: openpyxl)."""
    book = openpyxl.load_workbook(path)
    sheet = book["Requests"]
    headings = {cell.value: cell.column for cell in sheet[1]}
    row = next(cell.row for cell in sheet["A"] if cell.value == request_id)
    sheet.cell(row=row, column=headings[title], value=value)
    book.save(path)
    return path.read_bytes()


def _record_status_check(today: TodayDashboard) -> None:
    detail = today.detail
    detail.step_buttons[0].click()  # Record status check: Last Status Check, reference, notes
    detail.form.children[-1].children[0].click()  # Save
    detail.form.children[-1].children[0].click()  # Confirm


def test_a_conflicting_edit_is_explained_and_never_overwritten(today: TodayDashboard,
                                                               sample_copy: Path) -> None:
    """A colleague changed a field this save changes: nothing is written, and the page says
    which field, what it holds now and who changed it."""
    row = today.table.frame.iloc[0]
    today.open_row(row)
    colleague = _colleague_saves(sample_copy, row["request_id"], "Last Status Check",
                                 dt.datetime(2026, 11, 30, 8, 15))
    _record_status_check(today)
    detail = today.detail
    assert "Someone else saved the tracker" in detail.feedback.value
    assert "Last Status Check" in detail.feedback.value
    assert "2026-11-30 08:15" in detail.feedback.value
    assert detail.feedback.value.count("Nothing was overwritten") == 1
    assert "tracker.xlsx:" not in detail.feedback.value  # no file path in the sentence
    assert "Traceback" not in detail.feedback.value
    assert sample_copy.read_bytes() == colleague
    assert detail.reload_button.layout.display == ""
    detail.reload_button.click()
    assert "Reloaded" in detail.feedback.value
    assert today.session.fingerprint == load_tracker(sample_copy).fingerprint


def test_a_colleagues_save_of_other_fields_does_not_block_mine(today: TodayDashboard,
                                                               sample_copy: Path) -> None:
    """Row-level conflicts: a change to another field (or request) meanwhile is kept, and
    mine goes in beside it."""
    row = today.table.frame.iloc[0]
    today.open_row(row)
    _colleague_saves(sample_copy, row["request_id"], "Owner", "Colleague")
    _record_status_check(today)
    assert "Saved" in today.detail.feedback.value
    after = load_tracker(sample_copy).requests
    mine = after[after["request_id"] == row["request_id"]].iloc[0]
    assert mine["owner"] == "Colleague"
    assert not pd.isna(mine["last_status_check"])


def test_a_bad_value_in_a_step_form_is_refused_with_the_reason(today: TodayDashboard,
                                                               sample_copy: Path) -> None:
    before = sample_copy.read_bytes()
    today.open_row(today.table.frame.iloc[0])
    detail = today.detail
    detail.step_buttons[2].click()  # Record decision
    fields = {widget._dom_classes[0]: widget for widget in detail.form.children
              if isinstance(widget, widgets.Text | widgets.Dropdown)}
    fields["pa-field-decision_date"].value = "2026-02-31"
    fields["pa-field-auth_effective_date"].value = "next tuesday"
    detail.form.children[-1].children[0].click()  # Save: refused, each message by its field
    assert detail.pending is None  # no preview, no Confirm
    assert "Save these changes" not in detail.form.children[0].value
    assert "2 field(s) need correcting" in detail.feedback.value
    beside = {box._dom_classes[1]: box.value for box in detail.form.children
              if "pa-field-error" in getattr(box, "_dom_classes", ())}
    assert "not a real calendar date" in beside["pa-field-error-decision_date"]
    assert "is not a date" in beside["pa-field-error-auth_effective_date"]
    assert beside["pa-field-error-decision"] == ""
    position = [(getattr(w, "_dom_classes", ()) or ("",))[0] for w in detail.form.children]
    assert position.index("pa-field-error") == position.index("pa-field-decision") + 1
    fields["pa-field-decision_date"].value = "2026-02-27"
    fields["pa-field-auth_effective_date"].value = ""
    detail.form.children[-1].children[0].click()  # corrected: the preview
    assert "Save these changes" in detail.form.children[0].value
    assert "not a real calendar date" not in "".join(
        getattr(w, "value", "") for w in detail.form.children)
    assert sample_copy.read_bytes() == before


@pytest.mark.parametrize(("name", "old", "new", "words", "why"), [
    ("notes", "2026-11-30: called", "2026-11-30: called\n2026-12-01: faxed notes",
     "Notes: added '2026-12-01: faxed notes'", "a note added, not the whole field twice"),
    ("scheduled_service_date", pd.Timestamp("2026-12-03"), pd.Timestamp("2026-12-10"),
     "Scheduled Service Date: Dec 3 → Dec 10", "dates in words, no 00:00, no quotes"),
    ("last_status_check", None, pd.Timestamp("2026-12-01 14:30"),
     "Last Status Check: set to Dec 1 14:30", "a time is kept when there is one"),
    ("payer_reference", None, "REF-1", "Payer Reference: set to 'REF-1'", "a blank filled"),
    ("denial_reason", "Not medically necessary", None,
     "Denial Reason: cleared (was 'Not medically necessary')", "a value cleared"),
    ("decision_date", pd.Timestamp("2025-12-30"), pd.Timestamp("2026-01-02"),
     "Decision Date: Dec 30 2025 → Jan 2", "the year only when it is not this one"),
])
def test_the_change_preview_is_in_plain_words(name: str, old: object, new: object, words: str,
                                              why: str) -> None:
    from patoolkit.ui.detail import change_words

    assert change_words(name, old, new, today=dt.date(2026, 12, 1)) == words, why


@pytest.mark.parametrize(("step", "values", "status"), [
    ("info_request", {"info_requested_at": "2026-11-30"}, "Info Requested"),
    ("info_request", {"info_requested_at": "2026-11-30", "info_responded_at": "2026-12-01"},
     "Submitted"),
    ("decision", {"decision": "Denied"}, "Denied"),
    ("appeal", {"p2p_requested_date": "2026-12-01"}, "P2P Requested"),
    ("appeal", {"appeal_submitted_date": "2026-12-01"}, "Appeal Submitted"),
    ("appeal", {"appeal_outcome": "Overturned"}, "Overturned"),
    ("status_check", {"last_status_check": "2026-12-01"}, None),
])
def test_each_step_moves_the_status(step: str, values: dict[str, str], status: str | None) -> None:
    assert status_after(step, values) == status


def _shown_steps(today: TodayDashboard) -> list[str]:
    from patoolkit.transitions import STEP_KEYS

    return [key for key, button in zip(STEP_KEYS, today.detail.step_buttons, strict=True)
            if button.layout.display != "none"]


def test_the_detail_offers_the_steps_of_the_requests_status_and_submission_sends_it(
        today: TodayDashboard, sample_copy: Path) -> None:
    """A request not yet sent offers Record submission, which moves it to Submitted; once
    sent the step is gone; a closed request offers only Edit fields."""
    from patoolkit.transitions import STEP_KEYS, offered_steps

    requests = today.session.tracker.requests
    unsent = requests[requests["status"].isin(["Documentation", "Not Started"])
                      & requests["submitted_at"].isna()].iloc[0]
    closed = requests[requests["status"] == "Closed"].iloc[0]
    today.open_request(str(closed["request_id"]))
    assert _shown_steps(today) == ["edit"]
    today.open_request(str(unsent["request_id"]))
    assert _shown_steps(today) == list(offered_steps(unsent["status"]))
    assert "submission" in _shown_steps(today)
    detail = today.detail
    detail.step_buttons[STEP_KEYS.index("submission")].click()
    detail.form.children[-1].children[0].click()  # Save: the preview
    preview = html.unescape(detail.form.children[0].value)
    assert f"Status: '{unsent['status']}' → 'Submitted'" in preview
    detail.form.children[-1].children[0].click()  # Confirm
    assert "Saved" in detail.feedback.value
    saved = load_tracker(sample_copy).requests.set_index("request_id").loc[
        unsent["request_id"]]
    assert saved["status"] == "Submitted"
    assert saved["submitted_at"].date() == dt.date.today()  # filled in with now
    assert "submission" not in _shown_steps(today), "sent: the page offers the next steps"


def test_intake_answers_as_it_is_filled_and_saves_a_draft(sample_copy: Path) -> None:
    form = IntakeForm(TrackerSession(sample_copy, user="front desk"), today=dt.date(2026, 12, 1))
    form.inputs["patient_id"].value = "P777777"
    form.inputs["payer"].value = "Summit Health Plan"
    form.inputs["plan_type"].value = "Commercial"
    form.inputs["codes"].value = "70551"
    form.inputs["service_category"].value = "Advanced Imaging"
    assert "PA required: Yes" in form.checks.value
    assert "PA Rules row" in form.checks.value
    assert "decision is due" in form.checks.value
    assert form.boxes, "the Criteria checklist appears"
    assert any("documents missing" in blocker for blocker in form.blockers)
    form.inputs["codes"].value = "7055"
    assert "is not a CPT code" in form.checks.value
    form.inputs["codes"].value = "70551"
    for box in form.boxes.values():
        box.value = True
    assert not any("documents missing" in blocker for blocker in form.blockers)
    form.inputs["scheduled_service_date"].value = dt.date(2026, 12, 3)
    assert "at risk" in form.checks.value
    form.save()
    assert "Saved PA-2026-" in form.feedback.value
    saved = load_tracker(sample_copy).requests.iloc[-1]
    assert saved["patient_id"] == "P777777"
    assert saved["pa_required"] == "Yes"
    assert saved["docs_complete"] == "Yes"
    assert saved["requirement_checked_date"].date() == dt.date(2026, 12, 1)


def test_intake_needs_a_patient_and_a_payer(sample_copy: Path) -> None:
    before = sample_copy.read_bytes()
    form = IntakeForm(TrackerSession(sample_copy))
    form.save()
    assert "patient ID and the payer" in form.feedback.value
    assert sample_copy.read_bytes() == before


def test_intake_flags_a_provider_not_enrolled(sample_copy: Path) -> None:
    tracker = load_tracker(sample_copy)
    providers = tracker.frames["Providers"]
    pending = providers[providers["enrollment_status"] == "Pending"].iloc[0]
    form = IntakeForm(TrackerSession(sample_copy))
    form.inputs["payer"].value = pending["payer"]
    form.inputs["ordering_npi"].value = pending["npi"]
    assert "Pending" in form.checks.value
    assert any("Pending" in blocker for blocker in form.blockers)


def test_client_setup_checks_and_shows_payer_rules(sample_copy: Path, tmp_path: Path) -> None:
    setup = ClientSetup(str(sample_copy))
    assert "300 requests" in setup.report.value
    assert "CMS-0057-F" in setup.rules.value
    setup.new_path.value = str(tmp_path / "client.xlsx")
    setup.create.click()
    assert "Created" in setup.create_feedback.value
    assert load_tracker(tmp_path / "client.xlsx").ok
    setup.create.click()  # never overwrites
    assert "already exists" in setup.create_feedback.value


def test_payer_rules_table_has_every_payer_with_its_basis(sample_copy: Path) -> None:
    tracker = load_tracker(sample_copy)
    table = payer_rules_table(tracker, dt.date(2026, 12, 1))
    assert len(table) == len(tracker.frames["Payers"].dropna(subset=["payer"]))
    medicare_advantage = table[table["Plan type"] == "Medicare Advantage"].iloc[0]
    assert "7 calendar days" in medicare_advantage["Standard decision"]
    # issue 15: drugs, the extension limit and the later levels, each with its basis
    assert "Part B drug, standard: 72 hours" in medicare_advantage["Standard drug decision"]
    assert "14 calendar days of extension" in medicare_advantage["Extension"]
    assert "65 calendar days" in medicare_advantage["Appeal filing"]
    assert "42 CFR 422.590(a)" in medicare_advantage["Appeal decision"]
    medicaid = table[table["Plan type"] == "Medicaid Managed Care"].iloc[0]
    assert "rating period from 2026-07-01 (Payers sheet)" in medicaid["Standard decision"]
    assert "438.408(f)(2)" in medicaid["State fair hearing"]
    summit = table[table["Payer"] == "Summit Health Plan"].iloc[0]
    assert "7 business days" in summit["Standard decision"]  # a State law, from 2026-07-01
    assert "15 calendar days of extension" in summit["Extension"]  # one, ERISA


def test_an_unusable_tracker_gets_a_friendly_page(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_text("patient,payer\n")
    for app in (today_app, intake_app):
        page = app(str(broken))
        assert "pa-unusable" in page._dom_classes
        assert "could not be opened" in page.value
        assert "CSV" in page.value
        assert "Traceback" not in page.value


def test_counts_follow_the_filters(today: TodayDashboard) -> None:
    owner = today.owner.options[1]
    today.owner.value = owner
    mine = today.actions[today.actions["owner"] == owner]
    assert count_of(today, "overdue") == int((mine["days_left"] < 0).sum())
    assert count_of(today, "p2p") == int((mine["action_key"] == "request_p2p").sum())


def test_intake_clears_after_saving_so_a_second_click_saves_nothing(sample_copy: Path) -> None:
    form = IntakeForm(TrackerSession(sample_copy))
    form.inputs["patient_id"].value = "PONCE"
    form.inputs["payer"].value = "Summit Health Plan"
    form.save()
    form.save()
    requests = load_tracker(sample_copy).requests
    assert (requests["patient_id"] == "PONCE").sum() == 1
    assert form.inputs["patient_id"].value == ""
    assert "patient ID and the payer" in form.feedback.value


def test_met_deadlines_are_not_shown_as_overdue(today: TodayDashboard) -> None:
    requests = today.session.tracker.requests
    decided = requests[requests["decision_date"].notna()].iloc[0]
    today.detail.show(str(decided["request_id"]))
    rows = today.detail.deadlines.value.split("<tr>")
    decision_row = next(row for row in rows if row.startswith("<th>Decision due"))
    assert "pa-overdue-text" not in decision_row


def test_a_tracker_with_problems_shows_the_check_report(sample_copy: Path) -> None:
    book = openpyxl.load_workbook(sample_copy)
    book["Requests"]["A3"] = book["Requests"]["A2"].value  # a duplicate request_id
    book.save(sample_copy)
    dashboard = TodayDashboard(TrackerSession(sample_copy), as_of=AS_OF)
    assert dashboard.problems.layout.display == ""
    assert "duplicate request_id" in dashboard.problems.children[0].value
    assert "1 error(s)" in dashboard.problems.get_title(0)
    assert "1 problem(s) in the tracker" in dashboard.header.value


def test_a_page_that_fails_to_build_says_what_and_where_never_a_cell_error(
        sample_copy: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import patoolkit.ui as ui

    book = openpyxl.load_workbook(sample_copy)
    book["Requests"]["A5"] = None  # a blank request ID: the likely cause to show
    book.save(sample_copy)

    def fail(*args: object, **kwargs: object) -> None:
        raise TypeError("boolean value of NA is ambiguous")

    monkeypatch.setattr(ui.TodayDashboard, "__init__", fail)
    page = ui.today_app(str(sample_copy), as_of=AS_OF)
    assert "pa-unusable" in page._dom_classes
    assert "This page could not be shown" in page.value
    assert "Something went wrong (reference" in page.value
    assert "TypeError" not in page.value  # a class name means nothing to a practice manager
    assert "<td>Requests</td><td>5</td><td>Request ID</td>" in page.value  # where to fix it
    assert "Traceback" not in page.value
    assert "ambiguous" not in page.value
    reference = page.value.split("reference ", 1)[1][:8]
    assert any(reference in record.getMessage() for record in caplog.records)


def test_reload_with_the_tracker_gone_says_so_in_the_page(today: TodayDashboard,
                                                          sample_copy: Path) -> None:
    sample_copy.unlink()
    today.reload_button.click()
    assert "no such file" in today.feedback.value
    assert "pa-error" in today.feedback.value


def test_reload_after_the_tracker_is_back_says_so_and_clears_the_problem(
        today: TodayDashboard, sample_copy: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.xlsx"
    sample_copy.rename(kept)
    today.reload_button.click()
    assert "no such file" in today.feedback.value
    kept.rename(sample_copy)
    today.reload_button.click()
    assert "no such file" not in today.feedback.value
    assert "Reloaded pa_tracker.xlsx" in today.feedback.value


def test_a_save_refreshes_the_page_from_memory_exactly_as_a_reload_would(
        sample_copy: Path) -> None:
    """Only the changed request is refreshed (the file is not read again), and what the
    page then holds is what a full reload reads: the row, History and the fingerprint."""
    from unittest import mock

    from patoolkit.ui.common import TrackerSession

    session = TrackerSession(sample_copy, user="tester")
    request_id = str(session.tracker.requests["request_id"].iloc[4])
    with mock.patch("patoolkit.ui.common.load_tracker",
                    side_effect=AssertionError("reloaded")):
        session.update(request_id, {"owner": "Pat", "last_status_check": "2026-11-30 10:00",
                                    "units_used": 2})
    fresh = load_tracker(sample_copy)
    assert session.fingerprint == fresh.fingerprint
    pd.testing.assert_frame_equal(session.tracker.requests, fresh.requests)
    pd.testing.assert_frame_equal(session.tracker.frames["History"].tail(3),
                                  fresh.frames["History"].tail(3))
    # someone else saved meanwhile: the page reloads instead (their change shows too)
    _colleague_saves(sample_copy, request_id, "Notes", "by a colleague")
    session.update(request_id, {"owner": "Sam"})
    row = session.tracker.requests.set_index("request_id").loc[request_id]
    assert (row["owner"], row["notes"]) == ("Sam", "by a colleague")


def test_a_value_the_page_could_not_read_can_be_fixed_from_the_page(sample_copy: Path) -> None:
    """'Aproved' and 'next tuesday' read as blank on the page; saving a fix is not a
    conflict with what the file holds (it is the same unreadable value)."""
    from patoolkit.ui.common import TrackerSession

    request_id = str(load_tracker(sample_copy).requests["request_id"].iloc[2])
    _colleague_saves(sample_copy, request_id, "Status", "Aproved")
    _colleague_saves(sample_copy, request_id, "Decision Date", "next tuesday")
    session = TrackerSession(sample_copy, user="tester")
    row = session.tracker.requests.set_index("request_id").loc[request_id]
    assert pd.isna(row["status"])
    assert pd.isna(row["decision_date"])
    session.update(request_id, {"status": "Approved", "decision_date": "2026-11-20"})
    fixed = load_tracker(sample_copy).requests.set_index("request_id").loc[request_id]
    assert fixed["status"] == "Approved"
    assert str(fixed["decision_date"])[:10] == "2026-11-20"


def test_dates_without_a_time_show_no_midnight() -> None:
    from patoolkit.ui.common import fmt

    assert fmt("2026-12-03 00:00:00") == "2026-12-03"  # History's text of a date
    assert fmt(pd.Timestamp("2026-12-03")) == "2026-12-03"
    assert fmt("2026-12-03 14:30") == "2026-12-03 14:30"
    assert fmt("room 00:00 booked") == "room 00:00 booked"


def test_detail_shows_the_later_levels_with_their_basis(today: TodayDashboard) -> None:
    """Issue 15: appeal_decision_due (and the other new deadlines) with their basis; a decided
    appeal's decision due is history, not overdue."""
    requests = today.session.tracker.requests
    appealed = requests[requests["appeal_submitted_date"].notna()
                        & requests["appeal_decision_date"].notna()
                        & requests["plan_type"].isin(["Commercial", "Medicare Advantage",
                                                      "Medicaid Managed Care"])].iloc[0]
    today.detail.show(str(appealed["request_id"]))
    rows = today.detail.deadlines.value.split("<tr>")
    due_row = next(row for row in rows if row.startswith("<th>Appeal decision due"))
    assert "pa-overdue-text" not in due_row
    assert "from the appeal&#x27;s filing" in due_row  # escaped HTML


@pytest.mark.parametrize(("changes", "why"), [
    ({"last_status_check": "2026-12-01 08:30"}, "a status check moves the next check"),
    ({"status": "Denied", "decision": "Denied", "decision_date": "2026-11-30"},
     "a decision: P2P and appeal rows come, the status check goes"),
    ({"scheduled_service_date": "2026-12-02"}, "a service date moved to tomorrow"),
    ({"owner": "Someone New"}, "a new owner: in the Owner filter too"),
    ({"status": "Withdrawn"}, "withdrawn: the request's rows go"),
])
def test_a_save_recomputes_the_saved_requests_rows_only_and_equals_a_full_recompute(
        today: TodayDashboard, sample_copy: Path, changes: dict[str, object],
        why: str) -> None:
    """After a save, Today splices the saved request's rows into its worklist instead of
    recomputing every request, and updates the table's row widgets in place: the result is
    the worklist a fresh page on the saved file shows, rows and order, and no other
    request's row changes."""
    from unittest import mock

    today.table.next.click()  # on page 2: a save keeps the page
    lines_before = list(today.table.lines)
    before = today.actions.copy()
    request_id = str(today.table.frame["request_id"].iloc[0])
    with mock.patch("patoolkit.ui.today.worklist_for",
                    side_effect=AssertionError("recomputed the whole worklist")):
        today.session.update(request_id, changes)
    fresh_page = TodayDashboard(TrackerSession(sample_copy, user="tester"), as_of=AS_OF)
    pd.testing.assert_frame_equal(today.actions, fresh_page.actions)
    others = before[before["request_id"] != request_id]
    after_others = today.actions[today.actions["request_id"] != request_id]
    pd.testing.assert_frame_equal(
        others.drop(columns="clock_order").sort_values(["row", "action_key"])
        .reset_index(drop=True),
        after_others.drop(columns="clock_order").sort_values(["row", "action_key"])
        .reset_index(drop=True))
    assert today.table.page == 1
    assert today.table.lines[:len(lines_before)] == lines_before  # the same widgets, redrawn
    assert list(today.owner.options) == list(fresh_page.owner.options)
    cells = [row.children[-1].value for row in today.table.shown_rows]
    fresh_page.table.next.click()
    assert cells == [row.children[-1].value for row in fresh_page.table.shown_rows]


def test_a_save_on_a_worklist_computed_on_another_day_recomputes_it_all(
        sample_copy: Path) -> None:
    """A page left open overnight (or longer than FRESH_FOR) is recomputed whole at the next
    save, as of now, not spliced into yesterday's rows."""
    from unittest import mock

    from patoolkit.ui import today as today_module

    dashboard = TodayDashboard(TrackerSession(sample_copy, user="tester"))
    dashboard.as_of = dashboard.as_of - pd.Timedelta(days=1)
    request_id = str(dashboard.actions["request_id"].iloc[0])
    with mock.patch.object(today_module, "worklist_for",
                           wraps=today_module.worklist_for) as full:
        dashboard.session.update(request_id, {"owner": "Pat"})
    assert full.call_count == 1
    assert dashboard.as_of.normalize() == pd.Timestamp.now().normalize()


# Pre-heated pages (Voila's pool) are built before anyone opens them: when the page is
# shown (PageShown sets its hidden box to the address's query), what it shows is checked.
def test_a_page_shown_on_a_later_day_than_it_was_built_computes_it_again(
        sample_copy: Path) -> None:
    from unittest import mock

    from patoolkit.ui import today as today_module

    dashboard = TodayDashboard(TrackerSession(sample_copy, user="tester"))
    with mock.patch.object(today_module, "worklist_for",
                           wraps=today_module.worklist_for) as full:
        dashboard.page_shown.box.value = "?"  # shown the day it was built: kept
        assert full.call_count == 0
        dashboard.page_shown.box.value = ""
        dashboard.as_of = dashboard.as_of - pd.Timedelta(days=1)  # built yesterday
        dashboard.page_shown.box.value = "?"
        assert full.call_count == 1
    assert dashboard.as_of.normalize() == pd.Timestamp.now().normalize()
    assert f"as of {dashboard.as_of:%Y-%m-%d %H:%M}" in dashboard.header.value


def test_a_page_shown_after_someone_saved_reads_the_tracker_again(sample_copy: Path) -> None:
    dashboard = TodayDashboard(TrackerSession(sample_copy, user="tester"), as_of=AS_OF)
    request_id = str(dashboard.actions["request_id"].iloc[0])
    _colleague_saves(sample_copy, request_id, "Owner", "Colleague")
    dashboard.shown("")
    owners = dashboard.actions.loc[dashboard.actions["request_id"] == request_id, "owner"]
    assert set(owners) == {"Colleague"}
    assert dashboard.session.fingerprint == load_tracker(sample_copy).fingerprint


def test_a_page_shown_with_a_search_in_its_address_types_it_in(today: TodayDashboard) -> None:
    request_id = str(today.actions["request_id"].iloc[0])
    today.page_shown.box.value = f"?q={request_id}&token=abc"
    assert today.search.box.value == request_id
    assert request_id in set(today.search.found["request_id"])


def test_denials_shown_on_a_later_day_computes_the_board_again(sample_copy: Path) -> None:
    from patoolkit.ui import DenialsDashboard

    denials = DenialsDashboard(TrackerSession(sample_copy, user="tester"))
    denials.built_at = denials.built_at - pd.Timedelta(days=1)
    denials.page_shown.box.value = "?"
    assert denials.built_at.normalize() == pd.Timestamp.now().normalize()


def test_a_pre_heated_page_whose_tracker_was_unusable_tries_again_when_shown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Built in Voila's pool while the tracker was missing, the page shows the problem; the
    tracker is put back before anyone opens the page: shown, it is the dashboard."""
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    path = tmp_path / "pa_tracker.xlsx"
    page = today_app(str(path), as_of=AS_OF)
    assert "pa-unusable" in page.children[0]._dom_classes
    shutil.copy2(SAMPLE_TRACKER, path)
    shown = next(child for child in page.children[1].children
                 if "pa-shown" in child._dom_classes)
    shown.value = "?"
    assert "pa-today" in page.children[0]._dom_classes
    assert len(page.children) == 1


@pytest.mark.parametrize(("field", "value", "why"), [
    ("decision_date", "2026-11-20", "a decision answers the decision due"),
    ("scheduled_service_date", "2034-03-01", "a date that moves the calendar's years"),
])
def test_after_a_save_the_pages_deadlines_equal_a_fresh_computation(
        sample_copy: Path, field: str, value: str, why: str) -> None:
    """The session patches only the saved request's deadlines into its cache; they must be
    what deadlines_for gives on the file as saved, for every request."""
    from patoolkit.deadlines import deadlines_for
    from patoolkit.statuses import open_denial

    session = TrackerSession(sample_copy, user="tester")
    now = pd.Timestamp(AS_OF)
    before = session.deadlines(now).copy()  # cached before the save
    requests = session.tracker.requests
    row = requests.index[open_denial(requests).to_numpy()][0]  # its deadlines are live
    assert session.update(requests.loc[row, "request_id"], {field: value}), why
    fresh = deadlines_for(load_tracker(sample_copy), now)
    if field == "decision_date":  # the service date moves the calendar, not its deadlines
        assert not fresh.loc[[row]].equals(before.loc[[row]]), "the save changes its deadlines"
    pd.testing.assert_frame_equal(session.deadlines(now), fresh, obj=why)
