"""Search everywhere, the patient view, identity, busy buttons and the two clocks on Today.

Driven as a user would, without a kernel: set .value, .click(), read the widgets.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import pandas as pd
import pytest
import test_ui
from letter_cases import AS_OF as LETTER_AS_OF
from letter_cases import SUPPLIED, build_letter_tracker

from conftest import SAMPLE_TRACKER
from patoolkit import load_tracker
from patoolkit.search import SEARCHED, find_requests, patient_record
from patoolkit.tracker.read import typed_frame
from patoolkit.ui import DenialsDashboard, TodayDashboard, TrackerSession, common
from patoolkit.ui.common import ANONYMOUS, USER_STORE_KEY, UserBar, fmt, on_click
from patoolkit.ui.detail import STEPS, plain

AS_OF = test_ui.AS_OF
sample_copy = test_ui.sample_copy  # the same fixtures as test_ui
today = test_ui.today


# --- finding requests ---------------------------------------------------------------------

def requests_of(*rows: dict[str, object]) -> pd.DataFrame:
    return typed_frame("Requests", [{"payer": "Summit Health Plan", **row} for row in rows])


TWO_PATIENTS = requests_of(
    {"request_id": "PA-1", "patient_id": "P001", "patient_name": "Núñez, José",
     "member_id": "M-555-01", "auth_number": "A111", "payer_reference": "REF-9",
     "scheduled_service_date": "2026-12-10"},
    {"request_id": "PA-2", "patient_id": "P002", "patient_name": "Smith, Alex",
     "member_id": "M-777-02", "auth_number": "A222", "payer_reference": "REF-8",
     "scheduled_service_date": "2026-12-11"},
)


@pytest.mark.parametrize(("query", "expected", "why"), [
    ("PA-1", ["PA-1"], "a request ID"),
    ("p002", ["PA-2"], "a patient ID, case aside"),
    ("jose nunez", ["PA-1"], "a name, words in any order, accents and case aside"),
    ("nun", ["PA-1"], "the start of a word of the name, as typed so far"),
    ("M555", ["PA-1"], "a member ID without its punctuation"),
    ("a222", ["PA-2"], "an auth number"),
    ("ref-8", ["PA-2"], "the payer's reference"),
    ("x", [], "one keystroke finds nothing (MIN_QUERY)"),
    ("zzz", [], "nothing like it"),
    ("ose", [], "a name matches from the start of its words, not inside them"),
])
def test_find_requests_matches_each_identifier(query: str, expected: list[str], why: str) -> None:
    assert list(find_requests(TWO_PATIENTS, query)["request_id"]) == expected, why


def test_a_result_row_carries_only_its_own_requests_values() -> None:
    """Patient safety: every value of every result row is the value of that request's row."""
    tracker = load_tracker(SAMPLE_TRACKER)
    requests = tracker.requests.set_index("request_id")
    for query in ("P0000", "synthetic", "a6", "pa-2026-001", "MPB", "2026"):
        found = find_requests(tracker.requests, query, limit=None)
        assert len(found) > 0, query
        for _, row in found.iterrows():
            own = requests.loc[row["request_id"]]
            for column in ("patient_id", "patient_name", "payer", "status"):
                assert (pd.isna(row[column]) and pd.isna(own[column])) or \
                    row[column] == own[column], (query, row["request_id"], column)
            for field in row["matched"].split(", "):
                assert field in SEARCHED


def test_patient_record_holds_that_patient_only() -> None:
    tracker = load_tracker(SAMPLE_TRACKER)
    requests = tracker.requests
    patient = requests["patient_id"].value_counts().index[0]
    first = str(requests.loc[requests["patient_id"] == patient, "request_id"].iloc[0])
    record = patient_record(tracker.frames, first)
    assert record.patient_id == patient
    assert set(record.requests["patient_id"]) == {patient}
    assert len(record.requests) == int((requests["patient_id"] == patient).sum())
    ids = set(record.requests["request_id"])
    assert set(record.history["request_id"]) <= ids
    assert set(record.authorizations["request_id"]) <= ids
    left = record.authorizations["units_authorized"] - record.authorizations["units_used"] \
        .fillna(0)
    assert list(record.authorizations["units_left"]) == list(left)
    with pytest.raises(KeyError):
        patient_record(tracker.frames, "PA-NOPE")


