"""Classify text with a fine-tuned run: from Python (:func:`load_run_model`, :func:`predict_texts`) or the
command line (``sst5-predict RUN_DIR "a gorgeous, witty film"``).

Inference scores each distinct text once, sorts texts by length, pads each batch only to its longest
member and fills batches up to a token budget, which is what makes phrase-level evaluation (tens of
thousands of short, often repeated phrases) fast.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .config import LABEL_NAMES
from .models import POOLING_ATTRIBUTE, pretrained_classifier, use_pooling
from .runs import MODEL_SUBDIR
from .text import model_text, text_form_of

__all__ = ["MAX_REVIEW_CHARS", "clean_review", "token_batches", "predict_proba", "load_run_model", "predict_texts",
           "main"]

#: The longest review the course classifies: a few paragraphs (the model reads its first 128 tokens anyway).
MAX_REVIEW_CHARS = 5000
#: A tokenizer with fewer entries than this share of the model's embedding rows is not the model's own.
_MIN_VOCABULARY_SHARE = 0.5


def clean_review(text: str | None) -> str:
    """``text`` with control characters removed and whitespace collapsed: what the demo and ``sst5-predict``
    classify.

    Raises
    ------
    ValueError
        The review is empty (or only control characters and spaces), or longer than :data:`MAX_REVIEW_CHARS`;
        the message says what to do.
    """
    kept = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text or "")
    review = " ".join(kept.split())
    if not review:
        raise ValueError("Type a review first: the box is empty.")
    if len(review) > MAX_REVIEW_CHARS:
        raise ValueError(f"That review is {len(review):,} characters long; the demo takes up to "
                         f"{MAX_REVIEW_CHARS:,}. Paste a shorter one (the model reads its first 128 tokens).")
    return review


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
    cpu_bf16: bool = False, text_form: str | None = None,
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
    text_form : str, optional
        The form the model reads (:func:`sst5.text.model_text`); default: the one its config records.
    """
    import torch

    form = text_form or text_form_of(model)
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    encoded = tokenizer([model_text(text, form) for text in unique], truncation=True, max_length=max_length)
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
    from transformers import AutoTokenizer

    folder = Path(run_dir) / MODEL_SUBDIR
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"no trained model in {Path(run_dir)}: expected {folder}/config.json. Point at the output folder "
            "of a finished notebook-03 run (or a batch run's <out>/<run-name>)."
        )
    from safetensors import SafetensorError

    try:
        model, _ = pretrained_classifier(str(folder), new_head=False)
        model = use_pooling(model, getattr(model.config, POOLING_ATTRIBUTE, "cls"))
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        raise FileNotFoundError(
            f"the model in {folder} is damaged and cannot be loaded ({type(error).__name__}: {error}); delete "
            f"{Path(run_dir)} and run it again (sst5-batch retrains it)") from error
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) < _MIN_VOCABULARY_SHARE * rows:  # e.g. tokenizer.json lost: every word would be [UNK]
        raise FileNotFoundError(
            f"the tokenizer in {folder} is damaged: it knows {len(tokenizer):,} tokens, the model {rows:,}; delete "
            f"{Path(run_dir)} and run it again (sst5-batch retrains it)")
    return model, tokenizer


def predict_texts(run: str | Path | tuple, texts: Sequence[str], max_length: int = 128,
                  temperature: float | None = None) -> pd.DataFrame:
    """Classify new texts with a run (its folder, or a loaded ``(model, tokenizer)``): one row per text
    with its label name and five probabilities, scaled by ``temperature`` (default: the one fitted on a run
    folder's validation sentences, :func:`sst5.calibration.run_temperature`; none for a loaded model)."""
    from .calibration import run_temperature, scale_probabilities

    model, tokenizer = run if isinstance(run, tuple) else load_run_model(run)
    if temperature is None and not isinstance(run, tuple):
        temperature = run_temperature(run)
    probabilities = predict_proba(model, tokenizer, list(texts), max_length=max_length, progress=False)
    probabilities = scale_probabilities(probabilities, temperature)
    table = pd.DataFrame(probabilities, columns=list(LABEL_NAMES))
    table.insert(0, "predicted", [LABEL_NAMES[i] for i in probabilities.argmax(axis=1)])
    table.insert(0, "text", list(texts))
    return table


def _printable(text: str, width: int = 60) -> str:
    """``text`` safe for a terminal: control characters (escape sequences) shown escaped, cut to ``width``."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _texts(parser: argparse.ArgumentParser, given: Sequence[str]) -> list[str]:
    """The texts to classify (``-``: one a line from standard input), each checked as the demo checks a review."""
    texts = [line for line in sys.stdin.read().splitlines() if line.strip()] if list(given) == ["-"] else list(given)
    if not texts:
        parser.exit(2, "error: no text given on standard input (one text a line)\n")
    cleaned = []
    for number, text in enumerate(texts, 1):
        try:
            text.encode("utf-8")
            cleaned.append(clean_review(text))
        except UnicodeEncodeError:
            parser.exit(2, f"error: text {number} is not UTF-8 text; pass the review as UTF-8\n")
        except ValueError as error:
            parser.exit(2, f"error: text {number}: {error}\n")
    return cleaned


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the predicted class and probabilities of each text."""
    parser = argparse.ArgumentParser(description="Classify reviews with a fine-tuned sst5 run.")
    parser.add_argument("run_dir", help="output folder of a fine-tuning run")
    parser.add_argument("texts", nargs="+", help="texts to classify; - reads them from standard input, one a line")
    parser.add_argument("--max-length", type=int, default=128, help="token limit; longer texts are cut (default 128)")
    args = parser.parse_args(argv)
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a command line prints its answer, not loading bars
    try:
        model, tokenizer = load_run_model(args.run_dir)
    except FileNotFoundError as error:
        parser.exit(2, f"error: {error}\n")
    limit = min(n for n in (tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", None), 512)
                if n and n < 1_000_000)  # a tokenizer without a limit says 1e30
    if not 4 <= args.max_length <= limit:
        parser.exit(2, f"error: --max-length {args.max_length} is out of range; this model reads 4 to {limit} tokens\n")
    texts = _texts(parser, args.texts)
    form = text_form_of(model)
    cut = sum(len(ids) > args.max_length
              for ids in tokenizer([model_text(t, form) for t in texts], truncation=False)["input_ids"])
    if cut:
        print(f"note: {cut} text(s) longer than {args.max_length} tokens were classified on their first "
              f"{args.max_length} tokens (--max-length)", file=sys.stderr)
    table = predict_texts((model, tokenizer), texts, max_length=args.max_length)
    table["text"] = table["text"].map(_printable)
    with pd.option_context("display.width", 160, "display.max_colwidth", 70):
        print(table.round(3).to_string(index=False))
    return 0
