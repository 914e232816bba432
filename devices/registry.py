"""Protocol name → adapter (client side) and monitor side, the names users put in configs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devices.base import DeviceAdapter
from devices.ge_s5 import GeS5Adapter, GeS5Monitor
from vitals.errors import UnknownProtocol

ADAPTERS: dict[str, type[DeviceAdapter]] = {GeS5Adapter.protocol: GeS5Adapter}
MONITORS: dict[str, type[GeS5Monitor]] = {GeS5Monitor.protocol: GeS5Monitor}


def protocols() -> list[str]:
    return sorted(ADAPTERS)


def adapter_class(protocol: str) -> type[DeviceAdapter]:
    try:
        return ADAPTERS[protocol]
    except KeyError:
        raise UnknownProtocol(
            f"unknown protocol {protocol!r}; known: {', '.join(protocols())}"
        ) from None


def new_adapter(protocol: str, options: Mapping[str, Any] | None = None) -> DeviceAdapter:
    return adapter_class(protocol)(options)


def new_monitor(protocol: str) -> GeS5Monitor:
    if protocol not in MONITORS:
        raise UnknownProtocol(
            f"unknown protocol {protocol!r} for the simulator; known: {', '.join(sorted(MONITORS))}"
        )
    return MONITORS[protocol]()
