"""imbench's Hydra configs (package data), found by Hydra as ``pkg://imbench.conf``."""
