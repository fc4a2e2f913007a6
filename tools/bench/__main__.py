"""``python -m tools.bench [--quick] [--json FILE]``."""

import sys

from tools.bench.cli import main

sys.exit(main())
