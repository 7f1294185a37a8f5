"""Classify text with a fine-tuned run: from Python (:func:`load_run_model`, :func:`predict_texts`) or the
command line (``sst5-predict RUN_DIR "a gorgeous, witty film"``).

Inference scores each distinct text once, sorts texts by length, pads each batch only to its longest
member and fills batches up to a token budget, which is what makes phrase-level evaluation (tens of
thousands of short, often repeated phrases) fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .config import LABEL_NAMES
from .runs import MODEL_SUBDIR

__all__ = ["token_batches", "predict_proba", "load_run_model", "predict_texts", "main"]


def token_batches(lengths: Sequence[int], batch_tokens: int) -> list[np.ndarray]:
    """Indices sorted by length, cut into batches whose padded size (texts x longest) stays within
    ``batch_tokens`` (a text longer than that gets a batch of its own)."""
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    for end in range(1, len(order) + 1):  # sorted ascending: the newest text is the batch's longest
        if end == len(order) or (end + 1 - start) * lengths[order[end]] > batch_tokens:
            batches.append(order[start:end])
            start = end
    return batches


def predict_proba(
    model, tokenizer, texts: Sequence[str], batch_tokens: int = 8192, max_length: int = 128, progress: bool = True,
    cpu_bf16: bool = False,
) -> np.ndarray:
    """Class probabilities (n_texts x 5) for ``texts``, each distinct text scored once.

    Parameters
    ----------
    model, tokenizer
        A sequence-classification model and its tokenizer.
    texts : sequence of str
        Texts to classify.
    batch_tokens : int
        Padded tokens per forward pass: texts are sorted by length and batched up to this size, so that
        hundreds of short phrases share one pass instead of a fixed number of texts per pass.
    max_length : int
        Token limit (longer texts are truncated).
    progress : bool
        Show a tqdm bar.
    cpu_bf16 : bool
        bf16 autocast on the CPU: for CPUs with native bf16 (:func:`sst5.precision.run_precision`).
    """
    import torch

    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    encoded = tokenizer(list(unique), truncation=True, max_length=max_length)
    device = next(model.parameters()).device
    model.eval()
    probabilities = np.zeros((len(unique), model.config.num_labels), dtype=np.float32)
    batches = token_batches([len(ids) for ids in encoded["input_ids"]], batch_tokens)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_bf16):
        for rows in tqdm(batches, desc="predict", disable=not progress, leave=False):
            features = [{key: encoded[key][i] for key in encoded} for i in rows]
            batch = tokenizer.pad(features, return_tensors="pt").to(device)
            logits = model(**batch).logits.float()
            probabilities[rows] = torch.softmax(logits, dim=-1).cpu().numpy()
    return probabilities[inverse.ravel()]


def load_run_model(run_dir: str | Path):
    """Load ``(model, tokenizer)`` saved by a fine-tuning run in ``run_dir``.

    Raises
    ------
    FileNotFoundError
        ``run_dir`` holds no saved model (the run failed or has not finished), or a damaged one.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(run_dir) / MODEL_SUBDIR
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no trained model in {Path(run_dir)}: expected {folder}/config.json. Point at the output folder "
            "of a finished notebook-03 run (or a batch run's <out>/<run-name>)."
        )
    from safetensors import SafetensorError

    try:
        return AutoModelForSequenceClassification.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        raise FileNotFoundError(
            f"the model in {folder} is damaged and cannot be loaded ({type(error).__name__}: {error}); delete "
            f"{Path(run_dir)} and run it again (sst5-batch retrains it)") from error


def predict_texts(run: str | Path | tuple, texts: Sequence[str], max_length: int = 128) -> pd.DataFrame:
    """Classify new texts with a run (its folder, or a loaded ``(model, tokenizer)``): one row per text
    with its label name and five probabilities."""
    model, tokenizer = run if isinstance(run, tuple) else load_run_model(run)
    probabilities = predict_proba(model, tokenizer, list(texts), max_length=max_length, progress=False)
    table = pd.DataFrame(probabilities, columns=list(LABEL_NAMES))
    table.insert(0, "predicted", [LABEL_NAMES[i] for i in probabilities.argmax(axis=1)])
    table.insert(0, "text", list(texts))
    return table


def _printable(text: str, width: int = 60) -> str:
    """``text`` safe for a terminal: control characters (escape sequences) shown escaped, cut to ``width``."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the predicted class and probabilities of each text."""
    parser = argparse.ArgumentParser(description="Classify reviews with a fine-tuned sst5 run.")
    parser.add_argument("run_dir", help="output folder of a fine-tuning run")
    parser.add_argument("texts", nargs="+", help="texts to classify")
    parser.add_argument("--max-length", type=int, default=128, help="token limit; longer texts are cut (default 128)")
    args = parser.parse_args(argv)
    try:
        model, tokenizer = load_run_model(args.run_dir)
    except FileNotFoundError as error:
        parser.exit(2, f"error: {error}\n")
    cut = sum(len(ids) > args.max_length for ids in tokenizer(args.texts, truncation=False)["input_ids"])
    if cut:
        print(f"note: {cut} text(s) longer than {args.max_length} tokens were classified on their first "
              f"{args.max_length} tokens (--max-length)", file=sys.stderr)
    table = predict_texts((model, tokenizer), args.texts, max_length=args.max_length)
    table["text"] = table["text"].map(_printable)
    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print(table.round(3).to_string(index=False))
    return 0
