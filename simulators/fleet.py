"""Start N simulated monitors and describe them as a chair configuration for the recorder."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from devices.registry import new_monitor
from simulators.links import Link, PtyLink, TcpLink, default_transport
from simulators.monitor import EventHook, SimClock, SimulatedMonitor
from simulators.physiology import PatientModel
from simulators.scenarios import scenario
from simulators.truth import TruthLog
from vitals.chairs import DEFAULT_CLOCK_TOLERANCE_S, Chair, Device
from vitals.errors import ConfigError


@dataclass
class FleetSpec:
    chairs: int
    scenarios: list[str]  # cycled over the chairs
    speed: float = 1.0
    seed: int = 1
    protocol: str = "ge-s5"  # or a comma list: one device per protocol on every chair
    transport: str = field(default_factory=default_transport)  # "pty" or "socket" (TCP)
    run_dir: Path = Path("data/run")
    truth: Path | None = None
    interval_s: int = 5
    nibp_interval_s: float = 300
    options: dict = field(default_factory=dict)
    # Each monitor sends at its own moment of the interval, as monitors switched on at
    # different times do; by default all send together (the worst case for a burst).
    stagger: bool = False

    def check(self) -> None:
        if not 1 <= self.chairs <= 64:
            raise ConfigError(f"--chairs must be 1-64, got {self.chairs}")
        if not 1 <= self.speed <= 600:
            raise ConfigError(f"--speed must be 1-600, got {self.speed}")
        if self.transport not in ("pty", "socket"):
            raise ConfigError(f"--links must be pty or tcp, got {self.transport!r}")
        if self.transport == "pty" and os.name != "posix":
            raise ConfigError("pseudo-terminals need POSIX; use --links tcp")
        for name in self.scenarios:
            scenario(name)
        for protocol in self.protocols:
            new_monitor(protocol)
        if len(set(self.protocols)) != len(self.protocols):
            raise ConfigError(f"--protocol lists a protocol twice: {self.protocol!r}")

    @property
    def protocols(self) -> list[str]:
        return [p.strip() for p in self.protocol.split(",") if p.strip()]


class Fleet:
    """The running monitors; ``chairs`` is what ``record --config`` needs to reach them."""

    def __init__(self, spec: FleetSpec, on_event: EventHook | None = None) -> None:
        spec.check()
        self.spec = spec
        self.on_event = on_event
        self.truth = TruthLog(spec.truth) if spec.truth else None
        self.monitors: list[SimulatedMonitor] = []
        self.chairs: list[Chair] = []
        self.models: dict[str, PatientModel] = {}
        for index in range(spec.chairs):
            self._add(index)

    def _add(self, index: int) -> None:
        """One chair: one simulated patient seen by one device per protocol of the spec."""
        spec = self.spec
        chair_id = f"chair-{index + 1}"
        name = spec.scenarios[index % len(spec.scenarios)]
        seed = zlib.crc32(f"{spec.seed}:{chair_id}".encode())
        model = PatientModel(scenario(name), seed, spec.nibp_interval_s)
        self.models[chair_id] = model
        clock = SimClock(spec.speed)
        phase = (seed % 1000) / 1000 * spec.interval_s if spec.stagger else 0.0
        devices = []
        # A streaming monitor keeps the simulated cadence itself; a polled one answers the
        # recorder, whose polls run on the wall clock: ask it to poll at the simulated rate.
        wall_interval = spec.interval_s / spec.speed
        slowest = wall_interval
        for position, protocol in enumerate(spec.protocols):
            link = self._link(chair_id if position == 0 else f"{chair_id}-{protocol}")
            encoder = new_monitor(protocol)
            hook = self.on_event if position == 0 else None  # one device reports the dose
            self.monitors.append(
                SimulatedMonitor(
                    chair_id, model, encoder, link, spec.speed, self.truth, hook, clock, phase
                )
            )
            if encoder.polled:
                options = encoder.chair_options(round(wall_interval, 2)) | spec.options
                slowest = max(slowest, options["interval_s"])
            else:
                options = encoder.chair_options(spec.interval_s) | spec.options
            devices.append(Device(link.url, protocol, options, protocol if position else ""))
        # Silence is judged in wall-clock seconds: three frame intervals at this speed.
        no_data_after = max(1.0, round(3 * slowest, 2))
        main, *more = devices
        self.chairs.append(
            Chair(
                chair_id,
                f"Chair {index + 1} ({name})",
                main.port,
                main.protocol,
                main.options,
                no_data_after,
                tuple(more),
                # a simulated clock runs ``speed`` times faster than the recorder's: not judged
                device_time_tolerance_s=0.0 if spec.speed != 1 else DEFAULT_CLOCK_TOLERANCE_S,
            )
        )

    def _link(self, name: str) -> Link:
        spec = self.spec
        link: Link = PtyLink(spec.run_dir / f"{name}.tty") if spec.transport == "pty" else TcpLink()
        link.open()
        return link

    def start(self) -> None:
        """Start every monitor; a hook sees the sessions' milestones from here on."""
        for monitor in self.monitors:
            monitor.start()

    def stop(self) -> None:
        for monitor in self.monitors:  # all fall silent at once, then each line is closed
            monitor.request_stop()
        for monitor in self.monitors:
            monitor.stop()
        if self.truth:
            self.truth.close()
