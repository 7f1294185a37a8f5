"""Rewrite the generated cells of every notebook from sst5.course (run: make notebooks): the badge and
set-up cells, and notebook 03's parameters cell (from sst5.config.RunConfig)."""

from pathlib import Path

import nbformat

from sst5.course import FINE_TUNING_NOTEBOOK, sync_header, sync_run_parameters

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    for path in sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("colab/*.ipynb")]):
        notebook = nbformat.read(path, as_version=4)
        changed = sync_header(notebook, path.relative_to(ROOT).as_posix())
        if path.name == FINE_TUNING_NOTEBOOK:
            changed = sync_run_parameters(notebook) or changed
        if changed:
            nbformat.write(notebook, path)
            print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