# --- on the page --------------------------------------------------------------------------

def result_rows(panel_children: tuple[widgets.Widget, ...]) -> list[str]:
    return [row.children[2].value for row in panel_children]


def test_typing_in_the_box_lists_matches_and_opens_the_request(today: TodayDashboard) -> None:
    request_id = str(today.session.tracker.requests["request_id"].iloc[5])
    today.search.box.value = request_id
    assert "1 request(s) found" in today.search.status.value
    row = today.search.results.children[0]
    assert request_id in row.children[2].value
    row.children[0].click()  # Open
    assert today.tabs.selected_index == 1
    assert request_id in today.detail.title.value
    today.search.box.value = "q"  # too short: nothing listed
    assert today.search.results.children == ()


def test_the_patient_view_never_shows_another_patients_data(today: TodayDashboard) -> None:
    """Open patient A, then patient B: B's page holds nothing of A (names, IDs, requests,
    auth numbers), and every request listed is B's."""
    requests = today.session.tracker.requests
    counts = requests["patient_id"].value_counts()
    a, b = counts.index[0], counts.index[1]
    rows = {p: requests[requests["patient_id"] == p] for p in (a, b)}
    today.search.box.value = str(a)
    today.search.results.children[0].children[1].click()  # Patient
    assert today.tabs.selected_index == 2
    page_a = today.patient.title.value + today.patient.body.value
    assert str(rows[a]["patient_name"].iloc[0]) in html_unescape(page_a)
    today.search.box.value = str(b)
    today.search.results.children[0].children[1].click()
    page_b = html_unescape(today.patient.title.value + today.patient.body.value)
    assert str(rows[b]["patient_name"].iloc[0]) in page_b
    for value in (str(rows[a]["patient_name"].iloc[0]), str(a),
                  *map(str, rows[a]["request_id"]), *map(str, rows[a]["auth_number"].dropna()),
                  *map(str, rows[a]["member_id"].dropna())):
        assert value not in page_b, f"patient {a}'s {value!r} on patient {b}'s page"
    opens = {button.description for button in today.patient.opens.children}
    assert opens == {f"Open {value}" for value in rows[b]["request_id"]}


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_search_on_denials_opens_a_letter_and_a_patient(sample_copy: Path) -> None:
    dashboard = DenialsDashboard(TrackerSession(sample_copy, user="tester"), as_of=AS_OF)
    request_id = str(dashboard.board["request_id"].iloc[0])
    dashboard.search.box.value = request_id
    dashboard.search.results.children[0].children[0].click()
    assert dashboard.tabs.selected_index == 1
    assert request_id in dashboard.letter.title.value
    dashboard.search.results.children[0].children[1].click()
    assert dashboard.tabs.selected_index == 3
    assert request_id in dashboard.patient.body.value


# --- identity -----------------------------------------------------------------------------

def test_the_name_typed_goes_to_history_and_is_remembered_by_the_browser(
        sample_copy: Path) -> None:
    today = TodayDashboard(TrackerSession(sample_copy), as_of=AS_OF)
    assert today.session.user == ANONYMOUS
    assert "pa-user-missing" in today.user._dom_classes  # asked for
    assert USER_STORE_KEY in today.user_bar.remember.value  # the browser keeps it
    today.user.value = "  Dana Reyes "
    assert today.session.user == "Dana Reyes"
    assert "pa-user-missing" not in today.user._dom_classes
    assert "Dana Reyes" in today.user_bar.note.value
    request_id = str(today.table.frame["request_id"].iloc[0])
    today.session.update(request_id, {"owner": "Pat"})
    history = load_tracker(sample_copy).frames["History"]
    assert history["by"].iloc[-1] == "Dana Reyes"


