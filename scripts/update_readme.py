"""Write the generated sections of the course's front page (README.md) and of its results page
(benchmarks/README.md) from the committed results (run after they change):

    python scripts/update_readme.py           # rewrite both pages
    python scripts/update_readme.py --check   # exit 1 if a page is out of date (the tests run this)

A section sits between ``<!-- begin: NAME ... -->`` and ``<!-- end: NAME -->``; :data:`SECTIONS` says what
writes each, :data:`DOCUMENTS` which page holds it.
"""

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the lab (benchmarks/lab) is not part of the installed course

from lab.quality import (  # noqa: E402
    calibration_table,
    collect_seeds,
    ensemble_report,
    headline_table,
    idea_report,
    pair_comparisons,
    pair_report,
    quality_report,
    quality_table,
    recipe_difference,
    validation_score,
)

from sst5.course import COURSE_NOTEBOOKS, colab_url  # noqa: E402
from sst5.runs import METRICS_FILE, find_runs, read_json  # noqa: E402
from sst5.stats import describe_comparison  # noqa: E402
from sst5.study import load_study, study_report  # noqa: E402

README = ROOT / "README.md"
RESULTS_PAGE = ROOT / "benchmarks" / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
PHRASES = RESULTS / "quality_phrases"  # the shipped list cpu-phrases
PHRASES_1EPOCH = RESULTS / "quality_phrases_1epoch"
MPNET = RESULTS / "quality_mpnet"
DISTILLATION = RESULTS / "distillation"
DISTILLATION_SCREEN = RESULTS / "distillation_screen"
DISTILLATION_SOFT = RESULTS / "distillation_soft"
BASELINES = RESULTS / "baselines"
#: What each notebook teaches (the front page's table; the badges follow sst5.config.REPO_SLUG).
NOTEBOOK_TOPICS = {
    "01_eda.ipynb": ("EDA", "class shares over phrases and sentences, telling words, labels by phrase length, "
                     "the treebank's text form, baselines"),
    "02_splitting.ipynb": ("Splitting", "why a random phrase split leaks, group splits, a Wasserstein-optimal seed, "
                           "reproducible split files"),
    "03_fine_tuning.ipynb": ("Fine-tuning", "the HF `Trainer`, a tokenized and padded batch, a per-epoch schedule of "
                             "random/stratified batches, distillation, ClearML tracking"),
    "04_error_analysis.ipynb": ("Error analysis", "confusion matrices three ways, neighbour rate, confident "
                                "mistakes, attributions, try your own review"),
    "05_compare_models.ipynb": ("Comparing models", "leaderboard, intervals, choosing for a goal, ensembles "
                                "chosen on validation"),
}
SENTENCES = ("sentences, 3 epochs", RESULTS / "cpu_profile")
#: The front page's rows: (what, the committed runs, the precision kept of them).
HEADLINE = [
    ("MiniLM (22.7M), sentences, 3 epochs (`cpu` profile)", RESULTS / "cpu_profile"),
    ("MiniLM, distinct phrases, 3 epochs (`cpu-phrases`)", PHRASES),
    ("MiniLM taught by MPNet (`cpu-distill`)", DISTILLATION),
    ("MPNet-base (110M), distinct phrases, 1 epoch (`cpu-large` runs one of its seeds)", MPNET),
]
#: The quality table's rows: what was run (with its command), the committed runs, the precision kept of them.
QUALITY_RECIPES = [
    ("sentences, 3 epochs, batch 32, lr 1e-4 (cpu profile: `make course`, `sst5-batch --models cpu`)",
     RESULTS / "cpu_profile"),
    ("the same in float32 (`--param mixed_precision=false`)", RESULTS / "cpu_profile_float32"),
    ("distinct phrases, 1 epoch, batch 128, lr 1e-4 (`sst5-batch --models benchmarks/quality_phrases_1epoch.txt`)",
     PHRASES_1EPOCH),
    ("distinct phrases, 3 epochs, batch 128, lr 1e-4 (`sst5-batch --models cpu-phrases --profile cpu`)",
     PHRASES),
    ("the same, taught by MPNet (`sst5-batch --models cpu-distill --profile cpu`)", DISTILLATION),
    ("the same, 0.9 of the loss the teacher's own distribution (`benchmarks/distillation_soft.txt`)",
     DISTILLATION_SOFT),
    ("MPNet-base, distinct phrases, 1 epoch, batch 128, lr 5e-5 (`sst5-batch --models benchmarks/quality_mpnet.txt "
     "--profile cpu`; `cpu-large` runs its seed 42)",
     MPNET),
]
#: Recipes compared over their seeds on the same test sentences: (A, B), each (name, folder, precision).
QUALITY_DIFFERENCES = [
    (("phrases, 3 epochs", PHRASES), ("phrases, 1 epoch", PHRASES_1EPOCH)),
    (("phrases, 1 epoch", PHRASES_1EPOCH), SENTENCES),
    (("phrases, 3 epochs", PHRASES), SENTENCES),
    (("bf16", RESULTS / "cpu_profile"), ("float32", RESULTS / "cpu_profile_float32")),
    (("taught by MPNet", DISTILLATION), ("phrases, 3 epochs", PHRASES)),
    (("mostly the teacher", DISTILLATION_SOFT), ("taught by MPNet", DISTILLATION)),
]
#: Runs whose validation predictions were kept, so that a temperature can be fitted: (name, folder).
CALIBRATED = [("MPNet-base, phrases, 1 epoch", MPNET), ("MiniLM taught by MPNet", DISTILLATION),
              ("MiniLM taught mostly by MPNet, T 1", DISTILLATION_SOFT),
              ("MiniLM, sentences, 3 epochs (both text forms)", RESULTS / "text_form")]


