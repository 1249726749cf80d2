"""A PNG reader for the screenshot tests: 8-bit RGB or RGBA, not interlaced, as Chromium
writes them; enough to look at pixels without an imaging library."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path: Path) -> npt.NDArray[np.uint8]:
    """The image as an array of height x width x 3 (RGB; alpha dropped)."""
    data = path.read_bytes()
    assert data.startswith(SIGNATURE), f"{path} is not a PNG"
    pos, chunks, header = len(SIGNATURE), [], b""
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unsupported PNG"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], np.frombuffer(raw, np.uint8, stride, start + 1)
        row = _unfilter(kind, line, previous, bpp)
        out[y] = row
        previous = row
    return out.reshape(height, width, bpp)[:, :, :3]


def _unfilter(
    kind: int, line: npt.NDArray[np.uint8], up: npt.NDArray[np.uint8], bpp: int
) -> npt.NDArray[np.uint8]:
    if kind in (0, 2):
        # uint8 arithmetic wraps, as the Up filter's does.
        return np.add(line, up if kind == 2 else 0, dtype=np.uint8)
    if kind == 1:
        pixels = line.reshape(-1, bpp).astype(np.uint64)
        return (np.cumsum(pixels, axis=0) % 256).astype(np.uint8).reshape(-1)
    # Average and Paeth depend on the byte just decoded: byte by byte.
    row, cur, above = bytearray(line.tobytes()), line.tolist(), up.tolist()
    for i in range(len(row)):
        a = row[i - bpp] if i >= bpp else 0
        b = above[i]
        if kind == 3:
            row[i] = (cur[i] + (a + b) // 2) & 0xFF
            continue
        c = above[i - bpp] if i >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
        row[i] = (cur[i] + predictor) & 0xFF
    return np.frombuffer(bytes(row), dtype=np.uint8)
