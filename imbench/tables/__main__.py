"""``python -m imbench.tables EXPERIMENT [--out-dir outputs] [--results-dir results] [--profile quick|paper]``."""
import sys

from imbench.tables.cli import main

if __name__ == "__main__":
    sys.exit(main())
