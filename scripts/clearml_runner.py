"""ClearML template task, one model's run of the course notebooks: ``sst5-clearml-runner``.

Run it once with a configured server to create the template; sst5-enqueue clones it per model,
overriding its Args/* parameters, and agents execute the clones.
"""

import sys

from sst5.cli import clearml_runner

if __name__ == "__main__":
    sys.exit(clearml_runner())
