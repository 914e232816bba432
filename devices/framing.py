"""Byte-stuffed framing shared by flag-delimited serial protocols (HDLC style).

A frame is ``START payload END``; inside it, any byte that equals a flag or the escape byte is
sent as ``ESCAPE (byte ^ 0x20)``. The framer buffers chunks of any size, hands out whole
unescaped frames, and resynchronises on the next flag after garbage, a lost flag or an
oversize frame, counting every discarded frame instead of raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ESCAPE_XOR = 0x20
FRAMING_ERROR = "frame error: broken escape, lost flag or oversize frame"


@dataclass
class FramingCounts:
    frames: int = 0
    bad_frames: int = 0
    discarded_bytes: int = 0


class EscapedFramer:
    """Incremental deframer: ``feed(chunk)`` returns the unescaped frames completed so far."""

    def __init__(self, start: int, end: int, escape: int, max_frame: int) -> None:
        self.start, self.end, self.escape, self.max_frame = start, end, escape, max_frame
        self.counts = FramingCounts()
        self._buffer = bytearray()
        self._in_frame = False
        self._escaped = False
        self._bad_told = 0
        self._specials = re.compile(b"[" + re.escape(bytes({start, end, escape})) + b"]")

    def feed(self, chunk: bytes) -> list[bytes]:
        """Flags and escapes are judged one by one; the ordinary bytes between them (nearly
        all of a frame) are taken as one run: a recorder with 32 chairs feeds ~10 kB/s."""
        frames = []
        position = 0
        for special in self._specials.finditer(chunk):
            self._run(chunk[position : special.start()])
            frame = self._special(chunk[special.start()])
            if frame is not None:
                frames.append(frame)
            position = special.end()
        self._run(chunk[position:])
        return frames

    def take_bad(self) -> int:
        """Frames discarded since the last call, for the adapter to count with a reason."""
        fresh = self.counts.bad_frames - self._bad_told
        self._bad_told = self.counts.bad_frames
        return fresh

    def reset(self) -> None:
        """Forget a partial frame, e.g. after the port was reopened."""
        self._buffer.clear()
        self._in_frame = self._escaped = False

    def _special(self, byte: int) -> bytes | None:
        """A flag or the escape byte."""
        if byte == self.end and self._in_frame and (self._buffer or self.start != self.end):
            return self._close()
        if byte == self.start:
            if self._buffer:
                self._discard()
            self._in_frame, self._escaped = True, False
            return None
        if not self._in_frame:  # an end flag or an escape outside any frame
            self.counts.discarded_bytes += 1
            return None
        self._escaped = True  # the escape byte: the next ordinary byte is XORed
        return None

    def _run(self, run: bytes) -> None:
        """Ordinary bytes (no flag, no escape): kept inside a frame (the first one unescaped
        after an escape), discarded outside; a frame growing past ``max_frame`` is discarded."""
        if not run:
            return
        if not self._in_frame:
            self.counts.discarded_bytes += len(run)
            return
        if self._escaped:
            self._buffer.append(run[0] ^ ESCAPE_XOR)
            self._escaped = False
            run = run[1:]
        self._buffer += run
        if len(self._buffer) > self.max_frame:
            # byte by byte: discarded when one byte too many arrived, the rest out of frame
            self._discard()
            self._in_frame = False

    def _close(self) -> bytes | None:
        frame = bytes(self._buffer)
        broken = self._escaped
        self._buffer.clear()
        self._escaped = False
        # With one flag for start and end, the flag that closes a frame may open the next.
        self._in_frame = self.start == self.end
        if broken:
            self.counts.bad_frames += 1
            return None
        self.counts.frames += 1
        return frame

    def _discard(self) -> None:
        self.counts.bad_frames += 1
        self.counts.discarded_bytes += len(self._buffer)
        self._buffer.clear()
        self._escaped = False


def escape(payload: bytes, specials: frozenset[int], escape_byte: int) -> bytes:
    out = bytearray()
    for byte in payload:
        if byte in specials:
            out += bytes((escape_byte, byte ^ ESCAPE_XOR))
        else:
            out.append(byte)
    return bytes(out)
