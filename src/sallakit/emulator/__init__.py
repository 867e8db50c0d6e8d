"""A faithful local Salla: accounts server, Merchant API and webhook sender, in memory.

Use it in-process (``emulator.async_transport()`` / ``emulator.sync_transport()`` / the ASGI
``emulator.app``) or as a server (``sallakit emulator``). See the docs page "Testing your Salla
app with the sallakit emulator".
"""

from __future__ import annotations

from sallakit._extras import require_extra

require_extra("emulator", "sallakit.emulator")

from sallakit.emulator._clock import Clock
from sallakit.emulator._context import (
    ApiRequest,
    ApiResponse,
    EmulatorHTTPError,
    RequestContext,
    StoreProfile,
)
from sallakit.emulator._emulator import Emulator, default_scopes
from sallakit.emulator._faults import Fault
from sallakit.emulator._oauth import AppRegistration, Grant
from sallakit.emulator._rules import RuleSyntaxError
from sallakit.emulator._transport import AsyncEmulatorTransport, SyncEmulatorTransport
from sallakit.emulator._webhooks import DeliveryRecord, sign

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "AppRegistration",
    "AsyncEmulatorTransport",
    "Clock",
    "DeliveryRecord",
    "Emulator",
    "EmulatorHTTPError",
    "Fault",
    "Grant",
    "RequestContext",
    "RuleSyntaxError",
    "StoreProfile",
    "SyncEmulatorTransport",
    "default_scopes",
    "sign",
]
