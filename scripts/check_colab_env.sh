#!/usr/bin/env bash
# Does the course install and run on Google Colab's preinstalled stack without disturbing it?
#
# 1. Build a virtual environment holding Colab's versions (colab/colab-constraints.txt) of every package
#    the course needs that Colab preinstalls, plus Colab's kernel stack (ipykernel, jupyter_client,
#    IPython, notebook); torch is PyPI's 2.11.0, the version Colab has.
# 2. Install the course exactly as the notebooks' set-up cell and colab/run_models.ipynb do
#    (pip install "sst5-course[lora] @ <this checkout>"), and fail if that upgraded or downgraded any
#    package that was there before.
# 3. From a folder outside the checkout, run the smoke batch (one good model, one broken), then the five
#    notebooks (smoke profile) as Colab runs them: each in its own fresh folder and process, sharing only the
#    course folder ($SST5_COURSE_DIR), and 04 and 05 alone with nothing before them.
# Usage: SST5_DATA=... scripts/check_colab_env.sh [ENV_DIR]   (default /tmp/sst5-colab-env; needs PyPI, ~7 GB)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
env=${1:-/tmp/sst5-colab-env}
work=$(mktemp -d)
fail() { echo "check_colab_env: FAILED: $*" >&2; exit 1; }
: "${SST5_DATA:?set SST5_DATA to the SST release (trainDevTestTrees_PTB.zip)}"
export HF_HUB_OFFLINE=1 CLEARML_OFFLINE_MODE=1 MPLBACKEND=Agg SST5_PROFILE=smoke
export CLEARML_CACHE_DIR="$work/clearml"

rm -rf "$env"
python3 -m venv "$env"
pip=("$env/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip
# Colab's versions of what the course needs (its requirements by name, without the course's own bounds)
names=$(python3 - "$root/pyproject.toml" "$root/colab/colab-constraints.txt" <<'PY'
import re, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
colab = {re.split("==", line)[0].lower().replace("_", "-") for line in open(sys.argv[2]) if "==" in line}
# the demo extra too: Colab preinstalls gradio, which notebook 04's last cell uses
wanted = project["dependencies"] + project["optional-dependencies"]["lora"] + project["optional-dependencies"]["demo"]
names = {re.split(r"[<>=!\[ ;]", r, maxsplit=1)[0].lower() for r in wanted}
print(" ".join(sorted(n for n in names if n in colab) + ["ipykernel", "jupyter-client", "ipython", "notebook"]))
PY
)
echo "Colab's packages: $names"
"${pip[@]}" install -q -c "$root/colab/colab-constraints.txt" torch==2.11.0 $names
"${pip[@]}" freeze --all | sort > "$work/before.txt"

# exactly what the set-up cell runs on Colab, with this checkout in place of the git URL
"${pip[@]}" install -q "sst5-course[lora] @ file://$root" 2>&1 | tee "$work/install.log"
"${pip[@]}" freeze --all | sort > "$work/after.txt"
python3 - "$work/before.txt" "$work/after.txt" <<'PY' || fail "installing the course changed Colab's packages"
import sys
def read(path):
    return dict(line.strip().split("==", 1) for line in open(path) if "==" in line)
before, after = read(sys.argv[1]), read(sys.argv[2])
print("the course added:", " ".join(f"{n}=={v}" for n, v in sorted(after.items()) if n not in before))
changed = [f"{name} {before[name]} -> {after.get(name, 'removed')}" for name in sorted(before)
           if after.get(name) != before[name]]
print("\n".join(["changed:", *changed]) if changed else "unchanged:", len(before), "packages")
sys.exit(1 if changed else 0)
PY
echo "installing the course changed none of Colab's packages"
"$env/bin/python" -c "import torch, transformers, datasets, ipykernel, jupyter_client, sys
print('python', sys.version.split()[0], '| torch', torch.__version__, '| transformers', transformers.__version__,
      '| datasets', datasets.__version__, '| ipykernel', ipykernel.__version__, '| jupyter_client', jupyter_client.__version__)"

mkdir "$work/elsewhere" && cd "$work/elsewhere"
printf 'tiny-bert\nno-such-org/no-such-model\n' > models.txt
set +e
"$env/bin/sst5-batch" --models models.txt --out runs --param epochs=1 --param schedule=random --param max_sentences=100
code=$?
set -e
[ "$code" -eq 1 ] || fail "the smoke batch exited $code, expected 1 (one broken model)"
ls runs/tiny-bert--*/04_error_analysis.ipynb runs/leaderboard.csv >/dev/null || fail "the smoke batch's results"
echo "smoke batch: good run complete, broken one reported, exit 1"
# Each notebook as Colab opens it from its badge: its own fresh folder and kernel, only the course folder
# shared (Google Drive on Colab); first in course order, then 04 and 05 alone, with nothing before them.
run_alone() {  # run_alone NOTEBOOK COURSE_DIR [papermill -p ...]
  local notebook=$1 course=$2 folder
  shift 2
  folder=$(mktemp -d "$work/$notebook.XXXX")
  SST5_COURSE_DIR=$course "$env/bin/papermill" --no-progress-bar \
    "$("$env/bin/python" -c "import sst5.course as c; print(c.notebook_path('$notebook.ipynb'))")" \
    "$folder/$notebook.ipynb" -k python3 --cwd "$folder" "$@" >/dev/null 2>"$folder.log" \
    || { tail -20 "$folder.log"; fail "notebook $notebook (course folder $course)"; }
}
for notebook in 01_eda 02_splitting 03_fine_tuning 04_error_analysis 05_compare_models; do
  extra=()
  [ "$notebook" = 03_fine_tuning ] && extra=(-p split custom)
  run_alone "$notebook" "$work/course" "${extra[@]}"
  echo "notebook $notebook: ran in its own folder and process (course folder shared)"
done
[ -f "$work/course/smoke/metrics.json" ] && grep -q '"status": "complete"' "$work/course/smoke/metrics.json" \
  || fail "notebook 04 did not complete notebook 03's run in the course folder"
for notebook in 04_error_analysis 05_compare_models; do
  run_alone "$notebook" "$work/alone-$notebook"
  echo "notebook $notebook: ran alone on a fresh runtime (the reference runs)"
done
echo "check_colab_env: passed on $(date +%F)"
