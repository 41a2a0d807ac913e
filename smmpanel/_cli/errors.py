"""How the command line fails: the exit status each error means, and one masked line on stderr.

::

    exit 0    the command ran (per-ID panel errors such as unknown orders included)
    exit 1    SMMPanelError, ReadError: the panel could not be used, or the input not read;
              click.ClickException (fake-panel cannot listen); BrokenPipeError (the reader
              went away); any other exception (a bug)
    exit 2    UsageError, BadID, click's usage errors: bad usage
    exit 130  Ctrl-C (Interrupted: with a line saying what it may have left behind)

Every error is one line on stderr, never a traceback, and the key is never printed: keys
are registered here with ``hide`` and masked in every line, warning and log record.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable
from typing import IO

import click

from .._errors import SMMPanelError
from .._redact import Redactor

__all__ = [
    "BadID",
    "Interrupted",
    "ReadError",
    "UsageError",
    "guarded",
    "hide",
    "scrub",
    "verbose_logging",
]

logger = logging.getLogger("smmpanel.cli")

# Texts that must never reach the terminal: the key, from --key or SMMPANEL_KEY. Errors are
# printed after click's context is gone, hence one redactor for the process.
_SECRETS = Redactor()


class UsageError(Exception):
    """Bad usage found after parsing (exit 2): a missing URL, a refused field."""


class BadID(ValueError):
    """An ID that is not a positive integer (exit 2).

    A ``ValueError`` on purpose: raised while ``Panel.iter_statuses`` reads IDs, it stops the
    reading cleanly, the chunks read before it are still answered, then it surfaces here.
    """


class Interrupted(Exception):
    """Ctrl-C at a moment that needs a word (exit 130): during ``add``, the order may exist."""


class ReadError(ValueError):
    """A file or stdin could not be read mid-way (exit 1); a ``ValueError`` like ``BadID``."""


def hide(secret: str | None) -> None:
    """Mask ``secret`` (a key) wherever it would show on stderr or in a row."""
    _SECRETS.add(secret)


def scrub(text: str) -> str:
    """``text`` with every hidden secret replaced by ``***``."""
    return _SECRETS.text(text)


def _say(kind: str, message: object) -> None:
    """One line on stderr: newlines folded, the key masked."""
    text = scrub(" ".join(str(message).split()))
    sys.stderr.write(f"{kind}: {text}\n")
    sys.stderr.flush()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: IO[str] | None = None,
    line: str | None = None,
) -> None:
    _say("warning", message)


def _quiet_logging() -> None:
    """Keep log records off stderr unless ``--verbose`` asks for them."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())  # else logging's last resort prints warnings
    warnings.showwarning = _show_warning


def verbose_logging() -> None:
    """Requests (DEBUG), retries and 429 pauses (WARNING) on stderr, one line each, masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Masked("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    package = logging.getLogger("smmpanel")
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)


class _Masked(logging.Formatter):
    """A formatter that masks every hidden secret in the line it writes."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _leaf(error: BaseException) -> BaseException:
    """The one exception inside (nested) single-member exception groups."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def guarded(command: Callable[[], object]) -> int:
    """Call ``command`` (click in non-standalone mode) and return the exit status it means.

    Its result when that is an int, else 0; for an error, the status in the table above,
    the error said on stderr in one line.
    """
    _quiet_logging()
    hide(os.environ.get("SMMPANEL_KEY"))
    try:
        try:
            result = command()
        except BaseExceptionGroup as group:
            raise _leaf(group) from None
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.ctx.get_help(), err=True)
        return 2
    except click.UsageError as error:
        _say("error", error.format_message())
        return 2
    except click.ClickException as error:
        _say("error", error.format_message())
        return error.exit_code
    except (UsageError, BadID) as error:
        _say("error", error)
        return 2
    except (SMMPanelError, ReadError) as error:
        _say("error", error)
        return 1
    except Interrupted as error:
        _say("error", error)
        return 130
    except (click.Abort, KeyboardInterrupt):
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and point stdout at /dev/null so
        # Python's own flush at exit does not complain about the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as error:  # a bug: still one line, still no key
        _say("error", f"unexpected {type(error).__name__}: {error}")
        return 1
    return result if isinstance(result, int) else 0
