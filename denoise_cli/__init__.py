"""denoise: a batch speech cleaner (Silero VAD, spectral subtraction, a mask model).

Python use::

    from denoise_cli import CleanOptions, clean_paths
    report = clean_paths(["in/"], "out/", CleanOptions())
"""

__version__ = "0.1.0"

__all__ = ["__version__", "CleanOptions", "RunOptions", "clean_file", "clean_paths"]


def __getattr__(name):
    # Heavy modules (torch) load on first use, so `denoise --help` stays fast.
    if name in ("CleanOptions", "RunOptions"):
        from . import config
        return getattr(config, name)
    if name == "clean_file":
        from .pipeline import clean_file
        return clean_file
    if name == "clean_paths":
        from .batch import clean_paths
        return clean_paths
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
