"""Rewrite the badge and set-up cells of every notebook from sst5.course (run: make notebooks)."""

from pathlib import Path

import nbformat

from sst5.course import sync_header

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    for path in sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("colab/*.ipynb")]):
        notebook = nbformat.read(path, as_version=4)
        if sync_header(notebook, path.relative_to(ROOT).as_posix()):
            nbformat.write(notebook, path)
            print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
