"""The gpu list as Colab runs it: models by their Hub ids from a real Hub-compatible server (olah on 127.0.0.1,
serving tiny twins of every family of gpu.txt in the forms the Hub serves them), each check in a fresh process
whose environment points at it (``HF_ENDPOINT`` is read when huggingface_hub is imported)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sst5.batch import parse_model_entry
from sst5.models import read_model_list
from sst5.runs import RunStatus, read_json, run_status

from .conftest import ROOT
from .local_hub import TINY, TWINS, start_local_hub

pytestmark = pytest.mark.slow
PRUNED = next(twin.hub_id for twin in TWINS if twin.pruned)
BIN_ONLY = {twin.hub_id for twin in TWINS if twin.weights == "bin"}
# The batch runs a run a minute (two notebook kernels each); for CI's time it takes the families whose twins
# carry the pathological forms (.bin only with a 2-class head, a 3-class head, spm without tokenizer.json,
# fp16 weights, left padding, an fp32 override, pruned heads). All 12 passed here in 768 s (SST5_HUB_BATCH=all).
BATCH_FAMILIES = (set(TINY) | {"pruned"} if os.environ.get("SST5_HUB_BATCH") == "all" else
                  {"bert", "roberta", "albert", "electra", "deberta-v2", "xlnet", "mobilebert", "pruned"})


@pytest.fixture(scope="module")
def local_hub(tmp_path_factory, sst_sentences):
    started = time.perf_counter()
    hub = start_local_hub(tmp_path_factory.mktemp("hub"), list(sst_sentences["train"]["text"][:3000]))
    print(f"\nlocal Hub: {len(TWINS)} twins built and served in {time.perf_counter() - started:.1f} s "
          f"(server ready in {hub.start_seconds:.1f} s)")
    yield hub
    hub.stop()


def _hub_env(hub) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "HF_HUB_OFFLINE"}
    return env | hub.env


def test_every_twin_is_an_entry_of_the_gpu_list():
    listed = {parse_model_entry(line)[0] for line in read_model_list("gpu")}
    assert {twin.hub_id for twin in TWINS} <= listed
    assert PRUNED in listed  # the write-up's best model trains again: its pruned heads are rebuilt


def test_every_family_loads_by_its_hub_id(local_hub):
    probe = subprocess.run([sys.executable, str(ROOT / "tests/hub_probe.py"), *[t.hub_id for t in TWINS]],
                           env=_hub_env(local_hub), capture_output=True, text=True, timeout=600)
    results = {row["id"]: row for row in map(json.loads, probe.stdout.splitlines())}
    assert set(results) == {twin.hub_id for twin in TWINS}, probe.stderr[-2000:]
    for twin in TWINS:
        row = results[twin.hub_id]
        assert row["ok"], row
        assert row["shape"] == [2, 5] and row["finite"] and row["dtype"] == "torch.float32"  # fp16 twin too
        assert (row["weights_bytes"] is None) == (twin.hub_id in BIN_ONLY)  # .bin-only: unknown, no crash
    assert results["xlnet-base-cased"]["padding_side"] == "left"


def test_a_gpu_profile_batch_over_the_twins_completes(local_hub, tmp_path, sst_source):
    """One run per family and form, with gpu.txt's own overrides, shrunk for time (24 sentences, one epoch),
    started from a folder outside the checkout."""
    lines = {parse_model_entry(line)[0]: line for line in read_model_list("gpu")}
    families = {}
    for twin in TWINS:  # one twin per family, the last listed (the pathological forms), plus the pruned one
        families["pruned" if twin.pruned else twin.model_type] = twin
    chosen = [twin for family, twin in families.items() if family in BATCH_FAMILIES]
    (tmp_path / "models.txt").write_text("\n".join(lines.get(t.hub_id, t.hub_id) for t in chosen) + "\n")
    started = time.perf_counter()
    batch = subprocess.run(
        [str(Path(sys.executable).parent / "sst5-batch"), "--models", "models.txt", "--profile", "gpu",
         "--out", "out", "--data", sst_source, "--param", "max_sentences=24", "--param", "epochs=1",
         "--param", "schedule=random",
         "--param", "tracker=none"],
        cwd=tmp_path, env=_hub_env(local_hub) | {"SST5_PROFILE": "gpu"}, capture_output=True, text=True,
        timeout=1500)
    seconds = time.perf_counter() - started
    print(f"\ngpu-profile batch over {len(chosen)} twins: {seconds:.0f} s, {seconds / len(chosen):.1f} s a twin")
    assert batch.returncode == 0, batch.stdout[-3000:] + batch.stderr[-3000:]
    runs = [folder for folder in (tmp_path / "out").iterdir() if (folder / "03_fine_tuning.ipynb").exists()]
    complete = [folder for folder in runs if run_status(folder) == RunStatus.COMPLETE]
    assert len(complete) == len(chosen)  # the pruned model too
    for folder in complete:
        params = read_json(folder / "metrics.json")["params"]
        assert params["train_on"] == "distinct_phrases" and params["profile"] == "gpu"
        line = lines[params["model_name"]]
        for key, value in parse_model_entry(line)[1].items():  # gpu.txt's own overrides reached the run
            assert params[key] == value, (line, key)
    leaderboard = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert len(leaderboard) == len(complete)
