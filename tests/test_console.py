"""What reaches the console and what only the log file (`azr_jax.console`), in a fresh interpreter each time:
configure_logging replaces the root logger's handlers, which pytest's own capture uses."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging, sys, warnings
    from absl import logging as absl_logging
    from azr_jax.console import configure_logging

    configure_logging(sys.argv[1], None if sys.argv[2] == "none" else int(sys.argv[2]), ("my_script",))
    absl_logging.info("orbax-like info through absl")
    logging.getLogger("jax._src.xla_bridge").info("library info")
    logging.getLogger("azr_jax.trainer.loop").info("resumed from here")
    logging.getLogger("my_script.part").info("script progress")
    logging.getLogger("orbax").warning("library warning")
    logging.getLogger("azr_jax.x").debug("debug detail")
    warnings.warn("python warning")
    """
)
MESSAGES = ["orbax-like info through absl", "library info", "resumed from here", "script progress"]


def run(tmp_path, verbosity: str) -> tuple[str, str]:
    log = tmp_path / "run.log"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(log), verbosity], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stderr, log.read_text()


def test_by_default_the_console_has_warnings_and_the_named_loggers_info_the_file_has_all_info(tmp_path):
    console, log = run(tmp_path, "none")
    assert "library warning" in console and "python warning" in console and "script progress" in console
    for message in ("orbax-like info through absl", "library info", "resumed from here"):
        assert message not in console
    for message in [*MESSAGES, "library warning", "python warning"]:
        assert message in log
    assert "debug detail" not in console + log


def test_verbosity_brings_every_loggers_messages_to_the_console(tmp_path):
    console, _ = run(tmp_path, "0")
    assert all(message in console for message in MESSAGES) and "debug detail" not in console
    console, log = run(tmp_path, "1")
    assert "debug detail" in console and "debug detail" in log
    console, _ = run(tmp_path, "-1")
    assert "library warning" in console and not any(message in console for message in MESSAGES)
