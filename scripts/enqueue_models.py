"""Clone the ClearML runner template once per model of a list and enqueue the clones for agents.

Example: python scripts/enqueue_models.py --models gpu --queue colab --template TASK_ID --param epochs=4
"""

import argparse
import sys

from sst5.batch import enqueue_models, parse_assignments
from sst5.models import read_model_list


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", required=True, help="model list file, or a shipped list: smoke, cpu, gpu")
    parser.add_argument("--queue", required=True, help="ClearML queue the agents listen to")
    parser.add_argument("--template", required=True, help="task id of scripts/clearml_runner.py's template task")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    ids = enqueue_models(read_model_list(args.models), args.queue, args.template,
                         parse_assignments(args.param, where="--param"))
    print("\n".join(ids))
    return 0


if __name__ == "__main__":
    sys.exit(main())
