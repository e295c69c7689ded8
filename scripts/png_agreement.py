#!/usr/bin/env python3
"""Compares two 8-bit greyscale PNG files (pixelcnn's sample grids) pixel by pixel, with the
standard library only (the GPU machines have no Pillow): prints the share of equal pixels as JSON
and exits 0 when the pictures are identical, 1 otherwise.

  python png_agreement.py cached.png naive.png
"""

import json
import struct
import sys
import zlib


def pixels(path):
    """The rows of an 8-bit greyscale or RGB(A) PNG, unfiltered, as one bytes object per row."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG file")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise SystemExit(f"{path}: only 8-bit, non-interlaced greyscale or RGB(A) PNGs are read")
    raw, stride, bpp = zlib.decompress(idat), width * channels, channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = previous[x]
            c = previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = line
    return (width, height), rows


def main():
    (size_a, rows_a), (size_b, rows_b) = pixels(sys.argv[1]), pixels(sys.argv[2])
    if size_a != size_b:
        print(json.dumps({"identical": False, "sizes": [size_a, size_b]}))
        sys.exit(1)
    total = sum(len(r) for r in rows_a)
    equal = sum(x == y for ra, rb in zip(rows_a, rows_b) for x, y in zip(ra, rb))
    print(json.dumps({"identical": equal == total, "equal_share": equal / total, "values": total}))
    sys.exit(0 if equal == total else 1)


if __name__ == "__main__":
    main()
