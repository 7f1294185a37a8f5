"""The Stanford Sentiment Treebank: find the official release, parse its trees, serve them as datasets.

Every node of every parse tree is a labelled phrase (0 negative … 4 positive); the root is the whole
sentence. :func:`load_sst` returns one row per labelled node, so the sentence-level task (SST-5 as
published) and the phrase-level task are two views of the same table.

Where the release comes from, first match wins:

1. the ``source`` argument: the official ``trainDevTestTrees_PTB.zip`` or a folder holding
   ``trees/{train,dev,test}.txt``;
2. the ``SST5_DATA`` environment variable, same forms;
3. the official zip, downloaded once into the user cache and checked against its sha256.

The parsed table is cached on disk under the release's fingerprint, so a second kernel (the next
notebook, the next model of a batch) loads it in milliseconds instead of parsing 11,855 trees again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_from_disk
from tqdm.auto import tqdm

from .config import LABEL_NAMES, SEED, cache_dir
from .runs import file_sha256, write_atomic

__all__ = [
    "DATA_ENV",
    "OFFICIAL_URL",
    "OFFICIAL_SHA256",
    "SPLITS",
    "SSTFormatError",
    "SSTRelease",
    "resolve_source",
    "download_official",
    "read_release",
    "parse_tree",
    "unescape_ptb",
    "load_sst",
    "column",
    "to_frame",
    "cached_dataset_dict",
    "sentence_level",
    "subset_sentences",
    "first_occurrences",
]

DATA_ENV = "SST5_DATA"
OFFICIAL_URL = "https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip"
OFFICIAL_SHA256 = "5c613a4f673fc74097d523a2c83f38e0cc462984d847b82c7aaf36b01cbbbfcc"
#: Our split names and the release's file for each.
SPLITS = {"train": "train.txt", "validation": "dev.txt", "test": "test.txt"}

# Tokens are separated by ASCII spaces and parentheses only: three train sentences hold a
# no-break space (U+00A0) *inside* a token ("2 1/2"), which str.split() would break apart.
_TREE_TOKEN = re.compile(r"[()]|[^ ()\n\r]+")
_PTB_ESCAPES = {
    "-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}",
    "``": '"', "''": '"', "`": "'",
}
_BACKSLASH_ESCAPE = re.compile(r"\\(.)")


class SSTFormatError(ValueError):
    """A tree line that is not ``(label child child)`` / ``(label token)`` with labels 0-4."""


@dataclass(frozen=True)
class SSTRelease:
    """The raw tree lines of the three official splits and where they came from.

    ``fingerprint`` is the sha256 of the three files' bytes (train, dev, test), the same whether
    they came from the zip or a folder: split artifacts record it to prove they match the data.
    """

    path: Path
    lines: dict[str, list[str]]
    fingerprint: str


def download_official(folder: str | Path | None = None, url: str = OFFICIAL_URL) -> Path:
    """Download the official zip once into ``folder`` (default: the user cache) and verify its sha256.

    The download goes to a temporary file beside the target and is renamed into place only after
    the checksum matches, so an interrupted or corrupted download never leaves a usable-looking file.

    Raises
    ------
    ValueError
        The downloaded bytes do not match :data:`OFFICIAL_SHA256` (the temporary file is removed).
    ConnectionError
        The download failed (offline, say); the message says how to point ``SST5_DATA`` at the data.
    """
    cache = Path(folder) if folder else cache_dir()
    target = cache / "trainDevTestTrees_PTB.zip"
    if target.is_file() and file_sha256(target) == OFFICIAL_SHA256:
        return target

    def download(tmp: Path) -> None:
        try:
            with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc="SST download") as bar:
                    for block in iter(lambda: response.read(1 << 16), b""):
                        out.write(block)
                        bar.update(len(block))
        except OSError as error:  # URLError, timeouts, refused connections
            raise ConnectionError(
                f"could not download the SST release from {url} ({error}). Without internet, set {DATA_ENV} "
                "to trainDevTestTrees_PTB.zip or to a folder holding trees/train.txt, dev.txt and test.txt."
            ) from error
        actual = file_sha256(tmp)
        if actual != OFFICIAL_SHA256:
            raise ValueError(
                f"checksum mismatch for {url}: got sha256 {actual}, expected {OFFICIAL_SHA256}. "
                f"Nothing was saved; retry, or set {DATA_ENV} to a verified copy of the zip."
            )

    return write_atomic(target, download)  # a failed or interrupted download leaves nothing behind


def resolve_source(source: str | Path | None = None) -> Path:
    """Where the release is read from: ``source``, else ``$SST5_DATA``, else the cached download.

    Raises
    ------
    FileNotFoundError
        ``source`` or ``$SST5_DATA`` names a path that does not exist.
    """
    for given, origin in ((source, "source argument"), (os.environ.get(DATA_ENV), f"${DATA_ENV}")):
        if given:
            path = Path(given).expanduser()
            if not path.exists():
                raise FileNotFoundError(
                    f"SST data not found at {str(path)!r} (from the {origin}). Point {DATA_ENV} or "
                    "`source` at trainDevTestTrees_PTB.zip or at a folder holding trees/train.txt, "
                    f"or unset both to download the official release from {OFFICIAL_URL}."
                )
            return path
    return download_official()


def _tree_lines(raw: bytes, where: str | Path) -> list[str]:
    """The tree lines of one release file; an empty or non-UTF-8 file is an :class:`SSTFormatError`."""
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise SSTFormatError(f"{where}: not UTF-8 text ({error}); use the files of the official release, "
                             f"unchanged ({OFFICIAL_URL})") from error
    if not any(line.strip() for line in lines):
        raise SSTFormatError(f"{where}: holds no tree (the file is empty); use the files of the official release "
                             f"({OFFICIAL_URL})")
    return lines


def read_release(source: str | Path | None = None) -> SSTRelease:
    """Read the raw tree lines of train, dev and test (see :func:`resolve_source` for ``source``).

    Raises
    ------
    FileNotFoundError
        The zip or folder lacks one of ``trees/{train,dev,test}.txt``.
    ValueError
        A zip's checksum differs from the official release's.
    SSTFormatError
        A tree file is empty or not UTF-8 text.
    """
    path = resolve_source(source)
    digest = hashlib.sha256()
    lines = {}
    if path.is_dir():
        folder = path / "trees" if (path / "trees").is_dir() else path
        for split, name in SPLITS.items():
            member = folder / name
            if not member.is_file():
                raise FileNotFoundError(f"{member} is missing: the SST folder must hold trees/{name}")
            raw = member.read_bytes()
            digest.update(raw)
            lines[split] = _tree_lines(raw, member)
    else:
        if path.suffix == ".zip" and file_sha256(path) != OFFICIAL_SHA256:
            raise ValueError(
                f"checksum mismatch: {path} is not the official trainDevTestTrees_PTB.zip "
                f"(sha256 {OFFICIAL_SHA256}). The file was left as it is; replace it with the official "
                f"release from {OFFICIAL_URL}."
            )
        try:
            with zipfile.ZipFile(path) as archive:
                for split, name in SPLITS.items():
                    raw = archive.read(f"trees/{name}")
                    digest.update(raw)
                    lines[split] = _tree_lines(raw, f"{path}:trees/{name}")
        except zipfile.BadZipFile as error:
            raise SSTFormatError(f"{path}: not a zip file, or a damaged one ({error}); point {DATA_ENV} at the "
                                 f"official trainDevTestTrees_PTB.zip ({OFFICIAL_URL})") from error
        except KeyError as error:
            raise FileNotFoundError(f"{path}: the zip holds no {error.args[0]}; use the official release "
                                    f"({OFFICIAL_URL})") from error
    return SSTRelease(path=path, lines=lines, fingerprint=digest.hexdigest())


def unescape_ptb(token: str) -> str:
    """Turn a PTB-escaped token into plain text (``-LRB-`` → ``(``, ``\\/`` → ``/``)."""
    return _PTB_ESCAPES.get(token) or _BACKSLASH_ESCAPE.sub(r"\1", token)


def parse_tree(line: str, where: str = "<tree>") -> tuple[list[str], list[tuple[int, int, int]]]:
    """Parse one PTB tree line.

    Parameters
    ----------
    line : str
        ``(label child child)`` or ``(label token)``, nested; labels 0-4.
    where : str
        ``file:line`` used in error messages.

    Returns
    -------
    tokens : list of str
        The leaves, PTB escapes kept.
    nodes : list of (label, start, end)
        Every node in pre-order (the root first); its phrase is ``tokens[start:end]``.

    Raises
    ------
    SSTFormatError
        Unbalanced brackets, a label outside 0-4, a node with neither one token nor two children,
        or text after the root.
    """
    tokens: list[str] = []
    nodes: list[tuple[int, int, int]] = []
    stack: list[list[int]] = []  # [node index, children seen, tokens seen]
    parts = _TREE_TOKEN.findall(line)
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "(":
            if nodes and not stack:
                raise SSTFormatError(f"{where}: text after the end of the tree")
            label = parts[i + 1] if i + 1 < len(parts) else ""
            if label not in ("0", "1", "2", "3", "4"):
                raise SSTFormatError(f"{where}: expected a label 0-4 after '(', found {label!r}")
            if stack:
                stack[-1][1] += 1
            nodes.append((int(label), len(tokens), -1))
            stack.append([len(nodes) - 1, 0, 0])
            i += 2
            continue
        if not stack:
            raise SSTFormatError(f"{where}: {part!r} outside any bracket")
        if part == ")":
            index, children, words = stack.pop()
            if not ((children == 0 and words == 1) or (children == 2 and words == 0)):
                raise SSTFormatError(
                    f"{where}: node {index} has {children} children and {words} tokens; "
                    "expected (label token) or (label child child)"
                )
            label, start, _ = nodes[index]
            nodes[index] = (label, start, len(tokens))
        else:
            tokens.append(part)
            stack[-1][2] += 1
        i += 1
    if stack or not nodes:
        raise SSTFormatError(f"{where}: unbalanced brackets or empty line")
    return tokens, nodes


def _iter_rows(lines: list[str], file_name: str, first_id: int) -> Iterator[tuple]:
    for line_no, line in enumerate(lines, start=1):
        tokens, nodes = parse_tree(line, where=f"{file_name}:{line_no}")
        words = [unescape_ptb(token) for token in tokens]
        sentence_id = first_id + line_no - 1
        for position, (label, start, end) in enumerate(nodes):
            yield sentence_id, " ".join(words[start:end]), label, end - start, position == 0


_FEATURES = Features(
    {
        "sentence_id": Value("int32"),
        "text": Value("string"),
        "label": ClassLabel(names=list(LABEL_NAMES)),
        "n_tokens": Value("int32"),
        "is_root": Value("bool"),
    }
)
#: Bump when parsing changes, so cached tables from the old parser are not reused.
_PARSER_VERSION = 1
_MANIFEST = "sst5-manifest.json"
_log = logging.getLogger(__name__)


def _manifest(folder: Path) -> dict[str, str]:
    """sha256 of every file of a saved dataset, by relative path."""
    return {str(f.relative_to(folder)): file_sha256(f) for f in sorted(folder.rglob("*"))
            if f.is_file() and f.name != _MANIFEST}


def _cache_damage(folder: Path) -> str | None:
    """What is wrong with a cache folder (missing or changed files), or None when it is intact."""
    try:
        expected = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"no readable {_MANIFEST}"
    # only the files saved with the manifest: datasets may add its own cache files beside them later
    changed = [name for name, digest in expected.items()
               if not (folder / name).is_file() or file_sha256(folder / name) != digest]
    return f"changed or missing: {', '.join(changed)}" if changed else None


def cached_dataset_dict(folder: str | Path, build: Callable[[], DatasetDict], keep_in_memory: bool = False
                        ) -> DatasetDict:
    """Load the ``DatasetDict`` saved in ``folder``, or ``build()`` it and save it there first.

    A cache is trusted only when every file matches the sha256 manifest written with it: a cache
    changed in place, truncated or half deleted is rebuilt, with a one-line warning. The save goes to a
    temporary sibling that is renamed into place, so an interrupted run never leaves a half-written
    cache. ``keep_in_memory`` loads a copy into memory, so that later ``map`` results are not written
    into the cache folder beside it.
    """
    folder = Path(folder)
    if folder.exists():
        damage = _cache_damage(folder)
        if damage is None:
            return load_from_disk(str(folder), keep_in_memory=keep_in_memory)
        _log.warning("sst5: rebuilding the damaged cache %s (%s)", folder, damage)
        shutil.rmtree(folder)
    tmp = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    try:
        build().save_to_disk(str(tmp))
        (tmp / _MANIFEST).write_text(json.dumps(_manifest(tmp), indent=1), encoding="utf-8")
        if not folder.exists():  # another process may have finished the same cache meanwhile
            tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return load_from_disk(str(folder), keep_in_memory=keep_in_memory)


def to_frame(sst: DatasetDict) -> pd.DataFrame:
    """All splits in one pandas table with a ``split`` column."""
    return pd.concat([split.to_pandas().assign(split=name) for name, split in sst.items()], ignore_index=True)


def column(dataset: Dataset, name: str) -> np.ndarray:
    """One column as a NumPy array, read through Arrow.

    ``dataset[name]`` decodes row by row (seconds for SST's 300,000 training phrases); Arrow is
    about ten times faster and honours a ``select``.
    """
    return dataset.with_format("arrow")[name].to_numpy()


def _parse_release(release: SSTRelease) -> DatasetDict:
    splits, first_id = {}, 0
    for split, file_name in SPLITS.items():
        rows = list(_iter_rows(release.lines[split], f"{release.path}:{file_name}", first_id))
        frame = pd.DataFrame(rows, columns=list(_FEATURES))
        splits[split] = Dataset.from_pandas(frame, features=_FEATURES, preserve_index=False)
        first_id += len(release.lines[split])
    return DatasetDict(splits)


def load_sst(source: str | Path | None = None, cache: bool = True) -> DatasetDict:
    """Load SST-5 with one row per labelled tree node.

    Parameters
    ----------
    source : str or Path, optional
        The official zip or a folder with ``trees/*.txt``; default ``$SST5_DATA``, else the
        cached official download.
    cache : bool
        Reuse (or write) the parsed table in the user cache, keyed by the release's fingerprint.

    Returns
    -------
    datasets.DatasetDict
        Splits ``train``, ``validation``, ``test`` with columns ``sentence_id`` (unique across
        splits), ``text`` (un-escaped tokens joined by spaces), ``label`` (0-4, names in
        :data:`sst5.config.LABEL_NAMES`), ``n_tokens`` and ``is_root`` (the whole sentence).

    Raises
    ------
    FileNotFoundError, ValueError, SSTFormatError
        See :func:`resolve_source`, :func:`read_release`, :func:`parse_tree`.

    Examples
    --------
    >>> sst = load_sst()                                      # doctest: +SKIP
    >>> sentence_level(sst)["train"].num_rows                 # doctest: +SKIP
    8544
    """
    release = read_release(source)
    if not cache:
        return _parse_release(release)
    folder = cache_dir() / "parsed" / f"{release.fingerprint[:24]}-v{_PARSER_VERSION}"
    return cached_dataset_dict(folder, lambda: _parse_release(release), keep_in_memory=True)


def sentence_level(sst: DatasetDict) -> DatasetDict:
    """The sentence-level view: only the root of each tree (the published SST-5 task)."""
    return DatasetDict({name: split.select(np.flatnonzero(column(split, "is_root"))) for name, split in sst.items()})


def first_occurrences(texts: Sequence[str]) -> np.ndarray:
    """Row indices, in order, of each distinct text's first occurrence.

    SST labels a phrase once: its copies in other trees (mostly short, neutral phrases) add weight, not
    information, so training on "distinct phrases" keeps these rows.
    """
    _, first = np.unique(np.asarray(texts, dtype=object), return_index=True)
    return np.sort(first)


def subset_sentences(sst: DatasetDict, max_sentences: int | None, seed: int = SEED) -> DatasetDict:
    """Keep at most ``max_sentences`` whole trees per split, drawn at random with ``seed``.

    Whole trees are kept or dropped, so a subset never splits a sentence's phrases.
    """
    if max_sentences is None:
        return sst
    rng = np.random.default_rng(seed)
    result = {}
    for name, split in sst.items():
        sentence_ids = column(split, "sentence_id")
        ids = np.unique(sentence_ids)
        if len(ids) <= max_sentences:
            result[name] = split
            continue
        keep = rng.choice(ids, size=max_sentences, replace=False)
        result[name] = split.select(np.flatnonzero(np.isin(sentence_ids, keep)))
    return DatasetDict(result)
