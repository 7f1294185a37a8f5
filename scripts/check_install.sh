#!/usr/bin/env bash
# The user's path, as Colab takes it: build the wheel, install it (not editable) into a fresh virtual
# environment that reuses the already-installed dependencies (no network), and from a folder outside the
# checkout run a smoke batch of two models, one deliberately broken. Expected: the good run completes,
# the broken one is reported, the exit code is 1, the leaderboard is written.
# Usage: scripts/check_install.sh [VENV]   (default .venv; run by `make test`)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps=$(cd "${1:-$root/.venv}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check_install: FAILED: $*" >&2; exit 1; }

"$deps/bin/python" -m pip wheel -q --no-deps -w "$work/dist" "$root" 2>"$work/build.log" || { cat "$work/build.log"; fail "wheel build"; }
wheel=$(ls "$work"/dist/sst5_course-*.whl)
# Listed once into a variable: `unzip -l | grep -q` under pipefail fails at random (grep exits at the first
# match, unzip dies of SIGPIPE on the lines still to write).
listing=$(unzip -l "$wheel")
grep -q "sst5/notebooks/03_fine_tuning.ipynb" <<<"$listing" || fail "the wheel lacks the notebooks"
grep -q "sst5/results/schedule_study/runs.csv" <<<"$listing" || fail "the wheel lacks the study's results"

"$deps/bin/python" -m venv "$work/env"
site=$("$work/env/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
"$deps/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" > "$site/course-dependencies.pth"
"$work/env/bin/python" -m pip install -q --no-deps --no-index "$wheel"

mkdir "$work/elsewhere" && cd "$work/elsewhere"
"$work/env/bin/python" - <<'PY' || fail "the installed package is not the wheel's"
import sst5, sst5.course
assert "site-packages" in sst5.__file__ and "/src/" not in sst5.__file__, sst5.__file__
from sst5.study import load_study  # notebook 03 reads the committed study from the package
study = load_study()
assert sorted(study.metrics) == sorted(study.predictions) == sorted(study.runs["run"].unique()), study.about
print("installed:", sst5.__file__, "notebooks:", sst5.course.notebooks_dir(), "study runs:", len(study.metrics))
PY
"$work/env/bin/sst5-batch" --help >/dev/null || fail "sst5-batch --help"
printf 'tiny-bert\nno-such-org/no-such-model\n' > models.txt
set +e
"$work/env/bin/sst5-batch" --models models.txt --out runs --profile smoke \
  --param epochs=1 --param schedule=random --param max_sentences=100
code=$?
set -e
[ "$code" -eq 1 ] || fail "sst5-batch exited $code, expected 1 (one model failed)"
"$work/env/bin/python" - <<'PY' || fail "the batch's results"
import json, pathlib
from sst5.runs import RunStatus, run_status
runs = pathlib.Path("runs")
status = {p.name: run_status(p) for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")}
assert sorted(status.values()) == [RunStatus.COMPLETE, RunStatus.FAILED], status
failures = json.loads((runs / "failures.json").read_text())
assert [f["model"] for f in failures.values()] == ["no-such-org/no-such-model"], failures
board = (runs / "leaderboard.csv").read_text()
done = next(name for name, s in status.items() if s == RunStatus.COMPLETE)
assert done in board, board
assert not list((runs / done).glob("checkpoint*")) and not (runs / done / "checkpoints").exists()
print("complete:", done, "| failed:", *failures)
PY
done_run=$(ls -d runs/tiny-bert--*)
prediction=$("$work/env/bin/sst5-predict" "$done_run" "A gorgeous, witty film.") || fail "sst5-predict"
grep -q "gorgeous" <<<"$prediction" || fail "sst5-predict printed no prediction: $prediction"
echo "check_install: passed (wheel $(basename "$wheel"), batch from $work/elsewhere)"
