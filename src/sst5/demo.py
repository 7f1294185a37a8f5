"""Try a finished run: a Gradio page that classifies a review and shades the words that drove the prediction.

``sst5-demo RUN_DIR [RUN_DIR ...] [--port N] [--share]`` serves it (several runs: their probabilities are
averaged, an ensemble); notebook 04 opens it inline (:func:`build_demo`). The probabilities are shown as a
bar per class, the predicted class above them, and each token of the review shaded by its integrated-gradients
attribution to the predicted class (:func:`sst5.analysis.token_attributions`, of the first run). Bad input
gets a message in the page, never a traceback. Gradio is preinstalled on Colab; elsewhere install the
``demo`` extra (``pip install "sst5-course[demo]"``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .analysis import token_attributions
from .calibration import run_temperature, scale_probabilities
from .config import LABEL_NAMES
from .predict import MAX_REVIEW_CHARS, clean_review, load_run_model, predict_proba

__all__ = ["MAX_REVIEW_CHARS", "MAX_REQUEST_BYTES", "clean_review", "ReviewClassifier", "build_demo", "BodyLimit",
           "launch", "main"]

#: The largest request body the demo accepts: a review of MAX_REVIEW_CHARS characters is a few kB of JSON.
MAX_REQUEST_BYTES = 64 * 1024

class ReviewClassifier:
    """One finished run, or several (their probabilities averaged), ready to classify and explain reviews; each
    run's probabilities are scaled by the temperature fitted on its validation sentences (:mod:`sst5.calibration`).

    Raises
    ------
    FileNotFoundError
        A run folder holds no trained model (a reference run, an unfinished or failed run); the message names it.
    """

    def __init__(self, run_dirs: Sequence[str | Path], max_length: int = 128) -> None:
        if not run_dirs:
            raise FileNotFoundError("no run folder given: pass the output folder of a finished notebook-03 run")
        self.runs = [load_run_model(run_dir) for run_dir in run_dirs]
        self.names = [Path(run_dir).name for run_dir in run_dirs]
        self.temperatures = [run_temperature(run_dir) for run_dir in run_dirs]  # None: none fitted, kept as is
        self.max_length = max_length

    def __call__(self, text: str | None) -> tuple[dict[str, float], str, list[tuple[str, float]]]:
        """Class probabilities, the predicted class in words, and ``(token, attribution)`` pairs scaled to
        [-1, 1] (positive: towards the predicted class; Gradio shades positive red, negative blue)."""
        review = clean_review(text)
        probabilities = np.mean([
            scale_probabilities(predict_proba(model, tokenizer, [review], max_length=self.max_length, progress=False),
                                temperature)[0]
            for (model, tokenizer), temperature in zip(self.runs, self.temperatures, strict=True)], axis=0)
        predicted = int(probabilities.argmax())
        model, tokenizer = self.runs[0]
        attribution = token_attributions(model, tokenizer, review, target=predicted, max_length=self.max_length)
        special = set(tokenizer.all_special_tokens)
        peak = float(np.abs(attribution.scores).max()) or 1.0
        tokens = [(token, float(score) / peak) for token, score in zip(attribution.tokens, attribution.scores,
                                                                        strict=True) if token not in special]
        verdict = f"Predicted: **{LABEL_NAMES[predicted]}** ({probabilities[predicted]:.0%})"
        return {name: float(p) for name, p in zip(LABEL_NAMES, probabilities, strict=True)}, verdict, tokens


def build_demo(classifier: ReviewClassifier):
    """The Gradio page over ``classifier`` (a ``gradio.Blocks``; call ``.launch()`` on it)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home (offline machines, privacy)
    try:
        import gradio as gr
    except ImportError as error:
        raise ImportError('the demo needs gradio: pip install "sst5-course[demo]" (Colab has it)') from error

    def classify(text):
        try:
            probabilities, verdict, tokens = classifier(text)
        except ValueError as error:  # bad input: say so in the page, keep the last result out of view
            return None, f"⚠️ {error}", None
        return probabilities, verdict, tokens

    runs = ", ".join(classifier.names)
    with gr.Blocks(title="SST-5: try the model") as demo:
        gr.Markdown(f"## How positive is this review?\nFive classes, from *negative* to *positive*, by {runs}. "
                    "Red words pushed the model towards its answer, blue ones away from it; the deeper the shade, "
                    "the more.")
        review = gr.Textbox(label="Review", lines=3, elem_id="review",
                            placeholder="A gorgeous, witty, seductive movie.")
        submit = gr.Button("Classify", variant="primary", elem_id="classify")
        verdict = gr.Markdown(elem_id="verdict")
        probabilities = gr.Label(num_top_classes=len(LABEL_NAMES), label="Class probabilities",
                                 elem_id="probabilities")
        words = gr.HighlightedText(label="Words that drove the prediction", combine_adjacent=False,
                                   show_legend=False, color_map=None, elem_id="words")
        submit.click(classify, inputs=review, outputs=[probabilities, verdict, words], api_name="classify")
        review.submit(classify, inputs=review, outputs=[probabilities, verdict, words])
    return demo


class BodyLimit:
    """ASGI middleware: answer 413 to a request whose body is larger than ``max_bytes`` (declared or sent), before
    the app reads it: the page sends only short reviews, and a server open to others (``--host 0.0.0.0``,
    ``--share``) must not take anyone's megabytes."""

    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._too_large(send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return {"type": "http.disconnect"} if received > self.max_bytes else message

        return await self.app(scope, limited_receive, send)

    async def _too_large(self, send) -> None:
        body = f"request body larger than {self.max_bytes} bytes".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def launch(demo, **options):
    """``demo.launch(**options)`` with what a page open to others needs: the page takes no files, so uploads are
    refused (``max_file_size`` 0), and request bodies are capped (:class:`BodyLimit`)."""
    from starlette.middleware import Middleware

    return demo.launch(max_file_size=0, app_kwargs={"middleware": [Middleware(BodyLimit)]}, **options)


def main(argv: Sequence[str] | None = None) -> int:
    """``sst5-demo``: serve the page for one or more finished runs."""
    parser = argparse.ArgumentParser(description="Try a fine-tuned run in the browser: a review in, the five class "
                                                 "probabilities and the words that drove them out.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="a finished notebook-03 run (several: an ensemble of their probabilities)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 serves other machines too")
    parser.add_argument("--share", action="store_true", help="a public gradio.live link (as on Colab)")
    args = parser.parse_args(argv)
    try:
        demo = build_demo(ReviewClassifier(args.run_dirs))
    except (FileNotFoundError, ImportError) as error:
        parser.exit(2, f"error: {error}\n")
    print(f"serving {', '.join(args.run_dirs)} on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        launch(demo, server_name=args.host, server_port=args.port, share=args.share)
    except (OSError, ValueError) as error:  # port in use, an unknown host
        parser.exit(2, f"error: cannot serve on {args.host}:{args.port}: {str(error).splitlines()[0]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
