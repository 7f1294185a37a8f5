"""The schedule study (sst5.study): random vs 4 stratified + 2 random vs 4 stratified + 4 alternating, on the
distinct training phrases, 3 seeds each, through the batch runner (resumable: run it again to go on).
The same as the console script ``sst5-study``.

    # this CPU: a fixed number of phrases per epoch, the same for every schedule (the committed results)
    python benchmarks/schedule_study.py --profile cpu --samples-per-epoch 4000 \
        --out runs/schedule-study --results benchmarks/results/schedule_study
    # a GPU (Colab): full epochs of the 159,268 distinct phrases, any model
    sst5-study --profile gpu --model minilm --param batch_size=128 --param learning_rate=1e-4 --out study-minilm
    sst5-study --profile gpu --model echarlaix/bert-base-uncased-sst2-acc91.1-d37-hybrid --out study-bert
"""

import sys

from sst5.cli import study

if __name__ == "__main__":
    sys.exit(study())
