"""``python -m smmpanel``: the same command line as the ``smmpanel`` script."""

from ._cli import main

if __name__ == "__main__":
    main()
