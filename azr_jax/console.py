"""What a person sees while a command runs, and where the rest of the log goes.

The console shows progress bars and the command's own summary lines (printed, not logged), every warning and
error, and the INFO messages of the loggers a command names (a long script's progress). Everything at INFO and
above goes to a log file: a resume, the seeding stage, the memory plan, and the libraries' chatter (orbax writes
some 35 lines per checkpoint). `verbosity` (absl's scale: -1 warning, 0 info, 1 debug) puts every logger's
messages at that level on the console too.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from tqdm import tqdm

FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def level_of_verbosity(verbosity: int) -> int:
    """absl's verbosity (-3 fatal ... -1 warning, 0 info, 1 debug, more for finer) as a logging level."""
    return max(logging.WARNING - 10 * (verbosity + 1), 1)


class _ConsoleHandler(logging.Handler):
    """Writes through tqdm, so a message does not break a progress bar that is being drawn."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # as logging.StreamHandler does: logging never raises into the caller
            self.handleError(record)


class _ConsoleFilter(logging.Filter):
    def __init__(self, level: int | None, info_loggers: tuple[str, ...]):
        super().__init__()
        self.level = level
        self.info_loggers = info_loggers

    def filter(self, record: logging.LogRecord) -> bool:
        if self.level is not None:
            return record.levelno >= self.level
        named = record.name in self.info_loggers or record.name.startswith(tuple(f"{n}." for n in self.info_loggers))
        return record.levelno >= (logging.INFO if named else logging.WARNING)


def configure_logging(
    log_file: str | Path | None, verbosity: int | None = None, info_loggers: tuple[str, ...] = ()
) -> Path | None:
    """Routes every logger (absl's and Python warnings included) to the console and `log_file`; returns it.
    `info_loggers` (and their children) reach the console at INFO, every other logger at WARNING.

    Replaces whatever handlers the root logger had (absl's `app.run` installs its own). Call it once, early.
    """
    # transformers' one advisory here is that PyTorch is absent, and torch is only the tests' reference.
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    console_level = None if verbosity is None else level_of_verbosity(verbosity)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(min(logging.INFO, console_level or logging.INFO))
    console = _ConsoleHandler()
    console.addFilter(_ConsoleFilter(console_level, info_loggers))
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    if log_file is not None:
        log_file = Path(log_file)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setFormatter(logging.Formatter(FILE_FORMAT))
        root.addHandler(to_file)
    # absl's logger (orbax logs through it) keeps its own level, set from --verbosity when absl parses flags;
    # it should follow the root's instead, as every other logger does.
    logging.getLogger("absl").setLevel(logging.NOTSET)
    logging.captureWarnings(True)
    return log_file
