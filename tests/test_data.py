import hashlib
import io
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from sst5 import data
from sst5.data import (
    SSTFormatError,
    column,
    first_occurrences,
    load_sst,
    parse_tree,
    read_release,
    resolve_source,
    subset_sentences,
)

OFFICIAL_ROOT_COUNTS = {
    "train": [1092, 2218, 1624, 2322, 1288],
    "validation": [139, 289, 229, 279, 165],
    "test": [279, 633, 389, 510, 399],
}


def test_official_counts_are_reproduced(sst, sst_sentences):
    assert {k: v.num_rows for k, v in sst_sentences.items()} == {"train": 8544, "validation": 1101, "test": 2210}
    assert {k: v.num_rows for k, v in sst.items()} == {"train": 318582, "validation": 41447, "test": 82600}
    for split, counts in OFFICIAL_ROOT_COUNTS.items():
        observed = Counter(sst_sentences[split]["label"])
        assert [observed[label] for label in range(5)] == counts


def test_sentence_ids_are_unique_across_splits(sst_sentences):
    ids = [i for split in sst_sentences.values() for i in split["sentence_id"]]
    assert len(ids) == len(set(ids)) == 8544 + 1101 + 2210


def test_no_break_space_stays_inside_its_token(sst):
    train = sst["train"].to_pandas()
    with_nbsp = train[train["text"].str.contains("\u00a0")]
    assert not with_nbsp.empty
    # the single-token phrase "2\xa01/2" exists: the no-break space did not split the token
    assert (with_nbsp["n_tokens"] == 1).any()
    assert "2\u00a01/2" in set(with_nbsp["text"])


def test_ptb_escapes_are_undone(sst):
    texts = sst["train"].to_pandas()["text"]
    assert not texts.str.contains("-LRB-|-RRB-|\\\\/", regex=True).any()
    assert texts.str.contains("(", regex=False).any()


def test_parse_tree_gives_phrases_in_preorder():
    tokens, nodes = parse_tree("(3 (2 Good) (4 (3 fun) (2 .)))")
    assert tokens == ["Good", "fun", "."]
    assert nodes == [(3, 0, 3), (2, 0, 1), (4, 1, 3), (3, 1, 2), (2, 2, 3)]


@pytest.mark.parametrize(
    "line, message",
    [("(3 (2 a) (2 b)", "unbalanced"), ("(7 word)", "label 0-4"), ("(3 a b)", "2 tokens"), ("(2 a) (2 b)", "after")],
)
def test_malformed_tree_names_file_and_line(tmp_path, sst_source, line, message):
    trees = tmp_path / "trees"
    trees.mkdir()
    release = read_release(sst_source)
    for split, name in data.SPLITS.items():
        lines = release.lines[split][:3] + ([line] if split == "validation" else [])
        (trees / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SSTFormatError, match=rf"dev\.txt:4: .*{message}"):
        load_sst(tmp_path)


def test_missing_path_names_path_and_variable(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.zip"
    monkeypatch.setenv("SST5_DATA", str(missing))
    with pytest.raises(FileNotFoundError, match=r"nowhere\.zip.*SST5_DATA"):
        resolve_source()


def test_checksum_mismatch_keeps_the_users_file(tmp_path):
    fake = tmp_path / "trainDevTestTrees_PTB.zip"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("trees/train.txt", "(2 x)\n")
    with pytest.raises(ValueError, match="checksum mismatch"):
        read_release(fake)
    assert fake.exists()


class _FakeResponse(io.BytesIO):
    headers = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_is_verified_and_atomic(tmp_path, monkeypatch, sst_source):
    official = Path(sst_source).read_bytes()
    assert hashlib.sha256(official).hexdigest() == data.OFFICIAL_SHA256
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: _FakeResponse(b"corrupted"))
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.download_official(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written is left behind
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: _FakeResponse(official))
    path = data.download_official(tmp_path)
    assert path.read_bytes() == official
    assert read_release(path).fingerprint == read_release(sst_source).fingerprint


def test_folder_and_zip_give_the_same_data(tmp_path, sst_source):
    release = read_release(sst_source)
    (tmp_path / "trees").mkdir()
    with zipfile.ZipFile(sst_source) as archive:
        for name in data.SPLITS.values():
            (tmp_path / "trees" / name).write_bytes(archive.read(f"trees/{name}"))
    assert read_release(tmp_path).fingerprint == release.fingerprint


