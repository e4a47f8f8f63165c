#!/usr/bin/env python3
"""Says whether a PNG shows something: decodes it with the standard library only (zlib) and counts
the pixels that differ from the most common colour. Exit 0 when at least MIN_FRACTION of the pixels
differ and there are at least MIN_COLOURS colours; 1 otherwise (a blank or near-blank screenshot).

usage: png_check.py FILE [MIN_FRACTION] [MIN_COLOURS]
"""
import collections
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG layout: depth {depth}, colour type {colour_type}, interlace {interlace}")
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def main():
    path = sys.argv[1]
    min_fraction = float(sys.argv[2]) if len(sys.argv) > 2 else 0.01
    min_colours = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    width, height, channels, rows = read_png(path)
    counts = collections.Counter()
    for row in rows:
        for x in range(0, len(row), channels):
            counts[row[x:x + 3]] += 1
    total = width * height
    _, dominant = counts.most_common(1)[0]
    fraction = (total - dominant) / total
    print(f"{path}: {width}x{height}, {len(counts)} colours, {fraction:.1%} of pixels differ from the background")
    return 0 if fraction >= min_fraction and len(counts) >= min_colours else 1


if __name__ == "__main__":
    sys.exit(main())
