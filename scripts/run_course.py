"""Run the whole course headless with papermill (make course): ``sst5-course``."""

import sys

from sst5.cli import course

if __name__ == "__main__":
    sys.exit(course())
