#!/usr/bin/env python3
"""Writes the PNG fixtures of the image output tests (standard library only; run from this folder).

small.png  3x7 RGBA: column 0 red, column 1 blue, column 2 transparent in rows 0-5; row 6 all red.
           The sixel test spells out by hand the bytes this must give.
noise.png  40x40 RGB of seeded random colours (more than 256), stored without compression so its
           base64 takes two kitty chunks.
"""
import random, struct, zlib

def png(width, height, rows, colour_type, level):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b""))

red, blue, clear = (255, 0, 0, 255), (0, 0, 255, 255), (0, 0, 0, 0)
small = [red + blue + clear for _ in range(6)] + [red * 3]
open("small.png", "wb").write(png(3, 7, small, 6, 9))

rng = random.Random(7)
noise = [[rng.randrange(256) for _ in range(40 * 3)] for _ in range(40)]
open("noise.png", "wb").write(png(40, 40, noise, 2, 0))
