"""The ``smmpanel`` command line (extra ``smmpanel[cli]``), on top of the public client.

::

    app      the click group, one command per API action, fake-panel, demo; main()
    options  the options panel commands share, Settings, --field
    ids      IDs from arguments, files and stdin, read lazily
    bulk     bulk loops, and the Tally that tells per-ID errors from a panel down
    output   rows and the table / JSON Lines / CSV writers, the progress bar
    errors   exit statuses, one masked line on stderr
    demo     the tour against an in-process fake panel
"""

try:
    import click  # noqa: F401 - only to say what is missing, before anything needs it
except ModuleNotFoundError:  # pragma: no cover - depends on how smmpanel was installed
    raise SystemExit(
        "error: the smmpanel command line needs its extra: pip install 'smmpanel[cli]'"
    ) from None

from .app import cli, main, run

__all__ = ["cli", "main", "run"]
