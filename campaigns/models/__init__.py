"""Campaign models: the engine's (engine.py) and each type's own (`campaigns/types/<code>/models.py`).

Each type package's models module is imported here and the names in its `__all__` re-exported, so a new
type adds its package and touches nothing else: `from campaigns.models import HelpTask` just works. The
models keep the app label `campaigns` (their package is inside the app) and their tables.
"""

import importlib
import importlib.util
import pkgutil

from .. import types as _types
from .engine import *  # noqa: F403

for _package in pkgutil.iter_modules(_types.__path__):
    _name = f"{_types.__name__}.{_package.name}.models"
    if _package.ispkg and importlib.util.find_spec(_name) is not None:
        _module = importlib.import_module(_name)
        globals().update({name: getattr(_module, name) for name in getattr(_module, "__all__", ())})
