"""A local Hugging Face Hub for the tests: tiny random twins of the gpu list's families, served by ``olah``.

Each twin is a git repository (one commit on ``main``, weights as plain blobs) laid out where olah's offline
mirror looks for it, under the Hub id of the gpu.txt entry it stands for, and in the form the Hub serves that
model: safetensors or ``.bin`` only, fp16-stored weights, an SST-2 or 3-class head, a sentencepiece model with
no ``tokenizer.json``, pruned attention heads. ``from_pretrained("<id>")`` with ``HF_ENDPOINT`` pointing at
the server then takes the code path it takes on Colab.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

#: Tiny configurations of the eleven families of gpu.txt (hidden 32, 2 layers, 2 heads).
TINY = {
    "bert": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
    "roberta": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                    max_position_embeddings=130),
    "electra": dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64),
    "albert": dict(embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=64),
    "mobilebert": dict(hidden_size=32, embedding_size=16, true_hidden_size=16, intra_bottleneck_size=16,
                       num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                       num_feedforward_networks=1),
    "distilbert": dict(dim=32, n_layers=2, n_heads=2, hidden_dim=64),
    "deberta": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                    pooler_hidden_size=32),
    "deberta-v2": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       pooler_hidden_size=32),
    "mpnet": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                  max_position_embeddings=130),
    "modernbert": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       global_attn_every_n_layers=2, max_position_embeddings=128),
    "xlnet": dict(d_model=32, n_layer=2, n_head=2, d_inner=64),
}


@dataclass(frozen=True)
class Twin:
    """A twin: the gpu.txt id it is served under, its family, and the form of its checkpoint."""

    hub_id: str
    model_type: str
    tokenizer: str  # wordpiece, bpe or spm
    weights: str = "safetensors"  # safetensors, bin or fp16
    num_labels: int = 5
    pruned: bool = False


TWINS = (
    Twin("bert-base-uncased", "bert", "wordpiece"),
    Twin("huawei-noah/TinyBERT_General_4L_312D", "bert", "wordpiece", weights="bin"),
    Twin("textattack/bert-base-uncased-SST-2", "bert", "wordpiece", weights="bin", num_labels=2),
    Twin("roberta-base", "roberta", "bpe"),
    Twin("cardiffnlp/twitter-roberta-base-sentiment-latest", "roberta", "bpe", num_labels=3),
    Twin("distilbert-base-uncased-finetuned-sst-2-english", "distilbert", "wordpiece", num_labels=2),
    Twin("albert-base-v2", "albert", "spm"),
    Twin("google/electra-small-discriminator", "electra", "wordpiece", weights="fp16"),
    Twin("microsoft/deberta-v3-xsmall", "deberta-v2", "spm"),
    Twin("microsoft/deberta-base", "deberta", "bpe"),
    Twin("xlnet-base-cased", "xlnet", "spm"),
    Twin("microsoft/mpnet-base", "mpnet", "wordpiece"),
    Twin("google/mobilebert-uncased", "mobilebert", "wordpiece", weights="bin"),
    Twin("answerdotai/ModernBERT-base", "modernbert", "bpe"),
    Twin("echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid", "bert", "wordpiece", num_labels=2, pruned=True),
)

# Special tokens per family, in id order, and the fast tokenizer class that wraps a `tokenizers` model.
_SPECIALS = {
    "bert": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    "roberta": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    "mpnet": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    "deberta": ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"],
    "modernbert": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
}
_SPM_CLASS = {"albert": "AlbertTokenizer", "deberta-v2": "DebertaV2Tokenizer", "xlnet": "XLNetTokenizer"}
_SPM_FILE = {"albert": "spiece.model", "deberta-v2": "spm.model", "xlnet": "spiece.model"}


def _fast_tokenizer(model_type: str, kind: str, texts: list[str]):
    """A fast tokenizer of the family's class, trained on ``texts`` (WordPiece or byte-level BPE)."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    specials = _SPECIALS.get(model_type, _SPECIALS["bert"])
    if kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=specials[_index(specials, "unk")]))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=1000, special_tokens=specials)
    else:
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=specials,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    cls, sep = specials[_index(specials, "cls")], specials[_index(specials, "sep")]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1",
        special_tokens=[(cls, tokenizer.token_to_id(cls)), (sep, tokenizer.token_to_id(sep))])
    names = {"bert": "BertTokenizerFast", "distilbert": "DistilBertTokenizerFast", "electra": "ElectraTokenizerFast",
             "mobilebert": "MobileBertTokenizerFast", "mpnet": "MPNetTokenizerFast",
             "roberta": "RobertaTokenizerFast", "deberta": "DebertaTokenizerFast",
             "modernbert": "PreTrainedTokenizerFast"}
    wrapper = getattr(transformers, names[model_type])
    roles = dict(zip(("pad", "unk", "cls", "sep", "mask"), (specials[_index(specials, r)] for r in
                                                            ("pad", "unk", "cls", "sep", "mask")), strict=True))
    extra = {"bos_token": roles["cls"], "eos_token": roles["sep"]} if model_type in ("roberta", "mpnet") else {}
    return wrapper(tokenizer_object=tokenizer, model_max_length=128, pad_token=roles["pad"],
                   unk_token=roles["unk"], cls_token=roles["cls"], sep_token=roles["sep"],
                   mask_token=roles["mask"], **extra)


