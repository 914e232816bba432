"""Protocol name → adapter (client side) and monitor side, the names users put in configs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devices.base import DeviceAdapter, MonitorSide
from devices.ge_s5 import GeS5Adapter, GeS5Monitor
from devices.hl7_mllp import Hl7MllpAdapter, Hl7MllpMonitor
from devices.intellivue import IntelliVueAdapter, IntelliVueMonitor
from devices.masimo_ascii import MasimoAsciiAdapter, MasimoAsciiMonitor
from vitals.errors import UnknownProtocol

ADAPTERS: dict[str, type[DeviceAdapter]] = {
    a.protocol: a for a in (GeS5Adapter, Hl7MllpAdapter, IntelliVueAdapter, MasimoAsciiAdapter)
}
MONITORS: dict[str, type[MonitorSide]] = {
    m.protocol: m for m in (GeS5Monitor, Hl7MllpMonitor, IntelliVueMonitor, MasimoAsciiMonitor)
}


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


def new_monitor(protocol: str) -> MonitorSide:
    if protocol not in MONITORS:
        raise UnknownProtocol(
            f"unknown protocol {protocol!r} for the simulator; known: {', '.join(sorted(MONITORS))}"
        )
    return MONITORS[protocol]()