def test_behind_jupyterhub_the_login_name_is_used(sample_copy: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(common.HUB_USER_ENV, "dreyes")
    session = TrackerSession(sample_copy)
    assert session.user == "dreyes"
    bar = UserBar(session, widgets.HTML())
    assert bar.box.value == "dreyes"
    assert bar.box.disabled
    assert bar.remember.value == ""  # nothing to remember: the login says who


def test_a_letter_made_on_denials_records_the_name_typed_there(tmp_path: Path) -> None:
    path = build_letter_tracker(tmp_path / "letters.xlsx")
    dashboard = DenialsDashboard(TrackerSession(path), as_of=str(LETTER_AS_OF))
    dashboard.user_bar.box.value = "Luis Ortega"
    board = dashboard.board
    dashboard.open_row(board[board["request_id"] == "LT-URGENT"].iloc[0])
    form = dashboard.letter
    form.kind.value = "expedited-appeal"
    for name, value in SUPPLIED["expedited-appeal"].items():
        form.inputs[name].value = "\n".join(value) if isinstance(value, list) else str(value)
    assert form.make_letter() is not None
    history = load_tracker(path).frames["History"]
    assert list(history["by"]) == ["Luis Ortega"]


# --- busy ---------------------------------------------------------------------------------

def test_a_busy_button_is_disabled_while_it_works_then_restored() -> None:
    button = widgets.Button(description="Confirm")
    seen: list[tuple[bool, str, bool]] = []
    on_click(button, lambda _: seen.append((button.disabled, button.description,
                                            "pa-busy" in button._dom_classes)),
             widgets.HTML(), busy="Saving…")
    button.click()
    assert seen == [(True, "Saving…", True)]
    assert (button.disabled, button.description) == (False, "Confirm")
    assert "pa-busy" not in button._dom_classes


def test_a_failing_busy_action_says_so_and_gives_the_button_back() -> None:
    button = widgets.Button(description="Confirm")
    where = widgets.HTML()

    def fail(_: object) -> None:
        raise common.PAToolkitError("The tracker is gone.")

    on_click(button, fail, where, busy="Saving…")
    button.click()
    assert "The tracker is gone." in where.value
    assert (button.disabled, button.description) == (False, "Confirm")


def test_confirm_on_the_detail_page_is_busy_while_it_saves(today: TodayDashboard,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    today.action.value = "Check status"
    today.open_row(today.table.frame.iloc[0])
    detail = today.detail
    detail.step_buttons[0].click()
    detail.form.children[-1].children[0].click()  # Save: the preview
    confirm = detail.form.children[-1].children[0]
    states: list[tuple[bool, str]] = []
    update = today.session.update

    def watched(*args: object, **kwargs: object) -> object:
        states.append((confirm.disabled, confirm.description))
        return update(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(today.session, "update", watched)
    confirm.click()
    assert states == [(True, "Saving…")]
    assert "Saved 1 change" in detail.feedback.value


# --- two clocks on Today ------------------------------------------------------------------

def test_today_lists_deadlines_at_risk_first_with_both_dates(today: TodayDashboard) -> None:
    frame = today.table.frame
    clocks = list(frame["clock"])
    assert clocks[0] == "deadline at risk"
    at_risk = [n for n, clock in enumerate(clocks) if clock == "deadline at risk"]
    assert at_risk == list(range(len(at_risk)))  # all of them before anything else
    first = frame.iloc[0]
    assert first["deadline_shown"].startswith(f"{first['deadline']:%b} {first['deadline'].day}")
    assert "00:00" not in " ".join(frame["deadline_shown"]) + " ".join(frame["due_shown"])
    assert first["deadline_of"] in first["deadline_shown"]
    rows = today.table.shown_rows
    assert "pa-at-risk" in rows[0]._dom_classes
    # the denial whose practice target passed weeks ago, its filing deadline months away,
    # is not at the top
    late_appeals = frame[(frame["action_key"] == "file_appeal")
                         & (frame["deadline"] - pd.Timestamp(AS_OF) > pd.Timedelta(days=60))]
    assert len(late_appeals) > 0
    assert (late_appeals["clock"] == "practice target missed").all()
    assert late_appeals.index.min() > max(at_risk)
    count = int(today.count_buttons["deadline_risk"].description.rsplit(":", 1)[1])
    assert count == len(at_risk)


# --- edit any field -----------------------------------------------------------------------

def edit_form(today: TodayDashboard, request_id: str) -> dict[str, widgets.Widget]:
    today.open_request(request_id)
    detail = today.detail
    detail.step_buttons[[key for key, _, _ in STEPS].index("edit")].click()
    return {name: widget for widget in detail.form.children
            for name in [c[len("pa-field-"):] for c in getattr(widget, "_dom_classes", ())
                         if c.startswith("pa-field-") and not c.startswith("pa-field-error")]}


def test_any_field_is_edited_with_the_right_widget_checked_previewed_and_saved(
        today: TodayDashboard, sample_copy: Path) -> None:
    requests = today.session.tracker.requests
    row = requests[requests["scheduled_service_date"].notna()].iloc[0]
    request_id = str(row["request_id"])
    fields = edit_form(today, request_id)
    assert "request_id" not in fields
    assert isinstance(fields["scheduled_service_date"], widgets.DatePicker)
    assert isinstance(fields["plan_type"], widgets.Dropdown)
    assert set(today.session.tracker.frames["Payers"]["payer"].dropna()) <= set(
        fields["payer"].options)  # type: ignore[attr-defined]
    assert isinstance(fields["units_authorized"], widgets.Text)
    detail = today.detail
    before = sample_copy.read_bytes()
    fields["units_authorized"].value = "ten"  # type: ignore[attr-defined]
    detail.form.children[-1].children[0].click()  # Save
    assert detail.pending is None
    assert "whole number" in detail.field_errors["units_authorized"].value
    assert sample_copy.read_bytes() == before
    fields["units_authorized"].value = fmt(row["units_authorized"])  # type: ignore[attr-defined]
    fields["member_id"].value = "NEW-MEMBER-1"  # type: ignore[attr-defined]
    moved = (row["scheduled_service_date"] + pd.Timedelta(days=7)).date()
    fields["scheduled_service_date"].value = moved  # type: ignore[attr-defined]
    detail.form.children[-1].children[0].click()  # Save: the preview
    preview = html_unescape(detail.form.children[0].value)
    assert f"Member ID: '{fmt(row['member_id'])}' → 'NEW-MEMBER-1'" in preview
    assert f"Scheduled Service Date: {plain(row['scheduled_service_date'])} → " \
           f"{plain(pd.Timestamp(moved))}" in preview
    assert len(detail.pending[1]) == 2  # type: ignore[index]  # nothing else changes
    detail.form.children[-1].children[0].click()  # Confirm
    assert "Saved 2 change(s)" in detail.feedback.value
    saved = load_tracker(sample_copy).requests.set_index("request_id").loc[request_id]
    assert saved["member_id"] == "NEW-MEMBER-1"
    assert saved["scheduled_service_date"] == pd.Timestamp(moved)
    history = load_tracker(sample_copy).frames["History"]
    assert set(history["field"].iloc[-2:]) == {"member_id", "scheduled_service_date"}
    assert set(history["by"].iloc[-2:]) == {"tester"}


def test_opening_the_edit_form_and_saving_it_unchanged_changes_nothing(
        today: TodayDashboard) -> None:
    """Every field's widget starts at what the tracker holds, even a value no list has."""
    for request_id in today.session.tracker.requests["request_id"].head(20):
        edit_form(today, str(request_id))
        today.detail.form.children[-1].children[0].click()
        assert "Nothing changed" in today.detail.feedback.value, request_id
