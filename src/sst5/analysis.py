"""Error analysis of one run's predictions (``predictions.parquet``): where and how a model errs, and which
words drove a prediction (:func:`token_attributions`: integrated gradients, captum)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import LABEL_NAMES
from .runs import PREDICTIONS_FILE, PROB_COLUMNS
from .text import model_text, text_form_of

__all__ = [
    "load_predictions",
    "accuracy_by_length",
    "class_leaks",
    "confident_mistakes",
    "uncertain_correct",
    "Attribution",
    "token_attributions",
    "attribution_html",
]

_LENGTH_BINS = (0, 1, 2, 3, 5, 10, 20, 30, 1000)


def load_predictions(run_dir: str | Path, split: str | None = "test") -> pd.DataFrame:
    """The ``split`` rows of a run's ``predictions.parquet`` (None: every row).

    Raises
    ------
    FileNotFoundError
        The run folder holds no predictions (the run failed or has not finished).
    """
    path = Path(run_dir) / PREDICTIONS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {PREDICTIONS_FILE} in {Path(run_dir)}: point at a finished notebook-03 run")
    table = pd.read_parquet(path)
    return table if split is None else table[table["split"] == split].reset_index(drop=True)


def accuracy_by_length(predictions: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per phrase-length bin (``length_bin``, ``accuracy``, ``count``)."""
    bins = pd.cut(predictions["n_tokens"], _LENGTH_BINS, right=True)
    labels = {interval: (f"{interval.right}" if interval.right - interval.left == 1 else
                         f"{interval.left + 1}-{interval.right}" if interval.right < 1000 else f">{interval.left}")
              for interval in bins.cat.categories}
    correct = predictions["label"] == predictions["predicted"]
    table = correct.groupby(bins, observed=True).agg(["mean", "size"]).reset_index()
    table.columns = ["length_bin", "accuracy", "count"]
    table["length_bin"] = table["length_bin"].map(labels)
    return table


def class_leaks(confusion: np.ndarray | list, top: int = 8) -> pd.DataFrame:
    """The largest off-diagonal flows: which true class leaks into which predicted class, and how much.

    ``share`` is the share of the true class's examples predicted as the other class.
    """
    matrix = np.asarray(confusion, dtype=float)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    rows = [(LABEL_NAMES[i], LABEL_NAMES[j], abs(i - j), int(matrix[i, j]), shares[i, j])
            for i in range(len(matrix)) for j in range(len(matrix)) if i != j and matrix[i, j] > 0]
    table = pd.DataFrame(rows, columns=["true class", "predicted class", "distance", "count", "share"])
    return table.sort_values("share", ascending=False).head(top).reset_index(drop=True)


def _readable(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "text": rows["text"],
        "true class": rows["label"].map(dict(enumerate(LABEL_NAMES))),
        "predicted class": rows["predicted"].map(dict(enumerate(LABEL_NAMES))),
        "confidence": rows[PROB_COLUMNS].max(axis=1).round(3),
    }).reset_index(drop=True)


def confident_mistakes(predictions: pd.DataFrame, n: int = 10, sentences_only: bool = True) -> pd.DataFrame:
    """The ``n`` wrong predictions the model was surest of."""
    rows = predictions[predictions["is_root"]] if sentences_only else predictions
    wrong = rows[rows["label"] != rows["predicted"]]
    return _readable(wrong.loc[wrong[PROB_COLUMNS].max(axis=1).sort_values(ascending=False).index[:n]])


def uncertain_correct(predictions: pd.DataFrame, n: int = 10, sentences_only: bool = True) -> pd.DataFrame:
    """The ``n`` right predictions the model was least sure of."""
    rows = predictions[predictions["is_root"]] if sentences_only else predictions
    right = rows[rows["label"] == rows["predicted"]]
    return _readable(right.loc[right[PROB_COLUMNS].max(axis=1).sort_values().index[:n]])


@dataclass(frozen=True)
class Attribution:
    """Integrated-gradients attribution of one text's logit for class ``target`` to its tokens.

    ``scores`` sum to ``logit - baseline_logit`` up to ``delta`` (the completeness property: the method's
    approximation error, smaller with more ``n_steps``). Positive scores push towards ``target``.
    """

    tokens: list[str]
    scores: np.ndarray
    target: int
    probabilities: np.ndarray
    logit: float
    baseline_logit: float
    delta: float


def token_attributions(model, tokenizer, text: str, target: int | None = None, n_steps: int = 64,
                       max_length: int = 128) -> Attribution:
    """Which tokens of ``text`` drove the model's logit for ``target`` (default: the predicted class).

    Integrated gradients (captum's ``IntegratedGradients``) on the word embeddings, fed to the model as
    ``inputs_embeds``, from a baseline that keeps the special tokens ([CLS], [SEP], <s>, …) and puts the padding
    token's embedding everywhere else, summed over each token's embedding dimensions. Every architecture of the
    model lists takes ``inputs_embeds`` batch-first (hooking the embedding layer instead would not work for
    XLNet, which embeds sequence-first). The text is first put in the form the model reads
    (:func:`sst5.text.model_text`).
    """
    import torch
    from captum.attr import IntegratedGradients

    model.eval()
    encoded = tokenizer(model_text(text, text_form_of(model)), truncation=True, max_length=max_length,
                        return_tensors="pt",
                        return_special_tokens_mask=True)
    device = next(model.parameters()).device
    ids, mask = encoded["input_ids"].to(device), encoded["attention_mask"].to(device)
    special = encoded["special_tokens_mask"].to(device).bool()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    embed = model.get_input_embeddings()
    with torch.no_grad():
        inputs = embed(ids)
        baseline = embed(torch.where(special, ids, torch.full_like(ids, pad)))

    def forward(inputs_embeds, attention_mask):
        return model(inputs_embeds=inputs_embeds, attention_mask=attention_mask).logits.float()

    with torch.no_grad():
        logits = forward(inputs, mask)[0]
        baseline_logits = forward(baseline, mask)[0]
    target = int(logits.argmax()) if target is None else int(target)
    attributions, delta = IntegratedGradients(forward).attribute(
        inputs, baselines=baseline, additional_forward_args=(mask,), target=target, n_steps=n_steps,
        return_convergence_delta=True)
    scores = attributions.sum(dim=-1)[0].detach().cpu().numpy()
    return Attribution(tokens=tokenizer.convert_ids_to_tokens(ids[0].tolist()), scores=scores, target=target,
                       probabilities=torch.softmax(logits, -1).cpu().numpy(), logit=float(logits[target]),
                       baseline_logit=float(baseline_logits[target]), delta=float(delta.abs().max()))


def attribution_html(attribution: Attribution) -> str:
    """The tokens as HTML, shaded red where they push towards the class and blue where they push away: the demo's
    colours (Gradio's highlighted text), so that notebook 04 and the page it opens read alike."""
    peak = float(np.abs(attribution.scores).max()) or 1.0
    spans = []
    for token, score in zip(attribution.tokens, attribution.scores, strict=True):
        alpha = abs(float(score)) / peak
        colour = f"rgba(220, 38, 38, {alpha:.2f})" if score >= 0 else f"rgba(37, 99, 235, {alpha:.2f})"
        spans.append(f'<span title="{score:+.3f}" style="background:{colour};padding:1px 2px;border-radius:3px">'
                     f"{html.escape(token)}</span>")
    return (f"<div style='line-height:2'><b>{html.escape(LABEL_NAMES[attribution.target])}</b> "
            f"({attribution.probabilities[attribution.target]:.0%}): {' '.join(spans)}</div>")
