"""Write the README's generated sections from the committed results (run after they change):

    python scripts/update_readme.py           # rewrite README.md
    python scripts/update_readme.py --check   # exit 1 if README.md is out of date (the tests run this)

A section sits between ``<!-- begin: NAME ... -->`` and ``<!-- end: NAME -->``; :data:`SECTIONS` says what
writes each.
"""

import argparse
import re
import sys
from pathlib import Path

from sst5.study import load_study, study_report

README = Path(__file__).resolve().parents[1] / "README.md"
SECTIONS = {"schedule-study": lambda: study_report(load_study())}


def updated(text: str) -> str:
    """``text`` with every generated section rewritten."""
    for name, write in SECTIONS.items():
        pattern = re.compile(rf"(<!-- begin: {re.escape(name)}\b[^>]*-->\n).*?(<!-- end: {re.escape(name)} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md has no section {name!r} (<!-- begin: {name} --> ... <!-- end: {name} -->)")
        text = pattern.sub(lambda m, write=write: m.group(1) + write() + m.group(2), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that README.md is up to date")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    new = updated(text)
    if args.check:
        if new != text:
            print("README.md is out of date: run python scripts/update_readme.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
