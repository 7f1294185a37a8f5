"""Clone the ClearML runner template once per model of a list and enqueue the clones: ``sst5-enqueue``.

Example: python scripts/enqueue_models.py --models gpu --queue colab --template TASK_ID --param epochs=4
"""

import sys

from sst5.cli import enqueue

if __name__ == "__main__":
    sys.exit(enqueue())
