"""Exceptions that imbench raises for bad input; each message names the problem and the fix."""
from sklearn.utils._param_validation import InvalidParameterError


class ImbenchError(Exception):
    """Base class: a problem the user can fix (bad config, missing data, diverged training)."""


class ConfigError(ImbenchError):
    """An invalid configuration value, unknown name or impossible request."""


class DataError(ImbenchError):
    """A dataset file is missing, corrupt or cannot be provisioned."""


class TrainingError(ImbenchError):
    """Training produced non-finite values or otherwise failed."""


class ParameterError(ConfigError, InvalidParameterError):
    """A sampler's parameter has an invalid type or value.

    Both an imbench :class:`ConfigError` (the command line reports it as a configuration error) and
    scikit-learn's ``InvalidParameterError`` (a ``ValueError``), which scikit-learn's parameter
    validation contract expects.
    """


class RecordsError(ImbenchError):
    """Run records are missing where they were expected (a missing out_dir, no finished runs)."""