def _index(specials: list[str], role: str) -> int:
    marks = {"pad": "pad", "unk": "unk", "cls": ("cls", "<s>"), "sep": ("sep", "</s>"), "mask": "mask"}
    wanted = marks[role] if isinstance(marks[role], tuple) else (marks[role],)
    return next(i for i, token in enumerate(specials) if any(w in token.lower() for w in wanted))


def _spm_tokenizer(model_type: str, texts: list[str], folder: Path):
    """A sentencepiece model only (no ``tokenizer.json``), as DeBERTa-v3, ALBERT and XLNet ship."""
    import sentencepiece
    import transformers

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(texts), encoding="utf-8")
    prefix = folder / "spm"
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(prefix), vocab_size=1000, model_type="unigram", pad_id=0, unk_id=1,
        bos_id=2, eos_id=3, user_defined_symbols=["[CLS]", "[SEP]", "[MASK]", "<cls>", "<sep>", "<mask>"],
        minloglevel=2)
    corpus.unlink()
    (prefix.with_suffix(".vocab")).unlink()
    target = folder / _SPM_FILE[model_type]
    prefix.with_suffix(".model").replace(target)
    specials = ({"cls_token": "<cls>", "sep_token": "<sep>", "mask_token": "<mask>"} if model_type == "xlnet"
                else {"cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"})
    config = {"tokenizer_class": _SPM_CLASS[model_type], "model_max_length": 128, "do_lower_case": False,
              "pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", **specials}
    if model_type == "xlnet":
        config["padding_side"] = "left"
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return getattr(transformers, _SPM_CLASS[model_type]).from_pretrained(str(folder))