def measure_command(folder: Path) -> str:
    """The commands that run the list named for the results ``folder`` (``benchmarks/<name>.txt``) into
    ``runs/<name with hyphens>`` and publish its runs to ``folder``."""
    models, batch = f"benchmarks/{folder.name}.txt", f"runs/{folder.name.replace('_', '-')}"
    return (f"sst5-batch --models {models} --profile cpu --out {batch}\n"
            f"python benchmarks/publish_runs.py {batch} {folder.relative_to(ROOT)}\npython scripts/update_readme.py")


def _committed(rows: list) -> list:
    """The rows all of whose recipes have finished runs committed (a recipe still running has none yet)."""
    def has_runs(recipe) -> bool:
        return Path(recipe[1]).is_dir() and bool(find_runs(recipe[1], depth=1))

    return [row for row in rows if all(map(has_runs, row if isinstance(row[0], tuple) else [row]))]


def notebooks_section() -> str:
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    lines = ["| # | notebook | you learn | open |", "|---|---|---|---|"]
    for name in COURSE_NOTEBOOKS:
        title, topics = NOTEBOOK_TOPICS[name]
        lines.append(f"| {name[:2]} | [{title}](notebooks/{name}) | {topics} | "
                     f"[![Open In Colab]({badge})]({colab_url(f'notebooks/{name}')}) |")
    return "\n".join(lines) + "\n"


def baselines_section() -> str:
    table = pd.read_csv(BASELINES / "baselines.csv").pivot(index="baseline", columns="level")
    order = ["majority class", "prior guess", "TF-IDF + logistic regression"]
    lines = ["| baseline | sentences: accuracy | macro-F1 | phrases: accuracy | macro-F1 |", "|---|---|---|---|---|"]
    for name in order:
        cells = [table.loc[name, (metric, level)] for level in ("sentence", "phrase") for metric in ("accuracy",
                                                                                                   "macro_f1")]
        lines.append(f"| {name} | " + " | ".join("–" if pd.isna(c) else f"{c:.1f}" for c in cells) + " |")
    return "\n".join(lines) + "\n"


