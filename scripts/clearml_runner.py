"""The ClearML runner from a checkout: ``sst5-clearml-runner`` (:mod:`sst5.clearml_runner`).

``python scripts/clearml_runner.py --template-only`` records the template task once (nothing trains); its
entry point is ``python -m sst5.clearml_runner``, which agents run from the installed course.
"""

import sys

from sst5.clearml_runner import main

if __name__ == "__main__":
    sys.exit(main())
