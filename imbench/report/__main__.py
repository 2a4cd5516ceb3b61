"""``python -m imbench.report OUT_DIR [--by ...] [--reference METHOD] [--metrics ...] [--dest DIR]``."""
import sys

from imbench.report.cli import main

if __name__ == "__main__":
    sys.exit(main())
