"""Fine-tune every model of a list with the course notebooks (papermill), resumably: ``sst5-batch``.

Example: python scripts/run_batch.py --models cpu --out runs/batch --param epochs=2
"""

import sys

from sst5.cli import batch

if __name__ == "__main__":
    sys.exit(batch())
