"""Byte-stuffed framing shared by flag-delimited serial protocols (HDLC style).

A frame is ``START payload END``; inside it, any byte that equals a flag or the escape byte is
sent as ``ESCAPE (byte ^ 0x20)``. The framer buffers chunks of any size, hands out whole
unescaped frames, and resynchronises on the next flag after garbage, a lost flag or an
oversize frame, counting every discarded frame instead of raising.
"""

from __future__ import annotations

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

    def feed(self, chunk: bytes) -> list[bytes]:
        frames = []
        for byte in chunk:
            frame = self._byte(byte)
            if frame is not None:
                frames.append(frame)
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

    def _byte(self, byte: int) -> bytes | None:
        if byte == self.end and self._in_frame and (self._buffer or self.start != self.end):
            return self._close()
        if byte == self.start:
            if self._buffer:
                self._discard()
            self._in_frame, self._escaped = True, False
            return None
        if not self._in_frame:
            self.counts.discarded_bytes += 1
            return None
        if byte == self.escape:
            self._escaped = True
            return None
        if self._escaped:
            byte ^= ESCAPE_XOR
            self._escaped = False
        self._buffer.append(byte)
        if len(self._buffer) > self.max_frame:
            self._discard()
            self._in_frame = False
        return None

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
