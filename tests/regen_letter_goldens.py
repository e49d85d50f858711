"""Regenerate the golden letter texts on purpose: python tests/regen_letter_goldens.py

Run it after changing a template or the letter context, then read the diff
(git diff tests/golden) before committing: every changed line is a change in
letters that go to payers.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from letter_cases import AS_OF, GOLDEN, SUPPLIED, build_letter_tracker, request_id

from patoolkit.letters import LetterMaker, letter_text
from patoolkit.tracker.read import load_tracker


def main() -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        tracker = load_tracker(build_letter_tracker(Path(folder) / "letters.xlsx"))
        maker = LetterMaker(tracker, now=AS_OF)
        for kind, supplied in SUPPLIED.items():
            text = letter_text(maker.render(request_id(kind), kind, supplied))
            (GOLDEN / f"{kind}.txt").write_text(text, encoding="utf-8")
            print(f"wrote {GOLDEN / kind}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