def test_subset_keeps_whole_trees(sst):
    small = subset_sentences(sst, 50, seed=1)
    for name, split in small.items():
        ids = set(split["sentence_id"])
        assert len(ids) == 50
        full = sst[name].to_pandas()
        assert split.num_rows == full["sentence_id"].isin(ids).sum()
    assert subset_sentences(sst, 50, seed=1)["train"]["sentence_id"] == small["train"]["sentence_id"]


def test_parsed_table_is_cached_under_the_release_fingerprint(sst_source, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    parsed = load_sst(sst_source, cache=False)
    load_sst(sst_source)  # parses and writes the cache
    [folder] = (tmp_path / "sst5" / "parsed").iterdir()
    assert folder.name.startswith(read_release(sst_source).fingerprint[:24])
    monkeypatch.setattr(data, "_parse_release", lambda release: pytest.fail("parsed again despite the cache"))
    cached = load_sst(sst_source)
    for name, split in parsed.items():
        assert cached[name].features == split.features
        assert cached[name].to_pandas().equals(split.to_pandas())
    cached["train"].select(range(10)).map(lambda row: row)  # later maps must not write into the cache folder
    assert not list(folder.rglob("cache-*.arrow"))


def test_column_reads_the_selected_rows(sst):
    rows = sst["validation"].select([5, 0, 3])
    assert column(rows, "text").tolist() == [sst["validation"][i]["text"] for i in (5, 0, 3)]
    assert column(rows, "label").tolist() == [sst["validation"][i]["label"] for i in (5, 0, 3)]


def _release_folder(folder, sst_source, replace: dict[str, bytes]):
    """The official trees as a folder, with some files' bytes replaced."""
    (folder / "trees").mkdir(parents=True)
    with zipfile.ZipFile(sst_source) as archive:
        for name in data.SPLITS.values():
            (folder / "trees" / name).write_bytes(replace.get(name, archive.read(f"trees/{name}")))
    return folder


def test_an_empty_tree_file_is_refused_with_its_name(tmp_path, sst_source):
    _release_folder(tmp_path, sst_source, {"dev.txt": b""})
    with pytest.raises(SSTFormatError, match=r"dev\.txt: holds no tree"):
        load_sst(tmp_path, cache=False)


def test_a_file_in_another_encoding_is_refused_with_its_name(tmp_path, sst_source):
    _release_folder(tmp_path, sst_source, {"test.txt": "(2 (2 caf\u00e9) (2 noir))\n".encode("latin-1")})
    with pytest.raises(SSTFormatError, match=r"test\.txt: not UTF-8 text"):
        load_sst(tmp_path, cache=False)


def test_offline_without_data_says_how_to_point_at_the_data(tmp_path, monkeypatch):
    monkeypatch.delenv("SST5_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def offline(url, timeout):
        raise data.urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(ConnectionError, match=r"could not download .*Without internet, set SST5_DATA"):
        load_sst()
    assert not [p for p in (tmp_path / "sst5").iterdir() if p.is_file()]  # no partial download left


@pytest.mark.parametrize("damage", ["changed in place", "truncated", "dataset_dict.json deleted"])
def test_a_damaged_cache_is_rebuilt_not_trusted(sst_source, tmp_path, monkeypatch, caplog, damage):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    truth = load_sst(sst_source)["validation"].to_pandas()
    [folder] = (tmp_path / "sst5" / "parsed").iterdir()
    arrow = next((folder / "validation").glob("*.arrow"))
    if damage == "changed in place":  # same size, other labels
        raw = bytearray(arrow.read_bytes())
        raw[-4000:-3000] = bytes(1000)
        arrow.write_bytes(bytes(raw))
    elif damage == "truncated":
        arrow.write_bytes(arrow.read_bytes()[:1000])
    else:
        (folder / "dataset_dict.json").unlink()
    reloaded = load_sst(sst_source)["validation"].to_pandas()
    assert reloaded.equals(truth)
    assert "rebuilding the damaged cache" in caplog.text
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary copy left behind


def test_first_occurrences_keep_each_text_once_in_order():
    texts = ["a film", "good", "a film", "bad", "good", "good"]
    assert first_occurrences(texts).tolist() == [0, 1, 3]
