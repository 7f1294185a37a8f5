import subprocess
import sys

SAVE_A_FIGURE = """
import sys
import matplotlib
matplotlib.use("Agg")
from sst5.plots import plot_confusion_matrix, save_figure
fig = plot_confusion_matrix([[5, 1, 0, 0, 0], [1, 4, 1, 0, 0], [0, 1, 6, 1, 0], [0, 0, 1, 4, 1], [0, 0, 0, 1, 5]])
save_figure(fig, sys.argv[1], "confusion.svg")
save_figure(fig, sys.argv[1], "confusion.png")
"""


def test_figures_are_byte_identical_across_runs(tmp_path):
    """Re-running the course must not turn the committed img/ figures into a diff."""
    for run in ("first", "second"):
        subprocess.run([sys.executable, "-c", SAVE_A_FIGURE, str(tmp_path / run)], check=True, timeout=120)
    for name in ("confusion.svg", "confusion.png"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()
