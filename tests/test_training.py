"""Fine-tuning end to end: pretrained weights, notebook 03 under papermill, its outputs and ClearML session."""

import ast
import dataclasses
import inspect
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from sst5.config import LABEL_NAMES, resolve_config
from sst5.models import load_classifier
from sst5.predict import load_run_model, main, predict_texts
from sst5.training import build_trainer, prepare_splits, tokenize_splits, training_arguments, warmup_steps

ROOT = Path(__file__).resolve().parents[1]


def test_models_load_pretrained_encoder_weights(tiny_model_dir):
    saved = load_file(tiny_model_dir / "model.safetensors")
    model, tokenizer = load_classifier(str(tiny_model_dir))
    state = model.state_dict()
    encoder_keys = [k for k in saved if k.startswith("bert.encoder.")]
    assert encoder_keys
    for key in encoder_keys:
        assert torch.equal(state[key], saved[key]), f"{key} was re-initialised"
    assert model.config.num_labels == 5 and model.config.id2label[0] == LABEL_NAMES[0]


def test_the_run_seed_decides_the_new_head():
    torch.manual_seed(1)  # whatever state the global generators are in
    first, _ = load_classifier("minilm", seed=7)
    torch.manual_seed(2)
    second, _ = load_classifier("minilm", seed=7)
    other, _ = load_classifier("minilm", seed=8)
    assert torch.equal(first.classifier.weight, second.classifier.weight)
    assert not torch.equal(first.classifier.weight, other.classifier.weight)


@pytest.mark.slow
def test_same_parameters_give_the_same_model(tmp_path, sst_source):
    # MiniLM, whose 5-class head is new (the tiny test BERT is saved with one)
    cfg = resolve_config("smoke", model_name="minilm", schedule="random", epochs=1, max_sentences=100,
                         tracker="none", progress=False)
    trained = []
    for run in ("first", "second"):
        run_cfg = dataclasses.replace(cfg, output_dir=str(tmp_path / run))
        model, tokenizer = load_classifier(cfg.model_name, sst_source, seed=cfg.seed)
        trainer = build_trainer(run_cfg, model, tokenizer,
                                tokenize_splits(prepare_splits(run_cfg, sst_source), tokenizer, cfg.max_length))
        trainer.train()
        trained.append(trainer.model.state_dict())
    assert all(torch.equal(trained[0][key], trained[1][key]) for key in trained[0])


