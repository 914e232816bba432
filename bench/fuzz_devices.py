"""Fuzz every decoder: valid, mutated, truncated and random frames; nothing may escape.

For each protocol, ``--frames`` frames are built from its own simulated monitor (random
values, artifacts and no-data markers), then each is sent whole, with 1-4 random bytes
flipped, truncated at a random point, or replaced by random bytes, and fed to the decoder
in random chunks. Any exception that escapes a decoder is a failure (exit status 1); the
figures are each decoder's speed on valid frames, the fuzzing rate, and how many bad frames
each decoder counted.

    python -m bench.fuzz_devices [--frames 1000000] [--seed 1] [--protocol NAME]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback

from devices.registry import new_adapter, new_monitor, protocols
from vitals.reading import Param

KINDS = ("valid", "mutated", "truncated", "random")


def frame(rng: random.Random, monitor, number: int) -> bytes:
    values = {p: (None if rng.random() < 0.05 else rng.uniform(0, 320)) for p in Param}
    artifact = rng.choice(("", "", "", "motion", "lead-off"))
    encoded, _ = monitor.encode(1_700_000_000 + number, values, artifact)
    return encoded


def damage(rng: random.Random, data: bytes, kind: str) -> bytes:
    if kind == "mutated":
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == "truncated":
        return data[: rng.randrange(1, len(data))]
    if kind == "random":
        return rng.randbytes(rng.randint(1, len(data)))
    return data


def connected(protocol: str):
    """A monitor and an adapter that went through the protocol's opening (an IntelliVue
    association): only then are a polled monitor's answers used, and decoded to the end."""
    monitor, adapter = new_monitor(protocol), new_adapter(protocol)
    monitor.feed(adapter.on_connect())
    adapter.feed(monitor.take_replies())
    monitor.feed(adapter.take_output())
    return monitor, adapter


def fuzz(protocol: str, frames: int, seed: int) -> bool:
    rng = random.Random(seed)
    monitor, adapter = connected(protocol)
    sent = dict.fromkeys(KINDS, 0)
    readings, began = 0, time.perf_counter()
    for number in range(frames):
        kind = rng.choice(KINDS)
        sent[kind] += 1
        data = damage(rng, frame(rng, monitor, number), kind)
        while data:
            cut = rng.randint(1, len(data))
            try:
                readings += len(adapter.feed(data[:cut]))
            except Exception:  # the one thing this script exists to catch
                print(f"{protocol}: exception escaped on frame {number} ({kind}):", file=sys.stderr)
                traceback.print_exc()
                return False
            data = data[cut:]
    elapsed = time.perf_counter() - began
    counts = adapter.counts
    print(
        f"{protocol}: {frames:,} frames ({', '.join(f'{k} {v:,}' for k, v in sent.items())}) "
        f"in {elapsed:.0f} s = {frames / elapsed:,.0f} frames/s; 0 exceptions; decoder counted "
        f"{counts.frames_ok:,} ok and {counts.frames_bad:,} bad frames, {readings:,} readings"
    )
    return True


def throughput(protocol: str, frames: int = 20_000) -> None:
    """Decode speed on valid frames alone, one frame per chunk: the live path's cost."""
    rng = random.Random(0)
    monitor, adapter = connected(protocol)
    encoded = [frame(rng, monitor, n) for n in range(frames)]
    began = time.perf_counter()
    for data in encoded:
        adapter.feed(data)
    elapsed = time.perf_counter() - began
    print(f"{protocol}: decodes {frames / elapsed:,.0f} valid frames/s on one core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--protocol", choices=protocols(), action="append")
    args = parser.parse_args()
    chosen = args.protocol or protocols()
    for protocol in chosen:
        throughput(protocol)
    results = [fuzz(p, args.frames, args.seed) for p in chosen]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
