"""The `patoolkit` command line (CONTRACT section 4).

Every command has --help and exits 0 when all is well, 1 when it has
findings, 2 when its input is unusable. Errors are one clear line on stderr,
never a traceback (--debug shows one, for developers).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import PAToolkitError
from .exports import FORMATS

if TYPE_CHECKING:
    from .tracker.read import Tracker

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


def _json_text(document: object) -> str:
    return json.dumps(document, indent=2, default=str) + "\n"


def _add_tracker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tracker", type=Path, help="the tracker .xlsx")


def _add_as_of(parser: argparse.ArgumentParser, meaning: str) -> None:
    """--as-of DATE; meaning says what the date decides for this command."""
    parser.add_argument("--as-of", metavar="DATE", help=meaning)


def _add_period(parser: argparse.ArgumentParser) -> None:
    """--from and --to: the submission dates counted, both inclusive (all when omitted)."""
    parser.add_argument("--from", dest="date_from", metavar="DATE",
                        help="first submission date (inclusive)")
    parser.add_argument("--to", dest="date_to", metavar="DATE",
                        help="last submission date (inclusive)")


def _add_output_options(parser: argparse.ArgumentParser, formats: Sequence[str] = ()) -> None:
    """--format (when the command has formats) and --out, alike for every command that
    prints a result; main() checks --out before the command does any work."""
    if formats:
        parser.add_argument("--format", choices=list(formats), default=formats[0],
                            help=f"output format ({formats[0]})")
    needed = " (needed for --format xlsx)" if "xlsx" in formats else ""
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help=f"write to this new file instead of the terminal{needed}; an "
                             "existing file is never replaced")
    parser.set_defaults(output_options=True)


def _check_out(args: argparse.Namespace) -> None:
    """Refuse an --out that cannot be written (or a missing one) before any slow work."""
    from .files import check_new_file

    xlsx = getattr(args, "format", None) == "xlsx"
    if args.out is not None:
        check_new_file(args.out, "spreadsheet", ".xlsx" if xlsx else "")
    elif xlsx:
        raise PAToolkitError("--format xlsx needs --out FILE.xlsx (where to write it).")


def _wrote(path: Path, summary: str) -> None:
    print(f"Wrote {summary} to {path}.")


def _write_output(args: argparse.Namespace, text: str, summary: str) -> None:
    """A command's text to the terminal, or to the new file --out names (whole or not at
    all), then one line saying where and how much."""
    from .files import create_new_file

    if args.out is None:
        sys.stdout.write(text)
        return

    def write(temporary: Path) -> None:
        temporary.write_text(text, encoding="utf-8")

    _wrote(create_new_file(args.out, write, what="output", suffix=""), summary)


def cmd_check(args: argparse.Namespace) -> int:
    from .tracker.read import load_tracker

    tracker = load_tracker(args.tracker)
    errors, warnings = tracker.errors, tracker.warnings
    if args.json:
        text = _json_text(tracker.report())
    else:
        lines = [f"{tracker.path}: {len(tracker.requests)} requests, {len(errors)} errors, "
                 f"{len(warnings)} warnings"]
        lines += [f"  error    {problem}" + (f" (found: '{problem.value}')"
                                             if problem.value and problem.value not in
                                             problem.message else "")
                  for problem in errors]
        lines += [f"  warning  {problem}" for problem in warnings]
        if not errors and not warnings:
            lines.append("  No problems found.")
        text = "\n".join(lines) + "\n"
    _write_output(args, text, f"the check of {len(tracker.requests)} requests ({len(errors)} "
                              f"errors, {len(warnings)} warnings)")
    failing = tracker.errors or (args.strict and tracker.warnings)
    return EXIT_FINDINGS if failing else EXIT_OK


def _request_values(pairs: Sequence[str]) -> dict[str, str]:
    """--set FIELD=VALUE pairs of a new request, by field name or the Requests heading
    ('plan_type', 'Plan Type'); a field not on the New request form is refused by name."""
    from .intake import NEW_REQUEST_FIELDS
    from .schema import REQUESTS, normalize_header

    fields = (*NEW_REQUEST_FIELDS, "notes")
    names = {normalize_header(spelling): name for name in fields
             for spelling in (name, REQUESTS.column(name).title)}
    values: dict[str, str] = {}
    for pair in pairs:
        given, sep, value = pair.partition("=")
        if not sep or not given.strip():
            raise PAToolkitError(f"--set '{pair}': write it as field=value, e.g. --set "
                                 "plan_type=Commercial.")
        name = names.get(normalize_header(given))
        if name is None:
            raise PAToolkitError(f"--set '{given.strip()}': not a field of a new request; the "
                                 f"fields are {', '.join(fields)} (or their headings on the "
                                 "Requests sheet, e.g. 'Plan Type').")
        values[name] = value.strip()
    return values


def cmd_check_request(args: argparse.Namespace) -> int:
    from .errors import InvalidValueError
    from .intake import check_new_request, plan_types_for

    values = _request_values(args.set or [])
    as_of = _as_of(args.as_of)
    tracker = _load_usable(args.tracker)
    filled = {}
    if "plan_type" not in values:  # as the page fills it: the payer's only plan type
        plans = plan_types_for(tracker.frames["Payers"], values.get("payer"))
        if len(plans) == 1:
            filled["plan_type"] = values["plan_type"] = plans[0]
    try:
        check = check_new_request(tracker, values, as_of.date() if as_of else None,
                                  documents=args.have or ())
    except InvalidValueError as wrong:
        raise PAToolkitError(f"{wrong} Nothing was checked.") from None
    on_list = {entry.item.strip().casefold() for entry in check.checklist}
    strays = [item for item in args.have or () if item.strip().casefold() not in on_list]
    if strays:
        items = "; ".join(entry.item for entry in check.checklist)
        raise PAToolkitError(
            f"--have {', '.join(repr(item) for item in strays)}: not on this request's "
            "checklist; " + (f"its items are: {items}." if items else
                             "it has none (set service_category, and payer, to see it)."))
    if args.json:
        text = _json_text({**check.as_dict(), "filled": filled})
    else:
        lines = [f"New request, checked as if submitted {check.as_of} against {tracker.path}:"]
        lines += [f"  filled {name}: {value} (the payer's only plan type on the Payers sheet, "
                  "as the page fills it)" for name, value in filled.items()]
        lines += [f"  {line.level:<6} {line.text}" for line in check.lines]
        if check.checklist:
            lines.append("Documents the payer's criteria ask for (--have ITEM for each on hand):")
            lines += [f"  [{'x' if entry.have else ' '}] {entry.item} ("
                      f"{'required' if entry.required else 'optional'}; {entry.source})"
                      for entry in check.checklist]
        if check.cannot_save:
            lines.append(f"Cannot be saved: {check.cannot_save}")
        if check.blockers:
            lines.append("Blockers (it would be saved as a draft):")
            lines += [f"  - {blocker}" for blocker in check.blockers]
        if check.questions:
            lines.append("Questions the page asks before saving:")
            lines += [f"  - {question}" for question in check.questions]
        lines.append(f"{len(check.blockers)} blocker(s)." if check.blocked and check.blockers
                     else "It cannot be saved yet." if check.blocked else "Nothing blocks it.")
        text = "\n".join(lines) + "\n"
    _write_output(args, text, f"the check of a new request ({len(check.blockers)} blockers)")
    return EXIT_FINDINGS if check.blocked or tracker.errors else EXIT_OK


def cmd_new_tracker(args: argparse.Namespace) -> int:
    from .tracker.create import new_tracker

    path = new_tracker(args.path)
    print(f"Wrote a blank tracker to {path}. Open it in Excel or LibreOffice; the Instructions "
          "sheet explains every column.")
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    from .sample import write_claims, write_sample

    if args.rows < 1:
        raise PAToolkitError("--rows must be 1 or more.")
    path = write_sample(args.path, rows=args.rows, seed=args.seed)
    print(f"Wrote a synthetic tracker with {args.rows} requests to {path} (invented data, "
          "no real patients).")
    if args.claims:
        from .tracker.read import load_tracker

        claims = write_claims(args.claims, load_tracker(path).frames, seed=args.seed)
        print(f"Wrote a matching synthetic claims export to {claims}.")
    return EXIT_OK


def _as_of(text: str | None, flag: str = "--as-of") -> datetime.datetime | None:
    import pandas as pd

    if text is None:
        return None
    try:
        stamp: pd.Timestamp | None = pd.Timestamp(text)
    except ValueError:
        stamp = None
    if stamp is None or pd.isna(stamp) or stamp.tzinfo is not None:
        raise PAToolkitError(f"{flag} '{text}' is not a local date; use YYYY-MM-DD or "
                             "'YYYY-MM-DD HH:MM' (no time zone).")
    return stamp.to_pydatetime()


def _load_usable(path: Path) -> Tracker:
    """The tracker; when it has errors, say so (the command then exits 1, see _exit_for)."""
    from .tracker.read import load_tracker

    tracker = load_tracker(path)
    if tracker.errors:
        first = tracker.errors[0]
        print(f"patoolkit: {path} has {len(tracker.errors)} problem(s), e.g. {first}. Affected "
              "rows may be missing from this result; run `patoolkit check` for the full list.",
              file=sys.stderr)
    return tracker


def cmd_deadlines(args: argparse.Namespace) -> int:
    from .deadlines import DATE_DEADLINES, deadlines_for, deadlines_json
    from .exports import to_text

    tracker = _load_usable(args.tracker)
    table = deadlines_for(tracker, _as_of(args.as_of))
    if args.json:
        text = _json_text(deadlines_json(table))
    else:
        shown = table[["request_id", *DATE_DEADLINES, "at_risk", "low_units"]]
        text = to_text(shown.rename(columns=lambda name: name.replace("_", " "))) + "\n"
    _write_output(args, text, f"the deadlines of {len(table)} requests")
    return EXIT_FINDINGS if tracker.errors else EXIT_OK


def cmd_worklist(args: argparse.Namespace) -> int:
    import pandas as pd

    from .exports import to_csv, to_json, to_text, write_xlsx
    from .worklist import worklist_for

    tracker = _load_usable(args.tracker)
    as_of = _as_of(args.as_of)
    actions = worklist_for(tracker, as_of, owner=args.owner).drop(columns=["action_key"])
    overdue = actions["days_left"] < 0
    summary = f"{len(actions)} actions"
    if args.format == "xlsx":
        now = as_of or pd.Timestamp.now()
        title = f"PA worklist {pd.Timestamp(now):%Y-%m-%d}" + (
            f" for {args.owner}" if args.owner else "")
        _wrote(write_xlsx(actions, args.out, title, highlight=list(overdue)), summary)
    elif args.format == "json":
        _write_output(args, to_json(actions) + "\n", summary)
    elif args.format == "csv":
        _write_output(args, to_csv(actions), summary)
    else:
        shown = actions[["due", "days_left", "action", "request_id", "patient_id", "payer",
                         "owner", "reason"]]
        _write_output(args, f"{to_text(shown, {'reason': 70, 'payer': 24})}\n\n"
                            f"{len(actions)} actions, {int(overdue.sum())} overdue.\n", summary)
    # a tracker with errors still gets its worklist, but the exit code says it is partial
    return EXIT_FINDINGS if tracker.errors else EXIT_OK


def _date(text: str | None, flag: str) -> datetime.date | None:
    stamp = _as_of(text, flag)
    if stamp is not None and stamp.time() != datetime.time():
        raise PAToolkitError(f"{flag} '{text}' must be a date (YYYY-MM-DD).")
    return stamp.date() if stamp is not None else None


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_letter(args: argparse.Namespace) -> int:
    import getpass

    import pandas as pd

    from .letters import PATIENT, SENDER, LetterMaker, filter_requests, letter_kind, parse_set

    kind = letter_kind(args.kind)
    tracker = _load_usable(args.tracker)
    now = pd.Timestamp(_as_of(args.as_of) or pd.Timestamp.now().floor("s"))
    maker = LetterMaker(tracker, now=now, templates=args.templates)
    fields = maker.fields(kind)
    supplied = parse_set(args.set or [], fields)
    filters = {"statuses": args.status or (), "decisions": args.decision or (),
               "payer": args.payer, "owner": args.owner,
               "decided_from": _date(args.decided_from, "--decided-from"),
               "decided_to": _date(args.decided_to, "--decided-to")}
    request_ids = list(args.request_id)
    if any(value for value in filters.values()):
        matching = filter_requests(tracker, **filters)  # type: ignore[arg-type]
        request_ids = [rid for rid in matching if not request_ids or rid in request_ids]
        if not request_ids:
            print("No request matches those filters; no letter made.")
            return EXIT_FINDINGS
    elif not request_ids:
        raise PAToolkitError("name a REQUEST_ID, or filters for a batch (e.g. --decision "
                             "Denied --decided-from 2026-11-23).")
    patient = [name for name in supplied if fields.about(name) == PATIENT]
    if patient and not (len(request_ids) == 1 and len(args.request_id) == 1):
        # a --set about one patient goes into one named request's letter, never a batch's
        labels = {field.name: field.label for field in fields.supplied}
        listed = ", ".join(f"{name} ({labels[name]})" if name in labels else name
                           for name in patient)
        chosen = (f"{len(request_ids)} requests are selected" if len(request_ids) > 1
                  else "the filters chose the request")
        shareable = ", ".join(f.name for f in fields.supplied if f.about == SENDER) or "none"
        raise PAToolkitError(
            f"--set {listed}: about one patient, and {chosen}; a batch never puts one "
            "patient's text in another's letter. Make those letters one at a time, naming "
            f"each request: patoolkit letter TRACKER REQUEST_ID --kind {kind.key} --set ... "
            f"Fields a batch may share (about the sender): {shareable}. Nothing was written.")
    by = args.by or getpass.getuser() or "patoolkit"
    result = maker.make(request_ids, kind, supplied, out=args.out, pdf=args.pdf, by=by,
                        record=not args.no_history, progress=_progress)
    if len(request_ids) == 1 and result.errors:
        raise result.errors[0]
    for made in result.made:
        print(f"Made {made.path}" + (f" and {made.pdf.name}" if made.pdf else ""))
    if result.pdf_problem:
        print(f"No PDF made: {result.pdf_problem}", file=sys.stderr)
    elif args.pdf and result.made and not any(made.pdf for made in result.made):
        print("No PDF made: LibreOffice (soffice) is not installed; the .docx letters are "
              "made.", file=sys.stderr)
    if len(request_ids) > 1:
        print(result.summary())
    if result.history_recorded:
        print(f"Recorded {len(result.made)} letter(s) in the History sheet of {tracker.path}.")
    return EXIT_FINDINGS if result.skipped or tracker.errors else EXIT_OK


def cmd_templates(args: argparse.Namespace) -> int:
    from .letters import BUNDLED_TEMPLATES, KINDS, template_fields, template_folders

    tracker = None
    if args.tracker is not None:
        tracker = _load_usable(args.tracker)
    folders = template_folders(tracker, args.templates)
    documents = []
    for kind in KINDS.values():
        fields = template_fields(kind, folders)
        documents.append({
            "kind": kind.key, "title": kind.title, "purpose": kind.purpose,
            "template": str(fields.path),
            "client_template": fields.path.parent != BUNDLED_TEMPLATES,
            "from_tracker": fields.tracker_fields,
            "to_supply": [{"name": f.name, "label": f.label, "help": f.help,
                           "one_per_line": f.is_list, "optional": f.optional,
                           "about": f.about}
                          for f in fields.supplied]})
    if args.json:
        sys.stdout.write(_json_text(documents))
        return EXIT_OK
    for document in documents:
        where = "client template" if document["client_template"] else "bundled template"
        print(f"{document['kind']}: {document['title']} ({where} {document['template']})")
        print(f"  {document['purpose']}")
        print("  from the tracker: " + ", ".join(document["from_tracker"]))  # type: ignore[arg-type]
        print("  to supply (--set name=value; a batch shares only those about the sender):")
        for item in document["to_supply"]:  # type: ignore[attr-defined]
            notes = [note for note, on in (("one per line", item["one_per_line"]),
                                           ("optional", item["optional"])) if on]
            print(f"    {item['name']} ({item['about']}): {item['label']}"
                  + (f" ({', '.join(notes)})" if notes else ""))
        print()
    return EXIT_OK


def _period(args: argparse.Namespace) -> tuple[datetime.date | None, datetime.date | None]:
    return _date(args.date_from, "--from"), _date(args.date_to, "--to")


def cmd_metrics(args: argparse.Namespace) -> int:
    from .exports import to_text
    from .metrics import as_rows, scorecard_for, write_scorecard_xlsx

    tracker = _load_usable(args.tracker)
    date_from, date_to = _period(args)
    card = scorecard_for(tracker, date_from, date_to)
    summary = f"the scorecard of {len(card.by_payer)} payers"
    if args.format == "json":
        _write_output(args, _json_text(card.as_json()), summary)
    elif args.format == "xlsx":
        span = (f"{date_from or 'start'} to {date_to or 'end'}" if date_from or date_to
                else "all requests")
        _wrote(write_scorecard_xlsx(card, args.out, f"PA scorecard, {span}"), summary)
    else:
        shown = card.by_payer[["payer", "requests", "decided", "approved_pct", "denied_pct",
                               "late_pct", "median_days_to_decision", "appeal_rate_pct",
                               "overturn_rate_pct"]]
        tables = [to_text(as_rows(card.overall)[["metric", "value"]]),
                  to_text(shown.rename(columns=lambda name: name.replace("_", " ")),
                          {"payer": 30})]
        if len(card.denial_reasons):
            tables.append(to_text(card.denial_reasons.head(10), {"denial_reason": 60}))
        _write_output(args, "\n\n".join(tables) + "\n", summary)
    return EXIT_FINDINGS if tracker.errors else EXIT_OK


def cmd_audit_claims(args: argparse.Namespace) -> int:
    import pandas as pd

    from .claims import audit_for, audit_json, findings_table, read_claims, summary
    from .exports import to_csv, to_text, write_report_xlsx

    tracker = _load_usable(args.tracker)
    claims_file = read_claims(args.claims)
    for problem in claims_file.problems[:20]:
        print(f"patoolkit: {claims_file.path}: {problem}", file=sys.stderr)
    claims = claims_file.claims
    findings = audit_for(tracker, claims, _date(args.as_of, "--as-of"))
    table = findings_table(findings, claims)
    counts = summary(findings, claims)
    described = (f"{len(table)} findings on {counts['claims_with_findings']} of "
                 f"{counts['claims']} claims")
    if args.format == "json":
        _write_output(args, _json_text(audit_json(findings, claims)), described)
    elif args.format == "csv":
        _write_output(args, to_csv(table), described)
    elif args.format == "xlsx":
        by_code = pd.DataFrame([{"finding": code, "count": count}
                                for code, count in counts["findings"].items()])
        _wrote(write_report_xlsx(args.out, "Claims audit",
                                 {"Findings": table, "Summary": by_code}), described)
    else:
        lines = [to_text(table[["claim_id", "code", "message", "fix"]],
                         {"message": 70, "fix": 50}), ""] if len(table) else []
        lines.append(f"{counts['claims']} claims: {counts['clean_claims']} clean, "
                     f"{counts['claims_with_findings']} with findings.")
        lines += [f"  {code}: {count}" for code, count in counts["findings"].items() if count]
        _write_output(args, "\n".join(lines) + "\n", described)
    unreadable = [problem for problem in claims_file.problems if problem.severity == "error"]
    failing = len(findings) or unreadable or tracker.errors  # warnings do not fail the audit
    return EXIT_FINDINGS if failing else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    date_from, date_to = _period(args)
    if date_from and date_to and date_from > date_to:
        raise PAToolkitError(f"--from {date_from} is after --to {date_to}; swap them.")
    path = write_report(args.tracker, args.out, date_from, date_to)
    print(f"Wrote the report to {path} (one self-contained HTML file, no code, no patient "
          "names).")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    import getpass

    from .exports import to_text
    from .files import create_new_file
    from .importer import (
        import_into,
        load_mapping,
        mapping_table,
        plan_import,
        preview,
        propose_mapping,
        read_source,
    )
    from .tracker.read import load_tracker

    tracker = load_tracker(args.into)
    if tracker.errors and not args.dry_run:
        refusal = PAToolkitError(f"{args.into} has {len(tracker.errors)} problem(s) already "
                                 f"(e.g. {tracker.errors[0]}); fix them first (`patoolkit "
                                 "check`) so the import's own problems can be told apart. "
                                 "Nothing was imported.")
        refusal.exit_code = EXIT_FINDINGS  # a usable tracker with findings, like check's 1
        raise refusal
    source = read_source(args.source, args.sheet)
    saved = load_mapping(args.map) if args.map else None
    mapping = propose_mapping(source, saved)
    print(f"{source.path.name}, sheet '{source.sheet}', header on row {source.header_row}: "
          f"{len(source.rows)} rows. Proposed mapping:")
    print(to_text(mapping_table(mapping), {"why": 60}))
    plan = plan_import(source, mapping, tracker)
    shown = preview(plan)
    if len(shown):
        print("\nThe first rows as they will land:")
        print(to_text(shown.reset_index(names="source row"), {"notes": 40}))
    print()
    print(plan.report())
    if args.save_map:
        path = Path(args.save_map)

        def write(target: Path) -> None:
            target.write_text(mapping.to_toml(), encoding="utf-8")

        create_new_file(path, write, what="mapping", suffix=".toml", overwrite=True)
        print(f"Saved the mapping to {path}; reuse it with --map {path}.")
    if args.dry_run:
        print("Dry run: nothing was written.")
        return EXIT_FINDINGS if plan.skipped else EXIT_OK
    ids = import_into(plan, tracker, by=args.by or getpass.getuser() or "import")
    if ids:
        print(f"Imported {len(ids)} request(s) into {tracker.path} ({ids[0]} to {ids[-1]}); "
              "each has a History row naming its source row.")
    else:
        print("Nothing new to import.")
    return EXIT_FINDINGS if plan.skipped else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    return serve(args.tracker, port=args.port, token=args.token, host=args.host,
                 idle_minutes=args.idle_minutes, allow_hosts=args.allow_host,
                 notebooks=args.notebooks)


def cmd_notebooks(args: argparse.Namespace) -> int:
    from .serve import copy_notebooks

    copies = copy_notebooks(args.folder)
    print(f"Copied {len(copies)} dashboards to {args.folder}: "
          + ", ".join(copy.name for copy in copies))
    print(f"Adapt them in JupyterLab (pip install 'patoolkit[notebooks]'), then `patoolkit "
          f"serve TRACKER --notebooks {args.folder}` serves them.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="patoolkit",
        description="Run prior authorization from the practice's Excel tracker.",
        epilog="Exit codes: 0 all well, 1 findings, 2 unusable input.",
    )
    parser.add_argument("--version", action="version", version=f"patoolkit {__version__}")
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check", help="validate a tracker workbook",
        description="Validate the tracker and list every problem with its sheet, Excel row "
                    "and column. Exit 0 when there are no errors, 1 when there are, 2 when the "
                    "file cannot be read as a tracker. The file is never changed.")
    _add_tracker(check)
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--strict", action="store_true", help="warnings also make exit code 1")
    _add_output_options(check)
    check.set_defaults(handler=cmd_check)

    request = commands.add_parser(
        "check-request", help="check a new request before saving it (the New request page)",
        description="Check a new request as the New request page does, from its fields: "
                    "whether PA is required and which PA Rules row says so, the NPI and "
                    "codes, the ordering provider's enrollment, the payer's Criteria "
                    "checklist, when the decision would be due if submitted that day (the "
                    "Closures sheet counted) and whether the service date is at risk, the "
                    "payer's plan types, and requests like it already on the tracker. Exit 0 "
                    "when nothing blocks it, 1 when something does (it would be saved as a "
                    "draft), 2 when a field or value cannot be read. The file is never "
                    "changed.")
    _add_tracker(request)
    request.add_argument("--set", action="append", metavar="FIELD=VALUE",
                         help="a field of the request, repeat for each: patient_id, "
                              "patient_name, patient_dob, member_id, payer, plan_type, codes, "
                              "icd10, ordering_npi, service_category, urgency, "
                              "scheduled_service_date, owner, notes (or their headings)")
    request.add_argument("--have", action="append", metavar="ITEM",
                         help="a document of the checklist that is on hand (repeatable)")
    _add_as_of(request, "the day it would be submitted (today)")
    request.add_argument("--json", action="store_true", help="print the check as JSON")
    _add_output_options(request)
    request.set_defaults(handler=cmd_check_request)

    new = commands.add_parser(
        "new-tracker", help="write a blank tracker with every sheet, dropdown and instruction",
        description="Write a blank tracker an analyst can start typing into. Refuses to "
                    "overwrite an existing file.")
    new.add_argument("path", type=Path, help="where to write the new .xlsx")
    new.set_defaults(handler=cmd_new_tracker)

    sample = commands.add_parser(
        "sample", help="write a synthetic tracker (no real patient data, ever)",
        description="Write a deterministic synthetic tracker for demos, tests and benchmarks.")
    sample.add_argument("path", type=Path, help="where to write the new .xlsx")
    sample.add_argument("--rows", type=int, default=300, help="number of requests (300)")
    sample.add_argument("--seed", type=int, default=7, help="random seed (7)")
    sample.add_argument("--claims", type=Path, metavar="CLAIMS.xlsx",
                        help="also write a matching synthetic claims export")
    sample.set_defaults(handler=cmd_sample)

    deadlines = commands.add_parser(
        "deadlines", help="every deadline of every request, with its basis",
        description="Compute every payer and practice deadline of every request (CONTRACT "
                    "section 2). --json prints each with the rule or setting it came from.")
    _add_tracker(deadlines)
    _add_as_of(deadlines, "compute as of this date (today)")
    deadlines.add_argument("--json", action="store_true", help="print JSON with the basis")
    _add_output_options(deadlines)
    deadlines.set_defaults(handler=cmd_deadlines)

    worklist = commands.add_parser(
        "worklist", help="today's actions, most urgent first",
        description="One row per action someone should take: overdue first, then due today, "
                    "then by due date.")
    _add_tracker(worklist)
    _add_as_of(worklist, "as of this date (now)")
    worklist.add_argument("--owner", help="only this owner's actions")
    _add_output_options(worklist, FORMATS)
    worklist.set_defaults(handler=cmd_worklist)

    letter = commands.add_parser(
        "letter", help="an appeal or request letter as .docx (one request, or a batch)",
        description="Fill a Word letter template from the tracker. Every missing field is "
                    "listed with where to fill it, and a request that does not fit the kind "
                    "is refused with the reason; nothing is written then. Letters go to "
                    "letters_out/ beside the tracker (or --out, or the Settings key "
                    "letters_folder), never over an existing file, and each is recorded in "
                    "the History sheet. Without REQUEST_ID, the filters choose a batch.")
    _add_tracker(letter)
    letter.add_argument("request_id", nargs="*", metavar="REQUEST_ID",
                        help="the request(s); none with filters for a batch")
    letter.add_argument("--kind", required=True,
                        help="p2p, appeal, expedited-appeal, external-review, info-response, "
                             "medical-necessity (`patoolkit templates` lists them)")
    letter.add_argument("--set", action="append", metavar="FIELD=VALUE",
                        help="a field a person supplies; repeat for each. Lists take one item "
                             "per line or ';'. Criteria evidence: --set 'evidence[Item]=...'")
    letter.add_argument("--out", type=Path, metavar="DIR", help="folder for the letters")
    letter.add_argument("--templates", type=Path, metavar="DIR",
                        help="a client's template folder (overrides the bundled one per file)")
    letter.add_argument("--pdf", action="store_true",
                        help="also make a PDF with LibreOffice, when it is installed")
    _add_as_of(letter, "date the letter (today)")
    letter.add_argument("--by", help="who made it, for the History sheet (your user name)")
    letter.add_argument("--no-history", action="store_true",
                        help="do not record the letter in the History sheet")
    batch = letter.add_argument_group("batch filters (every one given must match)")
    batch.add_argument("--status", action="append", help="status (repeatable)")
    batch.add_argument("--decision", action="append", help="decision, e.g. Denied (repeatable)")
    batch.add_argument("--payer", help="payer name")
    batch.add_argument("--owner", help="owner")
    batch.add_argument("--decided-from", metavar="DATE", help="decision date on or after")
    batch.add_argument("--decided-to", metavar="DATE", help="decision date on or before")
    letter.set_defaults(handler=cmd_letter)

    templates = commands.add_parser(
        "templates", help="the letter kinds and the fields each needs",
        description="List every letter kind, the template it uses (a client's folder wins "
                    "over the bundled one file by file) and the fields it reads from the "
                    "tracker or needs a person to supply.")
    templates.add_argument("--tracker", type=Path,
                           help="a tracker whose Settings name a client template folder")
    templates.add_argument("--templates", type=Path, metavar="DIR",
                           help="a client's template folder")
    templates.add_argument("--json", action="store_true", help="print JSON")
    templates.set_defaults(handler=cmd_templates)

    metrics = commands.add_parser(
        "metrics", help="payer scorecard and practice KPIs",
        description="Approval, denial, timeliness, appeal and process measures, overall, per "
                    "payer and per service category, for the requests submitted in "
                    "[--from, --to] (all when omitted). Every metric is defined on the "
                    "Definitions sheet of --format xlsx and in the README.")
    _add_tracker(metrics)
    _add_period(metrics)
    _add_output_options(metrics, [name for name in FORMATS if name != "csv"])
    metrics.set_defaults(handler=cmd_metrics)

    audit = commands.add_parser(
        "audit-claims", help="claims that will deny for authorization reasons",
        description="Check every line of a claims export (CSV or a workbook) against the tracker: "
                    "missing authorizations, numbers not on the claim, unknown or mismatched "
                    "numbers, dates, codes and units outside the authorization, denied "
                    "authorizations. Exit 1 when anything is found.")
    _add_tracker(audit)
    audit.add_argument("claims", type=Path, help="the claims export (.csv or .xlsx)")
    _add_output_options(audit, FORMATS)
    _add_as_of(audit, "date the PA Rules are read for when a claim has none (today)")
    audit.set_defaults(handler=cmd_audit_claims)

    report = commands.add_parser(
        "report", help="a per-client HTML report made by running the scorecard notebook",
        description="Run the scorecard notebook headless (nbclient) for the dates given and "
                    "save its output as one self-contained HTML file without code, ready to "
                    "send to the client. Refuses to overwrite an existing file.")
    _add_tracker(report)
    _add_period(report)
    report.add_argument("--out", type=Path, required=True, metavar="FILE.html",
                        help="where to write the report")
    report.set_defaults(handler=cmd_report)

    importing = commands.add_parser(
        "import", help="import the tracker a practice already has (xlsx, xls or csv)",
        description="Propose a mapping from every column of SOURCE to a Requests column "
                    "(with its confidence and reason), show the first rows as they will land, "
                    "then add the new rows to the tracker through the safe writer. Rows "
                    "already in the tracker (same ID, same auth number, or same patient, "
                    "payer, codes and date) are reported, not duplicated; every other row "
                    "is imported or listed with the reason.")
    importing.add_argument("source", type=Path, help="the file to import (.xlsx, .xls, .csv)")
    importing.add_argument("--into", type=Path, required=True, metavar="TRACKER.xlsx",
                           help="the patoolkit tracker to add the requests to")
    importing.add_argument("--map", type=Path, metavar="MAPPING.toml",
                           help="a mapping saved earlier for this client (wins over guesses)")
    importing.add_argument("--save-map", type=Path, metavar="MAPPING.toml",
                           help="save the mapping used, to correct it and reuse it")
    importing.add_argument("--dry-run", action="store_true",
                           help="show the mapping, preview and report; write nothing")
    importing.add_argument("--sheet", help="the source sheet (the first one)")
    importing.add_argument("--by", help="who imported, for the History sheet")
    importing.set_defaults(handler=cmd_import)

    serve = commands.add_parser(
        "serve", help="the dashboards in the browser (Voila), on 127.0.0.1",
        description="Serve the dashboards with Voila. Without a tracker, a scratch copy of the "
                    "bundled synthetic sample is used (changes go to the copy). Binds "
                    "127.0.0.1 unless --host says otherwise; tracebacks are never shown. "
                    "Prints the start URL, which carries a random token: pages without it "
                    "ask for it. Answers only 127.0.0.1, localhost, [::1] and --allow-host "
                    "names, so another web page cannot reach the dashboards by pointing a "
                    "name of its own at this computer (DNS rebinding).")
    serve.add_argument("tracker", type=Path, nargs="?", help="the tracker .xlsx (sample)")
    serve.add_argument("--port", type=int, default=8866, help="port (8866)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (127.0.0.1; anything else exposes patient data)")
    serve.add_argument("--token",
                       help="the token the start URL carries (a new random one each start)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="also answer requests for this host name, e.g. clinic.local "
                            "(repeatable)")
    serve.add_argument("--idle-minutes", type=int, default=30,
                       help="shut down a dashboard's kernel after this long idle (30)")
    serve.add_argument("--notebooks", type=Path, metavar="DIR",
                       help="serve the adapted dashboards in DIR instead of the bundled ones "
                            "(`patoolkit notebooks DIR` copies them out)")
    serve.set_defaults(handler=cmd_serve)

    notebooks = commands.add_parser(
        "notebooks", help="copy the bundled dashboards to a folder, to adapt for a client",
        description="Copy the bundled dashboard notebooks into DIR (made if missing) to adapt "
                    "in JupyterLab; `patoolkit serve --notebooks DIR` then serves them. "
                    "Refuses, copying nothing, if any of them is already in DIR.")
    notebooks.add_argument("folder", type=Path, metavar="DIR", help="where to copy them")
    notebooks.set_defaults(handler=cmd_notebooks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        if getattr(args, "output_options", False):
            _check_out(args)
        return handler(args)
    except PAToolkitError as error:
        print(f"patoolkit {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:  # `patoolkit worklist ... | head` closed the pipe: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("patoolkit: interrupted; nothing was half-written.", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        reference = uuid.uuid4().hex[:8]
        print(f"patoolkit {args.command}: unexpected {type(error).__name__} (ref {reference}); "
              "please report it with this reference. Run with --debug to see details.",
              file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
