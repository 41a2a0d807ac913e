"""Many panels as one: ``Panels``, its cached ``Catalogue``, ``diff`` and ``CatalogueDiff``.

Built on the public ``smmpanel`` names only (``Panel``, the models and errors).
"""

from .catalogue import Catalogue
from .diff import CatalogueDiff, Change, diff
from .panels import Panels

__all__ = ["Catalogue", "CatalogueDiff", "Change", "Panels", "diff"]
