"""Exceptions that imbench raises for bad input; each message names the problem and the fix."""


class ImbenchError(Exception):
    """Base class: a problem the user can fix (bad config, missing data, diverged training)."""


class ConfigError(ImbenchError):
    """An invalid configuration value, unknown name or impossible request."""


class DataError(ImbenchError):
    """A dataset file is missing, corrupt or cannot be provisioned."""


class TrainingError(ImbenchError):
    """Training produced non-finite values or otherwise failed."""
