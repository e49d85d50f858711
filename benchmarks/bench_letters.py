"""Benchmark: 200 letters in one batch, against bare docxtpl in the same run.

    python benchmarks/bench_letters.py [--letters 200] [--repeat 3]

Ours: LetterMaker.make for 200 denied requests of a synthetic tracker, kind
"appeal", with the History write (one safe save of the tracker for the whole
batch). Baseline: the same template rendered 200 times by docxtpl alone with
a plain dict context, saved to files: the floor no wrapper can go under.
The share of our time spent inside docxtpl (render and save) comes from
cProfile of one batch. Loading the tracker is not timed.

Prints one JSON line on stdout. Target (issue 5): 200 letters under 10 seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from patoolkit import load_tracker
from patoolkit.letters import BUNDLED_TEMPLATES, KINDS, LetterMaker

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"  # generated trackers; git-ignored
AS_OF = pd.Timestamp("2026-12-01 09:00")
SUPPLIED = {
    "denial_response": ["The record shows eight weeks of supervised therapy & NSAIDs."],
    "clinical_rationale": ["Radiculopathy with progressive weakness.", "New foot drop."],
    "enclosures": ["Therapy notes", "Medication history", "Clinic note"],
}


def tracker_with_denials(letters: int) -> Path:
    """A synthetic tracker with at least `letters` appealable denials (made once)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / "letters_3000.xlsx"
    if not path.exists():
        from patoolkit.sample import write_sample

        write_sample(path, rows=3000, seed=7)
    return path


def baseline(template: Path, contexts: list[dict[str, object]], out: Path) -> float:
    from docxtpl import DocxTemplate

    source = template.read_bytes()
    started = time.perf_counter()
    for number, context in enumerate(contexts):
        document = DocxTemplate(io.BytesIO(source))
        document.render(context, autoescape=True)
        document.save(out / f"baseline-{number}.docx")
    return time.perf_counter() - started


def plain_context(maker: LetterMaker, request_id: str) -> dict[str, object]:
    """What the template reads, as plain dicts (no sandbox, no missing-field collection)."""
    from patoolkit.letters import build_context

    context = build_context(maker.tracker, request_id, maker._deadlines_row(request_id),
                            maker.now, KINDS["appeal"], SUPPLIED)
    return {key: (dict(value) if isinstance(value, dict) else value)
            for key, value in context.items() if not key.startswith("_")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = tracker_with_denials(args.letters)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        tracker_path = work / "tracker.xlsx"
        shutil.copy2(source, tracker_path)
        tracker = load_tracker(tracker_path)
        maker = LetterMaker(tracker, now=AS_OF)
        fitting = [rid for rid in tracker.requests["request_id"].astype(str)
                   if maker.why_not(rid, "appeal") is None][:args.letters]
        if len(fitting) < args.letters:
            sys.exit(f"only {len(fitting)} appealable denials in {source}")
        contexts = [plain_context(maker, rid) for rid in fitting]
        # every SUPPLIED field is about the patient: each letter gets its own copy, the
        # way a batch is filled in (a batch shares only fields about the sender)
        supplied_for = dict.fromkeys(fitting, SUPPLIED)
        template = BUNDLED_TEMPLATES / KINDS["appeal"].template
        ours_times, base_times = [], []
        for round_number in range(args.repeat):
            shutil.copy2(source, tracker_path)
            out = work / f"ours-{round_number}"
            # the tracker load is not timed: build the maker first
            fresh = LetterMaker(load_tracker(tracker_path), now=AS_OF)
            started = time.perf_counter()
            made = fresh.make(fitting, "appeal", out=out, by="bench", supplied_for=supplied_for)
            ours_times.append(time.perf_counter() - started)
            assert len(made.made) == args.letters, made.summary()
            base_out = work / f"base-{round_number}"
            base_out.mkdir()
            base_times.append(baseline(template, contexts, base_out))
        shutil.copy2(source, tracker_path)
        fresh = LetterMaker(load_tracker(tracker_path), now=AS_OF)
        profile = cProfile.Profile()
        profile.enable()
        fresh.make(fitting, "appeal", out=work / "profiled", by="bench",
                   supplied_for=supplied_for)
        profile.disable()
        stats = pstats.Stats(profile)
        made_in = LetterMaker.make.__code__.co_filename  # wherever the package keeps it
        total = sum(row[3] for key, row in stats.stats.items()  # type: ignore[attr-defined]
                    if key[2] == "make" and key[0] == made_in)
        in_docxtpl = sum(row[3] for key, row in stats.stats.items()  # type: ignore[attr-defined]
                         if key[0].endswith("docxtpl/template.py") and key[2] in ("render",
                                                                                   "save"))
        in_history = sum(row[3] for key, row in stats.stats.items()  # type: ignore[attr-defined]
                         if key[2] == "record_history")
    ours, base = statistics.median(ours_times), statistics.median(base_times)
    print(json.dumps({
        "letters": args.letters, "seconds": round(ours, 2),
        "letters_per_second": round(args.letters / ours, 1),
        "baseline_docxtpl_seconds": round(base, 2), "ratio_to_bare_docxtpl": round(ours / base, 2),
        "share_in_docxtpl": round(in_docxtpl / total, 2),
        "share_in_history_write": round(in_history / total, 2),
        "rows_in_tracker": len(tracker.requests),
    }))


if __name__ == "__main__":
    main()
