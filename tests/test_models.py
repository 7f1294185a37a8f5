import hashlib
import importlib.metadata
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
