"""Load each Hub id given on the command line as the course does, in a fresh process whose environment points
at the local Hub; print one JSON line per id: its class, logits' shape, padding side, size, or the error."""

import json
import sys

from sst5.models import load_classifier, weights_bytes

for hub_id in sys.argv[1:]:
    try:
        model, tokenizer = load_classifier(hub_id)
        encoded = tokenizer(["a gorgeous , witty film", "bad"], padding=True, return_tensors="pt")
        logits = model(**encoded).logits
        result = {"id": hub_id, "ok": True, "class": type(model).__name__, "shape": list(logits.shape),
                  "finite": bool(logits.isfinite().all()), "dtype": str(next(model.parameters()).dtype),
                  "padding_side": tokenizer.padding_side, "weights_bytes": weights_bytes(hub_id)}
    except (OSError, ValueError) as error:
        result = {"id": hub_id, "ok": False, "error": f"{type(error).__name__}: {error}",
                  "weights_bytes": weights_bytes(hub_id)}
    print(json.dumps(result), flush=True)
