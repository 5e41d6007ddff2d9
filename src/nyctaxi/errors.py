"""Typed errors. The CLI prints ``str(error)`` as one line and exits non-zero; nothing is swallowed."""


class NyctaxiError(Exception):
    """Base class: an expected failure with a message a user can act on.

    ``result``: what a job had found when it refused to go on (counts, a summary: a
    ``nyctaxi.jobs.envelope.Result``); its failed run report keeps them."""

    def __init__(self, *args, result=None):
        super().__init__(*args)
        self.result = result


class InvalidArgument(NyctaxiError):
    """A service, month or option the user gave is not valid."""


class SourceNotPublished(NyctaxiError):
    """The TLC answered 403/404: the file does not exist (yet)."""


class DownloadFailed(NyctaxiError):
    """A download could not be completed or verified (after retries)."""


class BadSourceFile(NyctaxiError):
    """A bronze file cannot be read as a TLC trip file (format, columns, month)."""


class StorageUnavailable(NyctaxiError):
    """The object store could not be reached (after retries); nothing was published."""


class MissingInput(NyctaxiError):
    """An input the stage needs is not in the lake (run the earlier stage first)."""


class RejectionBudgetExceeded(NyctaxiError):
    """Too many rows of a month were quarantined; silver was not published."""


class ConcurrentRun(NyctaxiError):
    """Another run committed to the same table partition while this one was writing; its result stands."""


class ContractViolation(NyctaxiError):
    """A frame about to be written does not match its declared schema."""


class ValidationFailed(NyctaxiError):
    """A blocking data expectation failed for a (service, month)."""


class DriftAlert(NyctaxiError):
    """A month drifted (features, predictions or model error) past the configured limits."""


class StorageFull(NyctaxiError):
    """The lake's storage ran out of space during a write; nothing published changed."""


class EngineFailure(NyctaxiError):
    """Spark failed for a reason not covered by a more specific error (the log has the trace)."""