def leakage_section() -> str:
    table = pd.read_csv(BASELINES / "leakage.csv", index_col="split")
    lines = ["| split (20 % held out) | sentence accuracy % | phrase accuracy % |", "|---|---|---|"]
    lines += [f"| {split} | {row.sentence_accuracy:.1f} | {row.phrase_accuracy:.1f} |" for split, row in
              table.iterrows()]
    gap = table.loc["random phrase split"] - table.loc["group split"]
    lines += ["", f"The leaky split scores {gap.sentence_accuracy:+.1f} points at sentence level and "
              f"{gap.phrase_accuracy:+.1f} at phrase level: memory of the test trees' own phrases, not skill."]
    return "\n".join(lines).replace("+-", "−") + "\n"


def pending(folder: Path) -> str:
    """Where ``folder`` has no runs yet: how to measure them."""
    command = measure_command(folder)
    return f"No run is committed in `{folder.relative_to(ROOT)}` yet. To measure it:\n\n```bash\n{command}\n```\n"


def distillation_section(folder: Path, name: str, against: list) -> str:
    """The distilled students in ``folder`` over their seeds, against each recipe of ``against`` ((name, folder)),
    or how to run them where none is committed."""
    if not _committed([("", folder)]):
        return pending(folder)
    differences = "".join(f"- {recipe_difference((name, folder), other)}\n" for other in against)
    validation = "; ".join(f"{what} {validation_score(collect_seeds(runs))}"
                           for what, runs in [(name, folder), *against])
    return (quality_report(folder) + "\nAgainst the other recipes (their three seeds; two-level bootstrap over "
            f"seeds and sentences, Welch's p):\n\n{differences}\nOn validation, what picks a recipe (the seeds' "
            f"mean): {validation}.\n")


def teacher_confidence() -> str:
    """How sure the teacher is of the phrases it trained on (its mean top probability over them), and the ensemble
    teacher shipped beside it, where committed, with both teachers' accuracy."""
    probabilities = pd.read_parquet(DISTILLATION / "teacher_mpnet.parquet")
    text = (f"The teacher's mean top probability over its {len(probabilities):,} training phrases: "
            f"{probabilities.max(axis=1).mean():.2f}.\n")
    ensemble = DISTILLATION / "teacher_mpnet_ensemble.json"
    if ensemble.is_file():
        record, alone = read_json(ensemble), read_json(DISTILLATION / "teacher_mpnet.json")
        text += (f"\nA stronger teacher ships beside it, not yet measured as one: `mpnet-ensemble`, the average of "
                 f"{len(record['members'])} MPNet runs' probabilities of every training phrase "
                 f"(`benchmarks/teacher_ensemble.py`): {100 * record['test_accuracy']:.1f} % test and "
                 f"{100 * record['validation_accuracy']:.1f} % validation accuracy, against "
                 f"{100 * alone['test']['sentence']['accuracy']:.1f} % and "
                 f"{100 * alone['validation']['sentence']['accuracy']:.1f} % "
                 f"for the seed-{alone['params']['seed']} teacher alone. Its student, paired with `cpu-distill`'s "
                 "seed 42: "
                 "`sst5-batch --models benchmarks/distillation_ensemble.txt --profile cpu`.\n")
    return text


def _text_form_runs() -> dict[str, Path]:
    return {read_json(run / METRICS_FILE)["params"].get("text_form", "treebank"): run
            for run in find_runs(RESULTS / "text_form", depth=1)}


def text_form_section() -> str:
    runs = _text_form_runs()
    return pair_report("natural", runs["natural"], "treebank", runs["treebank"])


