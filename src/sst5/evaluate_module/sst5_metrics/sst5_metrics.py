"""SST-5 metrics as a local `evaluate` module: evaluate.load(sst5.metrics.evaluate_module_path())."""

import datasets
import evaluate

from sst5.metrics import classification_metrics

_DESCRIPTION = "Accuracy, macro/micro F1, per-class precision and recall, neighbour rate, QWK for SST-5."
_KWARGS_DESCRIPTION = "predictions: list of int (0-4); references: list of int (0-4)."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Sst5Metrics(evaluate.Metric):
    """All metrics of `sst5.metrics.classification_metrics`, computed with scikit-learn."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}
            ),
        )

    def _compute(self, predictions, references):
        return classification_metrics(references, predictions)
