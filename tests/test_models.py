import hashlib
import importlib.metadata
import json
import zipfile

import pytest

from sst5 import models
from sst5.models import MPNET_PARTS, load_classifier, resolve_model, unpack_split_zip


def _split_zip(tmp_path, n_parts=3):
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("model/config.json", '{"model_type": "bert"}')
        out.writestr("model/1_Pooling/config.json", "{}")
        out.writestr("model/desktop.ini", "[.ShellClassInfo]")
    data = archive.read_bytes()
    size = -(-len(data) // n_parts)
    parts = []
    for i in range(n_parts):
        part = tmp_path / f"model.zip.{i + 1:03d}"
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    return parts, hashlib.sha256(data).hexdigest()


def test_a_split_zip_is_joined_checked_and_unpacked(tmp_path):
    parts, sha256 = _split_zip(tmp_path)
    folder = unpack_split_zip(parts, sha256, tmp_path / "cache" / "model")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json", "config.json"]
    assert not list(folder.parent.glob(".model.*")), "no temporary folder left"


def test_parts_out_of_order_are_refused_and_nothing_is_written(tmp_path):
    parts, sha256 = _split_zip(tmp_path)
    with pytest.raises(ValueError, match="do not make the expected zip.*reinstall"):
        unpack_split_zip([parts[1], parts[0], parts[2]], sha256, tmp_path / "cache" / "model")
    assert not (tmp_path / "cache" / "model").exists()


def _mpnet_installed():
    try:
        return all(importlib.metadata.distribution(name) for name in MPNET_PARTS)
    except importlib.metadata.PackageNotFoundError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _mpnet_installed(), reason="the mpnet extra is not installed (make install installs it)")
def test_packaged_mpnet_loads_offline_with_the_auto_classes(monkeypatch):
    model, tokenizer = load_classifier("mpnet")
    assert type(model).__name__ == "MPNetForSequenceClassification" and model.config.num_labels == 5
    assert 109e6 < sum(p.numel() for p in model.parameters()) < 111e6
    assert tokenizer("a gorgeous film")["input_ids"][0] == tokenizer.cls_token_id
    first = resolve_model("mpnet")

    def unpack_again(*args, **kwargs):
        raise AssertionError("the packaged MPNet was unpacked again")

    monkeypatch.setattr(models, "unpack_split_zip", unpack_again)  # reassembled once, then reused
    assert resolve_model("mpnet") == first


def _unpruned_reference(pruned_folder, removed: dict):
    """The pruned twin's weights put by hand into an unpruned model of the same size: each removed head's value
    rows and output columns zero (a removed head adds nothing), the kept heads' weights in their places."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, BertForSequenceClassification

    config = AutoConfig.from_pretrained(pruned_folder)
    config.pruned_heads = {}
    reference = BertForSequenceClassification(config).eval()
    weights = load_file(pruned_folder / "model.safetensors")
    size = config.hidden_size // config.num_attention_heads
    state = reference.state_dict()
    for key, value in weights.items():
        layer = key.split("encoder.layer.")[1].split(".")[0] if "encoder.layer." in key else None
        heads = [int(h) for h in removed.get(layer, [])]
        if key not in state or state[key].shape == value.shape:
            state[key] = value
            continue
        kept = [h for h in range(config.num_attention_heads) if h not in heads]
        rows = torch.tensor([h * size + i for h in kept for i in range(size)], dtype=torch.long)
        full = torch.zeros_like(state[key])
        if "attention.output.dense.weight" in key:
            full[:, rows] = value
        else:
            full[rows] = value
        state[key] = full
    reference.load_state_dict(state)
    return reference


@pytest.mark.parametrize("removed", [{"0": [1]}, {"0": [0, 1]}], ids=["one head", "every head of a layer"])
def test_a_pruned_checkpoint_loads_with_its_heads_rebuilt_and_trains(tmp_path, sst_sentences, removed):
    """transformers 5 dropped prune_heads; the course rebuilds the kept heads (echarlaix's pruned BERT)."""
    import torch

    from sst5.predict import load_run_model
    from tests.local_hub import TWINS, build_twin

    twin = next(twin for twin in TWINS if twin.pruned)
    folder = build_twin(twin, list(sst_sentences["train"]["text"][:500]), tmp_path / "twin")
    if removed != {"0": [1]}:  # prune the twin's last head too: a layer left without heads
        from safetensors.torch import load_file, save_file

        weights = load_file(folder / "model.safetensors")
        for name in ("query", "key", "value"):
            for part in ("weight", "bias"):
                key = f"bert.encoder.layer.0.attention.self.{name}.{part}"
                weights[key] = weights[key][:0].contiguous()
        key = "bert.encoder.layer.0.attention.output.dense.weight"
        weights[key] = weights[key][:, :0].contiguous()
        save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "pruned_heads": removed}))
    model, tokenizer = load_classifier(str(folder), seed=3)
    model.eval()
    batch = tokenizer(["a gorgeous , witty film", "dull"], padding=True, return_tensors="pt")
    reference = _unpruned_reference(folder, removed)
    reference.classifier = model.classifier  # the new 5-class head, the same in both
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, reference(**batch).logits, atol=1e-5)
    attention = model.bert.encoder.layer[0].attention.self
    assert attention.query.out_features == 16  # one head of 16: the kept one, or zeros standing for none
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(3):  # it trains: the loss falls on a fixed batch
        loss = model(**batch, labels=torch.tensor([4, 0])).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert model(**batch, labels=torch.tensor([4, 0])).loss < loss
    model.eval()
    model.save_pretrained(tmp_path / "run" / "model")  # a trained run reloads with its heads rebuilt
    tokenizer.save_pretrained(tmp_path / "run" / "model")
    reloaded, _ = load_run_model(tmp_path / "run")
    with torch.no_grad():
        assert torch.allclose(reloaded(**batch).logits, model(**batch).logits, atol=1e-5)
