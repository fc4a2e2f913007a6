"""``python -m tools.bench [--quick] [--json FILE]``: what users wait for, as ratios measured in one run.

Every figure is a median over repeats after a warm-up, on whatever machine runs it. Absolute times are
noisy on shared CPUs, so targets are stated as ratios to the bare forward pass where possible, and the two
sides of a ratio are measured interleaved (``paired_median_times``). Tests never assert a speed: they
check the table builder on a made-up report and that one quick run reports finite, positive figures.

Modules: ``timing`` (medians), ``subjects`` (models and the photo), ``image`` (one Image-tab click replayed in
process over the forward pass, its views, references), ``tab_replay`` (a tab's click run through the built
app's own events), ``media`` (clips, 3D convolution), ``serving`` (cold start, API overhead, memory, through
``tools.server.AppServer``), ``table`` (targets and the README's table), ``cli`` (the run and the command),
``browser`` (``--browser``: where users wait, in chromium beside the echo app). The foreign-network rows come
from ``tools.bench_foreign``.
"""

from tools.bench.cli import main, run
from tools.bench.table import TARGETS, Row, Target, markdown_table, table_rows
from tools.bench.timing import interleaved_median_times, median_time, paired_median_times

__all__ = [
    "TARGETS",
    "Row",
    "Target",
    "interleaved_median_times",
    "main",
    "markdown_table",
    "median_time",
    "paired_median_times",
    "run",
    "table_rows",
]