@pytest.mark.slow
def test_notebook_03_writes_metrics_and_predictions(smoke_run):
    metrics = json.loads((smoke_run / "run" / "metrics.json").read_text())
    assert metrics["status"] == "trained"  # notebook 04 completes a run
    assert metrics["params"]["schedule"] == "stratified:1,random:1"
    assert [h["strategy"] for h in metrics["history"]] == ["stratified", "random"]
    for split, level in (("validation", "sentence"), ("test", "sentence"), ("test", "phrase")):
        scores = metrics[split][level]
        assert 0 <= scores["accuracy"] <= 1 and len(scores["confusion_matrix"]) == 5
    assert "phrase" not in metrics["validation"]  # validation phrases are scored only when asked for
    predictions = pd.read_parquet(smoke_run / "run" / "predictions.parquet")
    assert set(predictions["split"]) == {"validation", "test"}
    assert predictions[predictions["split"] == "validation"]["is_root"].all()
    assert predictions[predictions["split"] == "test"]["sentence_id"].nunique() == 200
    probabilities = predictions[[f"prob_{i}" for i in range(5)]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    assert (probabilities.argmax(axis=1) == predictions["predicted"]).all()
    test_roots = predictions[(predictions["split"] == "test") & predictions["is_root"]]
    assert metrics["test"]["sentence"]["accuracy"] == pytest.approx(
        float((test_roots["label"] == test_roots["predicted"]).mean()))
    recorded = json.loads((smoke_run / "run" / "03_fine_tuning.json").read_text())
    assert recorded["test_sentence_accuracy"] == metrics["test"]["sentence"]["accuracy"]


@pytest.mark.slow
def test_notebook_03_writes_out_the_recipe_that_build_trainer_builds(smoke_run):
    """The lesson's TrainingArguments(...) cell and sst5.training.training_arguments (benchmarks and tests) agree."""
    used = json.loads((smoke_run / "run" / "training_args.json").read_text())
    cfg = resolve_config("smoke", schedule="stratified:1,random:1", epochs=2, max_sentences=200,
                         output_dir=str(smoke_run / "run"), progress=False)
    expected = json.loads(training_arguments(cfg, n_train=200).to_json_string())
    differing = {key for key in expected.keys() | used.keys() if expected.get(key) != used.get(key)}
    assert differing <= {"logging_dir"}, {key: (used.get(key), expected.get(key)) for key in differing}
    assert used["learning_rate"] == cfg.learning_rate and used["warmup_steps"] == warmup_steps(cfg, 200) > 0


def test_label_smoothing_reaches_the_trainer_and_stays_below_one():
    assert training_arguments(resolve_config("smoke", label_smoothing=0.1), n_train=100).label_smoothing_factor == 0.1
    assert training_arguments(resolve_config("smoke"), n_train=100).label_smoothing_factor == 0.0
    with pytest.raises(ValueError, match="label_smoothing"):
        resolve_config("smoke", label_smoothing=1.0)  # every label spread evenly: nothing left to learn


@pytest.mark.slow
def test_notebook_03_is_tracked_in_an_offline_clearml_session(smoke_run):
    sessions = [p for p in (smoke_run / "clearml" / "offline").iterdir() if p.is_dir()]
    assert len(sessions) == 1
    task = json.loads((sessions[0] / "task.json").read_text())
    course = task["hyperparams"]["course"]
    assert course["schedule"]["value"] == "stratified:1,random:1" and course["epochs"]["value"] == "2"
    assert {a["key"] for a in task["execution"]["artifacts"]} >= {"metrics", "predictions"}
    events = [e for line in (sessions[0] / "metrics.jsonl").read_text().splitlines() for e in json.loads(line)]
    scalars = {(e["metric"], e["variant"]) for e in events if e["type"] == "training_stats_scalar"}
    assert ("eval", "macro_f1") in scalars and ("train", "loss") in scalars
    plots = [json.loads(e["plot_str"]) for e in events if e["type"] == "plot"]
    titles = {p["layout"]["title"]["text"] if isinstance(p["layout"]["title"], dict) else p["layout"]["title"]
              for p in plots}
    assert "confusion matrix (test, sentence)" in titles
    assert (smoke_run / "clearml" / "offline" / f"{sessions[0].name}.zip").is_file()


@pytest.mark.slow
def test_predict_new_reviews_from_python_and_command_line(smoke_run, capsys, tmp_path):
    table = predict_texts(smoke_run / "run", ["A gorgeous, witty film.", "Dull and far too long."])
    assert list(table.columns) == ["text", "predicted", *LABEL_NAMES]
    assert np.allclose(table[list(LABEL_NAMES)].sum(axis=1), 1, atol=1e-4)
    assert set(table["predicted"]) <= set(LABEL_NAMES)
    assert main([str(smoke_run / "run"), "What a delight."]) == 0
    assert "What a delight." in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="no trained model"):
        load_run_model(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path), "text"])
    assert stop.value.code == 2 and "no trained model" in capsys.readouterr().err


@pytest.mark.slow
def test_predict_command_line_is_safe_for_long_and_hostile_input(smoke_run, capsys):
    long_review = "a fine film " * 100
    hostile = "nice\x1b[2J\x1b[31mred"
    assert main([str(smoke_run / "run"), "--max-length", "32", long_review, hostile]) == 0
    shown = capsys.readouterr()
    assert "1 text(s) longer than 32 tokens" in shown.err
    assert "\x1b" not in shown.out and "nice [2J [31mred" in shown.out  # control characters dropped, as the demo does
    assert long_review not in shown.out and "a fine film a fine film" in shown.out  # echoed, but cut


@pytest.mark.slow
def test_predict_refuses_bad_arguments_in_one_line(smoke_run, capsys, monkeypatch):
    run = str(smoke_run / "run")
    cases = {("--max-length", "-5", "fine"): "--max-length -5 is out of range",
             ("--max-length", "100000", "fine"): "--max-length 100000 is out of range",
             ("",): "text 1: Type a review first", ("fine", " \t"): "text 2: Type a review first",
             ("caf\udce9",): "text 1 is not UTF-8 text"}  # how Python hands over an argument in Latin-1
    for arguments, message in cases.items():
        with pytest.raises(SystemExit) as stop:
            main([run, *arguments])
        printed = capsys.readouterr().err
        assert stop.value.code == 2 and message in printed and printed.count("\n") == 1, (arguments, printed)
    monkeypatch.setattr("sys.stdin", io.StringIO("A gorgeous film.\n\nDull and far too long.\n"))
    assert main([run, "-"]) == 0
    out = capsys.readouterr().out
    assert "A gorgeous film." in out and "Dull and far too long." in out and len(out.strip().splitlines()) == 3


@pytest.mark.slow
def test_a_run_folder_without_its_tokenizer_is_refused(smoke_run, tmp_path, capsys):
    import shutil

    damaged = tmp_path / "run"
    shutil.copytree(smoke_run / "run" / "model", damaged / "model")
    (damaged / "model" / "tokenizer.json").unlink()
    with pytest.raises(FileNotFoundError, match="tokenizer in .* is damaged: it knows"):
        load_run_model(damaged)
    with pytest.raises(SystemExit) as stop:
        main([str(damaged), "fine"])
    assert stop.value.code == 2 and "is damaged" in capsys.readouterr().err


