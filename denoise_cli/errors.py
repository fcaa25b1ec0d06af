"""Typed errors raised by the library; only the CLI turns them into exit codes."""


class DenoiseError(Exception):
    """Base class for every error denoise reports to a user."""


class UsageError(DenoiseError):
    """Bad paths or options: nothing was done (exit code 2)."""


class AudioReadError(DenoiseError):
    """An input could not be read as audio (not audio, truncated, empty ...)."""


class AudioContentError(DenoiseError):
    """An input was read but its samples cannot be cleaned (NaN, zero length ...)."""


class OutputError(DenoiseError):
    """An output could not be written (folder missing, not writable, disk full)."""


class LockedError(DenoiseError):
    """Another run holds the output folder's lock (exit code 75, "try again later")."""


class CheckpointError(DenoiseError):
    """A model checkpoint is missing, corrupt or of the wrong shape."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an interrupt so the same clean-up runs (exit code 143)."""