def text_form_summary() -> str:
    """The front page's sentence on the text form: the accuracy difference with its interval."""
    runs = _text_form_runs()
    accuracy = pair_comparisons(runs["natural"], runs["treebank"])["accuracy"]
    verdict = ("no difference beyond the noise" if not accuracy.significant()
               else "better" if accuracy.difference > 0 else "worse")
    return (f"The course trains and predicts on natural English (`isn't`, as users type it) rather than the "
            f"treebank's tokens (`is n't`); on the cpu profile's recipe, one seed, {verdict}: "
            f"{describe_comparison(accuracy, 'natural', 'treebank')}.\n")


def ideas_section(folder: Path, recipe: Path, also: tuple[tuple[Path, int], ...] = ()) -> str:
    """One-seed ideas against the ``recipe``'s run of the same seed (with ``also``'s (folder, seed) runs where
    committed), or how to run them where none is committed."""
    also = tuple((other, seed) for other, seed in also if other.is_dir())
    return idea_report(folder, recipe, also) if folder.is_dir() else pending(folder)


def differences_section() -> str:
    return "".join(f"- {recipe_difference(a, b)}\n" for a, b in _committed(QUALITY_DIFFERENCES))


SECTIONS = {
    "notebooks": notebooks_section,
    "headline": lambda: headline_table(_committed(HEADLINE), pd.read_csv(BASELINES / "baselines.csv")),
    "baselines": baselines_section,
    "leakage": leakage_section,
    "quality-table": lambda: quality_table(_committed(QUALITY_RECIPES)),
    "quality-phrases": lambda: quality_report(PHRASES),
    "quality-phrases-1epoch": lambda: quality_report(PHRASES_1EPOCH),
    "quality-differences": differences_section,
    "quality-mpnet": lambda: quality_report(MPNET),
    "distillation": lambda: distillation_section(DISTILLATION, "taught by MPNet", [("the recipe alone", PHRASES)]),
    "distillation-soft": lambda: distillation_section(DISTILLATION_SOFT, "mostly the teacher, T 1", [
        ("the recipe alone", PHRASES), ("half the teacher, T 2", DISTILLATION)]),
    "teacher-confidence": teacher_confidence,
    # the screen's temperature-1 run is committed once, with its other seeds
    "distillation-screen": lambda: ideas_section(DISTILLATION_SCREEN, DISTILLATION, also=((DISTILLATION_SOFT, 42),)),
    "quality-ideas": lambda: ideas_section(RESULTS / "quality_ideas", PHRASES_1EPOCH),
    "quality-levers": lambda: ideas_section(RESULTS / "levers", PHRASES),
    "text-form": text_form_section,
    "text-form-summary": text_form_summary,
    "calibration": lambda: calibration_table(_committed(CALIBRATED)),
    "best-ensemble": lambda: ensemble_report(RESULTS),
    "schedule-study": lambda: study_report(load_study()),
}
#: Which page holds which sections.
_FRONT_PAGE = ("notebooks", "headline", "text-form-summary")
DOCUMENTS = {README: _FRONT_PAGE, RESULTS_PAGE: tuple(name for name in SECTIONS if name not in _FRONT_PAGE)}


def updated(text: str, names=None) -> str:
    """``text`` with its generated sections ``names`` (default: all of :data:`SECTIONS`) rewritten."""
    for name in names or SECTIONS:
        write = SECTIONS[name]
        escaped = re.escape(name)  # followed by a space or -->, so that a name is not read as another's prefix
        pattern = re.compile(rf"(<!-- begin: {escaped}(?=\s|-->)[^>]*-->\n).*?(<!-- end: {escaped} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"the page has no section {name!r} (<!-- begin: {name} --> ... <!-- end: {name} -->)")
        text = pattern.sub(lambda m, write=write: m.group(1) + write() + m.group(2), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that both pages are up to date")
    args = parser.parse_args()
    stale = []
    for page, names in DOCUMENTS.items():
        text = page.read_text(encoding="utf-8")
        new = updated(text, names)
        if new != text:
            stale.append(page)
            if not args.check:
                page.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(str(p.relative_to(ROOT)) for p in stale)}: run python scripts/update_readme.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
