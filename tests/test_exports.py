"""The public API: every package's ``__all__`` is sorted, complete and importable."""

from __future__ import annotations

import importlib
import inspect

import pytest

import sallakit

PUBLIC_PACKAGES = [
    "sallakit",
    "sallakit.api",
    "sallakit.models",
    "sallakit.emulator",
    "sallakit.auth",
    "sallakit.webhooks",
    "sallakit.mirror",
    "sallakit.server",
]


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_all_is_sorted_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr!r}"


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_public_classes_are_exported(name: str) -> None:
    """A public class defined in a private module of the package is listed in ``__all__``."""
    module = importlib.import_module(name)
    for attr, value in vars(module).items():
        if attr.startswith("_") or not inspect.isclass(value):
            continue
        if value.__module__.startswith(name + "."):
            assert attr in module.__all__, f"{name}.{attr} is public but not in __all__"


def test_every_exception_is_reachable_from_the_top_level() -> None:
    from sallakit import _exceptions

    for attr in _exceptions.__all__:
        assert getattr(sallakit, attr) is getattr(_exceptions, attr)
        assert issubclass(getattr(sallakit, attr), sallakit.SallaError)
