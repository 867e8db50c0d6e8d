"""sallakit: the production toolkit for building Salla apps in Python."""

from sallakit._exceptions import *  # noqa: F403
from sallakit._exceptions import __all__ as _exception_names

__version__ = "0.1.0"

__all__ = sorted([*_exception_names, "__version__"])
