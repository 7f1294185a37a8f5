"""Run the whole course headless with papermill (make course): notebooks 01-02, then the profile's
model list through the batch runner (notebooks 03-05 per model). Figures go to --figures."""

import argparse
import sys
from pathlib import Path

import papermill

from sst5.batch import run_batch
from sst5.config import resolve_config

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="runs/course")
    parser.add_argument("--figures", default=None, help="folder for the README's figures (img/)")
    parser.add_argument("--profile", default=None)
    args = parser.parse_args(argv)
    cfg = resolve_config(args.profile)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    figures = str(Path(args.figures).resolve()) if args.figures else None
    per_notebook = {"01_eda.ipynb": {}, "02_splitting.ipynb": {"split_file": str(out / "split.json")}}
    for name, extra in per_notebook.items():
        print(f"running {name}", flush=True)
        papermill.execute_notebook(ROOT / "notebooks" / name, out / name, cwd=str(out), kernel_name="python3",
                                   parameters={"profile": cfg.profile, "figures_dir": figures,
                                               "output_dir": str(out), **extra})
    result = run_batch(cfg.models, out / "runs", profile=cfg.profile)
    print(result.summary().to_string(index=False))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
