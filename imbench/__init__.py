"""imbench: a config-driven benchmark harness for oversampling methods on imbalanced data."""

__version__ = "0.2.0"  # 0.2: the method protocol (run ids of 0.1 records are adopted on resume)
