"""imbench: a config-driven benchmark harness for oversampling methods on imbalanced data."""

__version__ = "0.1.0"
