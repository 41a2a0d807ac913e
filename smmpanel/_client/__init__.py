"""The client layer: ``Panel``, the bulk fan-out, ``watch``, and the table of actions.

::

    panel    Panel: options, lifecycle, one method per row of the table
    actions  the table: each action's name, ID field, parser, read or write
    calls    runs one action: form body -> http exchange -> models; failures to exceptions
    bulk     chunks, workers, results in input order, the stream of Bulks
    pipeline the stream's reader and workers, in a task of their own
    watch    Watch: polling until every order is final
"""

from .panel import Panel
from .watch import Watch

__all__ = ["Panel", "Watch"]