@pytest.mark.slow
def test_a_damaged_model_gives_a_clear_error(smoke_run, tmp_path):
    import shutil

    damaged = tmp_path / "run"
    shutil.copytree(smoke_run / "run" / "model", damaged / "model")
    weights = damaged / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a copy cut off half-way
    with pytest.raises(FileNotFoundError, match="is damaged and cannot be loaded"):
        load_run_model(damaged)


@pytest.mark.slow
def test_deduplicated_length_sorted_inference_equals_a_plain_forward_pass(smoke_run):
    from sst5.predict import predict_proba

    model, tokenizer = load_run_model(smoke_run / "run")
    texts = ["a gorgeous film", "dull", "a gorgeous film", "it is neither good nor bad , just long", "dull"]
    fast = predict_proba(model, tokenizer, texts, batch_tokens=12, progress=False)  # several batches
    with torch.inference_mode():
        plain = np.stack([torch.softmax(model(**tokenizer(text, return_tensors="pt")).logits[0], -1).numpy()
                          for text in texts])
    assert np.allclose(fast, plain, atol=1e-5)


def test_token_batches_fill_a_token_budget():
    from sst5.predict import token_batches

    lengths = np.random.default_rng(0).integers(2, 40, size=500).tolist() + [300]
    batches = token_batches(lengths, 256)
    assert sorted(np.concatenate(batches).tolist()) == list(range(501))
    for batch in batches:
        assert len(batch) * max(lengths[i] for i in batch) <= 256 or len(batch) == 1
    assert [len(b) for b in batches][-1] == 1  # the 300-token text alone
    for batch, following in zip(batches[:-1], batches[1:], strict=True):  # full: the next text would not have fitted
        assert (len(batch) + 1) * lengths[following[0]] > 256
    assert len(batches[0]) > 40  # short phrases share a pass by the dozen


@pytest.mark.slow
def test_lora_trains_adapters_and_saves_a_merged_model(tmp_path, sst_source):
    from sst5.config import resolve_config
    from sst5.training import build_trainer, evaluate_run, prepare_splits, save_run, tokenize_splits, training_history

    cfg = resolve_config("smoke", use_lora=True, epochs=1, schedule="random", max_sentences=64, tracker="none",
                         progress=False, output_dir=str(tmp_path / "lora"))
    model, tokenizer = load_classifier(cfg.model_name, sst_source)
    splits = prepare_splits(cfg, sst_source)
    trainer = build_trainer(cfg, model, tokenizer, tokenize_splits(splits, tokenizer, cfg.max_length))
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    assert trainable < 0.5 * sum(p.numel() for p in trainer.model.parameters())
    trainer.train()
    metrics, predictions = evaluate_run(trainer.model, tokenizer, splits, cfg)
    save_run(cfg, trainer, metrics, predictions, training_history(trainer, cfg), sst_source)
    merged, _ = load_run_model(cfg.output_dir)
    assert not any("lora" in key for key in merged.state_dict())
    assert merged.config.num_labels == 5


def test_a_half_precision_checkpoint_trains_with_float32_weights(tiny_model_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    half = tmp_path / "bf16"
    AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).save_pretrained(half)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(half)
    assert load_file(half / "model.safetensors")["bert.embeddings.word_embeddings.weight"].dtype == torch.bfloat16
    model, _ = load_classifier(str(half))
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def _trainer_keywords(source: str, config_name: str) -> dict[str, str]:
    """The keyword arguments of the ``ScheduledTrainer(...)`` call in ``source``, as text with the configuration
    named ``config``."""
    call = next(node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "ScheduledTrainer")
    return {k.arg: re.sub(rf"\b{config_name}\b", "config", ast.unparse(k.value)) for k in call.keywords}


def test_notebook_03_builds_the_trainer_that_build_trainer_builds():
    """The lesson writes the Trainer out; benchmarks and tests use build_trainer: the two must not drift."""
    cells = json.loads((ROOT / "notebooks" / "03_fine_tuning.ipynb").read_text())["cells"]
    cell = next("".join(c["source"]) for c in cells if "ScheduledTrainer(" in "".join(c["source"])
                and c["cell_type"] == "code" and "trainer =" in "".join(c["source"]))
    notebook = _trainer_keywords(cell, "cfg")
    package = _trainer_keywords(inspect.getsource(build_trainer), "config")
    assert notebook.keys() == package.keys()
    # the model (LoRA wrapped before the call there) and the arguments (a cell of their own) are written differently
    differing = {key for key in notebook if notebook[key] != package[key]}
    assert differing == {"model", "args"}, {key: (notebook[key], package[key]) for key in differing}
