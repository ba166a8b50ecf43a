"""What a person sees while a command runs, and where the rest of the log goes.

The console shows progress bars, the command's own summary lines, our own INFO messages (a resume, the seeding
stage) and every library's warnings and errors. Everything at INFO and above, libraries' chatter included
(orbax writes some 35 lines per checkpoint), goes to a log file. `verbosity` (absl's scale: -1 warning, 0 info,
1 debug) puts every logger's messages at that level back on the console.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from tqdm import tqdm

# Loggers whose INFO messages are the commands' own; any other logger reaches the console at WARNING.
OWN_LOGGERS = ("azr_jax", "__main__")
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
    def __init__(self, level: int | None):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if self.level is not None:
            return record.levelno >= self.level
        own = record.name in OWN_LOGGERS or record.name.startswith(tuple(f"{n}." for n in OWN_LOGGERS))
        return record.levelno >= (logging.INFO if own else logging.WARNING)


def configure_logging(log_file: str | Path | None, verbosity: int | None = None) -> Path | None:
    """Routes every logger (absl's and Python warnings included) to the console and `log_file`; returns it.

    Replaces whatever handlers the root logger had (absl's `app.run` installs its own). Call it once, early.
    """
    console_level = None if verbosity is None else level_of_verbosity(verbosity)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(min(logging.INFO, console_level or logging.INFO))
    console = _ConsoleHandler()
    console.addFilter(_ConsoleFilter(console_level))
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
