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
grep -q "sst5/results/cpu_profile/.*/predictions.parquet" <<<"$listing" || fail "the wheel lacks the reference runs"

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
# the demo from the wheel, against the smoke run: served on 127.0.0.1, asked through Gradio's own client
port=$("$work/env/bin/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$work/env/bin/sst5-demo" "$done_run" --port "$port" >"$work/demo.log" 2>&1 &
demo=$!
trap 'kill $demo 2>/dev/null; rm -rf "$work"' EXIT
"$work/env/bin/python" - "$port" <<'PY' || { cat "$work/demo.log"; fail "sst5-demo"; }
import sys, time
from gradio_client import Client
from sst5.config import LABEL_NAMES
url = f"http://127.0.0.1:{sys.argv[1]}/"
for _ in range(240):
    try:
        client = Client(url, verbose=False)
        break
    except Exception:  # not up yet
        time.sleep(0.5)
else:
    sys.exit("the demo did not come up")
label, verdict, words = client.predict("A gorgeous, witty, seductive movie.", api_name="/classify")
shares = {c["label"]: c["confidence"] for c in label["confidences"]}
assert set(shares) == set(LABEL_NAMES) and abs(sum(shares.values()) - 1) < 1e-4, label
assert verdict.startswith("Predicted: **") and words, (verdict, words)
_, message, _ = client.predict("\x00 \x07", api_name="/classify")
assert "Type a review first" in message, message
print("demo:", verdict)
PY
"$work/env/bin/sst5-demo" "$work/elsewhere" >/dev/null 2>"$work/demo-refused.log" && fail "sst5-demo served a folder without a model"
grep -q "no trained model in" "$work/demo-refused.log" || fail "sst5-demo without a model: $(cat "$work/demo-refused.log")"
echo "check_install: passed (wheel $(basename "$wheel"), batch from $work/elsewhere)"