def build_twin(twin: Twin, texts: list[str], folder: Path) -> Path:
    """Write ``twin``'s repository content (config, tokenizer, weights in its form) into ``folder``."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    folder.mkdir(parents=True)
    if twin.tokenizer == "spm":
        tokenizer = _spm_tokenizer(twin.model_type, texts, folder)
    else:
        tokenizer = _fast_tokenizer(twin.model_type, twin.tokenizer, texts)
        tokenizer.save_pretrained(folder)
    ids = {"pad_token_id": tokenizer.pad_token_id}
    if twin.model_type in ("roberta", "mpnet", "xlnet", "albert", "modernbert"):
        ids.update(bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id)
    if twin.model_type == "modernbert":
        ids.update(cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id)
    config = AutoConfig.for_model(twin.model_type, vocab_size=len(tokenizer), num_labels=twin.num_labels,
                                  **TINY[twin.model_type], **ids)
    torch.manual_seed(len(twin.hub_id))
    model = AutoModelForSequenceClassification.from_config(config)
    if twin.pruned:  # as BERT's old prune_heads left it: smaller q/k/v/o and config.pruned_heads
        from transformers.pytorch_utils import prune_linear_layer

        attention = model.bert.encoder.layer[0].attention
        index = torch.arange(16)  # keep head 1 of 2 (head size 16)
        for name in ("query", "key", "value"):
            setattr(attention.self, name, prune_linear_layer(getattr(attention.self, name), index))
        attention.output.dense = prune_linear_layer(attention.output.dense, index, dim=1)
        model.config.pruned_heads = {"0": [1]}
    if twin.weights == "fp16":
        model = model.half()
    if twin.weights == "bin":
        model.config.save_pretrained(folder)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
    else:
        model.save_pretrained(folder)
    return folder


def _git_commit(folder: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("-c", "user.name=sst5-tests", "-c", "user.email=tests@localhost", "commit", "-qm", "tiny twin")
    return git("rev-parse", "HEAD")


def _record_branch(repos: Path, hub_id: str, sha: str) -> None:
    """Tell olah where ``main`` points: offline, it resolves a branch only from its own cache."""
    revision = repos / "api" / "models" / hub_id / "revision" / "main"
    revision.mkdir(parents=True)
    (revision / "resolved_commit.json").write_text(json.dumps({"status_code": 200, "headers": {},
                                                              "cached_at": time.time()}))
    (revision / "resolved_commit.json.body").write_bytes(sha.encode())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalHub:
    """A running olah server and the environment that points clients at it."""

    endpoint: str
    folder: Path
    process: subprocess.Popen
    twins: tuple[Twin, ...]
    start_seconds: float

    @property
    def env(self) -> dict[str, str]:
        return {"HF_ENDPOINT": self.endpoint, "HF_HOME": str(self.folder / "hf-home"),
                "DISABLE_SAFETENSORS_CONVERSION": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def olah_command() -> list[str]:
    """The olah server's command: ``$SST5_OLAH``, else ``olah-cli`` on the PATH (the Makefile installs it)."""
    found = os.environ.get("SST5_OLAH") or shutil.which("olah-cli")
    if not found:
        raise FileNotFoundError("the local Hub needs olah: make install puts it in .venv-olah (SST5_OLAH)")
    return [found]


def start_local_hub(folder: Path, texts: list[str], twins: tuple[Twin, ...] = TWINS) -> LocalHub:
    """Build the twins into ``folder``, start olah on a free loopback port, and wait until it answers."""
    mirrors, repos = folder / "mirrors", folder / "repos"
    for twin in twins:
        repo = build_twin(twin, texts, mirrors / "models" / twin.hub_id)
        _record_branch(repos, twin.hub_id, _git_commit(repo))
    port = _free_port()
    (folder / "olah.toml").write_text(
        f'[basic]\nhost = "127.0.0.1"\nport = {port}\nrepos-path = "{repos}"\nmirrors-path = ["{mirrors}"]\n'
        f'mirror-netloc = "127.0.0.1:{port}"\nmirror-lfs-netloc = "127.0.0.1:{port}"\n\n'
        "[accessibility]\noffline = true\n")
    started = time.perf_counter()
    log = open(folder / "olah.log", "wb")  # noqa: SIM115 (the server writes it while it runs)
    process = subprocess.Popen([*olah_command(), "-c", str(folder / "olah.toml")], cwd=folder, stdout=log,
                               stderr=subprocess.STDOUT)
    probe = f"http://127.0.0.1:{port}/api/models/{twins[0].hub_id}/revision/main"
    while True:
        try:
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.perf_counter() - started > 60:
            process.kill()
            raise RuntimeError(f"olah did not start; see {folder / 'olah.log'}")
        time.sleep(0.1)
    return LocalHub(f"http://127.0.0.1:{port}", folder, process, twins, time.perf_counter() - started)
