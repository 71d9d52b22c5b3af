"""Campaign models: the engine's (engine.py) and each type's own (group_buy.py, help.py, bargain.py…).

Every module of this package is imported here and the names in its `__all__` re-exported, so a new type
adds its models file and touches nothing else: `from campaigns.models import HelpTask` just works.
"""

import importlib
import pkgutil

from .engine import *  # noqa: F403
from .group_buy import *  # noqa: F403

for _module_info in pkgutil.iter_modules(__path__):  # noqa: F405
    _module = importlib.import_module(f"{__name__}.{_module_info.name}")
    globals().update({name: getattr(_module, name) for name in getattr(_module, "__all__", ())})
