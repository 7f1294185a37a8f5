"""Every architecture family of the gpu list: LoRA targets, what may be newly initialised when a checkpoint
loads, non-finite losses, and planning when the Hub cannot tell a model's size."""

import dataclasses
import json
import shutil

import pytest
import torch
from huggingface_hub.errors import NotASafetensorsRepoError
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from sst5 import batch as batch_module
from sst5.analysis import token_attributions
from sst5.batch import disk_needed, disk_warning, parse_assignments, plan_runs
from sst5.config import resolve_config
from sst5.models import LORA_TARGET_MODULES, add_lora, head_modules, load_classifier
from sst5.training import build_trainer, prepare_splits, tokenize_splits

from .local_hub import TINY


def _tiny_classifier(model_type, vocab_size=128):
    # pad id inside the vocabulary (ModernBERT defaults to 50283)
    config = AutoConfig.for_model(model_type, vocab_size=vocab_size, num_labels=5, pad_token_id=0, **TINY[model_type])
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(config)


def test_every_family_of_the_gpu_list_has_lora_targets():
    assert sorted(TINY) == sorted(LORA_TARGET_MODULES)


@pytest.mark.parametrize("model_type", sorted(TINY))
def test_lora_adapts_every_family_and_trains_its_head_and_pooler_whole(model_type):
    model = _tiny_classifier(model_type)
    heads = head_modules(model)
    assert heads, "every classifier has a head"
    wrapped = add_lora(model)
    trainable = {name for name, p in wrapped.named_parameters() if p.requires_grad}
    assert any("lora_" in name for name in trainable), "adapters were added"
    for name, parameter in wrapped.named_parameters():
        is_head = any(f".{head}." in name for head in heads) or ".pooler." in name
        if is_head and "original_module" not in name:
            assert parameter.requires_grad, f"{name} (head or pooler) is frozen"
        if not is_head and "lora_" not in name:
            assert not parameter.requires_grad, f"{name} (encoder) trains in full"
    ids = torch.randint(5, 128, (2, 7))
    logits = wrapped(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    assert logits.shape == (2, 5) and torch.isfinite(logits).all()


@pytest.mark.parametrize("model_type", sorted(TINY))
def test_attributions_add_up_for_every_family(model_type, tiny_model_dir):
    """Integrated gradients through inputs_embeds work for every architecture (XLNet embeds sequence-first,
    which hooking the embedding layer gets wrong); the tiny BERT's tokenizer stands in for each family's."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = _tiny_classifier(model_type, vocab_size=len(tokenizer))
    attribution = token_attributions(model, tokenizer, "a gorgeous , witty , seductive movie", n_steps=32)
    assert attribution.scores.shape == (len(attribution.tokens),)
    difference = attribution.logit - attribution.baseline_logit
    assert attribution.scores.sum() == pytest.approx(difference, abs=attribution.delta + 1e-5)


def test_lora_is_refused_up_front_for_an_unknown_architecture():
    model = _tiny_classifier("bert")
    model.config.model_type = "gpt2"
    with pytest.raises(ValueError, match="no LoRA target modules are known for 'gpt2'.*use_lora=False"):
        add_lora(model)


def _copy_model(source, target):
    shutil.copytree(source, target)
    return target, load_file(target / "model.safetensors")


def test_an_encoder_weight_missing_from_the_checkpoint_is_an_error_naming_it(tiny_model_dir, tmp_path):
    folder, weights = _copy_model(tiny_model_dir, tmp_path / "damaged")
    del weights["bert.encoder.layer.1.attention.self.query.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"bert\.encoder\.layer\.1\.attention\.self\.query\.weight"):
        load_classifier(str(folder))


def test_a_checkpoint_head_of_another_size_and_a_missing_pooler_are_new(tiny_model_dir, tmp_path):
    folder, weights = _copy_model(tiny_model_dir, tmp_path / "sst2")
    weights["classifier.weight"] = weights["classifier.weight"][:2].clone()  # an SST-2 head
    weights["classifier.bias"] = weights["classifier.bias"][:2].clone()
    del weights["bert.pooler.dense.weight"], weights["bert.pooler.dense.bias"]  # as sentence-transformers ship
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((folder / "config.json").read_text())
    config.update(num_labels=2, id2label={"0": "NEGATIVE", "1": "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    (folder / "config.json").write_text(json.dumps(config))
    model, _ = load_classifier(str(folder))
    assert model.classifier.weight.shape[0] == 5
    assert torch.equal(model.bert.encoder.layer[0].output.dense.weight,
                       weights["bert.encoder.layer.0.output.dense.weight"])


def test_a_non_finite_loss_fails_the_run_naming_the_step_and_what_to_try(tmp_path, sst_source):
    cfg = resolve_config("smoke", epochs=1, schedule="random", max_sentences=64, tracker="none", progress=False,
                         output_dir=str(tmp_path / "nan"))
    model, tokenizer = load_classifier(cfg.model_name, sst_source, seed=cfg.seed)
    trainer = build_trainer(cfg, model, tokenizer,
                            tokenize_splits(prepare_splits(cfg, sst_source), tokenizer, cfg.max_length))
    with torch.no_grad():
        model.classifier.bias[0] = float("nan")  # as an fp16 overflow would leave it
    with pytest.raises(FloatingPointError, match=r"at step 1 .*mixed_precision=False"):
        trainer.train()
    assert dataclasses.replace(cfg).mixed_precision  # the default the message tells the user to turn off


def test_booleans_are_accepted_as_yes_no_true_false():
    assert parse_assignments(["mixed_precision=no", "use_lora=Yes", "progress=false", "keep_checkpoints=TRUE"]) == {
        "mixed_precision": False, "use_lora": True, "progress": False, "keep_checkpoints": True}
    assert plan_runs(["minilm mixed_precision=no"], {}, "cpu")[0].params["mixed_precision"] is False


def test_a_hub_repository_without_safetensors_is_an_unknown_size_not_a_crash(tmp_path, monkeypatch):
    def no_safetensors(repo_id, **kwargs):  # what the Hub answers for a .bin-only repository
        raise NotASafetensorsRepoError(f"{repo_id} is not a safetensors repo")

    monkeypatch.setattr("huggingface_hub.get_safetensors_metadata", no_safetensors)
    specs = plan_runs(["minilm", "huawei-noah/TinyBERT_General_4L_312D"], {}, "cpu")
    needed, unknown = disk_needed(specs, tmp_path)
    assert unknown == 1 and needed > 4 * 22_000_000
    assert "1 of the 2 run(s) have an unknown size" in disk_warning(specs, tmp_path)
    monkeypatch.setattr(batch_module.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 1})())
    assert "(1 of them of unknown size, not counted)" in disk_warning(specs, tmp_path)
