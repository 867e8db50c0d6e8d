"""The shape issue 7 asked for: small classes in ``auth/``, a coordinator that goes through the
vault's public surface only, and a TokenStore seam free of SQLAlchemy types."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import sallakit.auth
from sallakit.auth import TokenStore, TokenStoreTransaction, TokenVault

AUTH = Path(sallakit.auth.__file__).parent
MAX_CLASS_LINES = 400


def test_no_class_in_auth_is_over_400_lines() -> None:
    for path in sorted(AUTH.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                assert length <= MAX_CLASS_LINES, f"{path.name}:{node.name} has {length} lines"


def test_the_coordinator_uses_no_private_vault_attribute() -> None:
    tree = ast.parse((AUTH / "_coordinator.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            chain = ast.unparse(node)
            assert "vault." not in chain, f"the coordinator reaches into the vault: {chain}"


def test_no_sqlalchemy_type_in_the_seam_or_the_facade() -> None:
    for owner in (TokenStore, TokenStoreTransaction, TokenVault):
        for name, member in inspect.getmembers(owner, callable):
            if name.startswith("_") and name != "__init__":
                continue
            # Annotations are strings (postponed evaluation): check the names they use.
            for hint in getattr(member, "__annotations__", {}).values():
                text = str(hint)
                for banned in ("sqlalchemy", "Engine", "Connection", "RowMapping"):
                    assert banned not in text, f"{owner.__name__}.{name}: {text}"
