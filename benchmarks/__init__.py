"""smmpanel's benchmarks: ``nox -s bench`` (or ``python -m benchmarks``)."""
