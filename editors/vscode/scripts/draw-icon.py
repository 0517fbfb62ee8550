"""Draws the extension's icon (images/icon.png, 128x128) with no image library: two overlapping
rounded 'speech' discs (the worker and the reviewer) and a check mark, on a dark rounded square.
Run: python3 scripts/draw-icon.py"""

import struct
import zlib
from pathlib import Path

SIZE, SS = 128, 4  # 4x4 supersampling for smooth edges


def inside_rounded(x: float, y: float, x0: float, y0: float, x1: float, y1: float,
                   r: float) -> bool:
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r and x0 <= x <= x1 and y0 <= y <= y1


def near_segment(x: float, y: float, a: tuple, b: tuple, width: float) -> bool:
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    px, py = ax + t * dx, ay + t * dy
    return (x - px) ** 2 + (y - py) ** 2 <= (width / 2) ** 2


def colour(x: float, y: float) -> tuple:
    if not inside_rounded(x, y, 4, 4, 124, 124, 24):
        return (0, 0, 0, 0)
    pixel = (24, 32, 56, 255)  # background
    if (x - 50) ** 2 + (y - 56) ** 2 <= 30 ** 2:
        pixel = (66, 133, 244, 255)  # worker: blue
    if (x - 80) ** 2 + (y - 72) ** 2 <= 30 ** 2:
        overlap = (x - 50) ** 2 + (y - 56) ** 2 <= 30 ** 2
        pixel = (52, 168, 120, 255) if overlap else (240, 160, 48, 255)  # reviewer: amber
    if near_segment(x, y, (50, 66), (62, 78), 9) or near_segment(x, y, (62, 78), (88, 48), 9):
        pixel = (255, 255, 255, 255)
    return pixel


def main() -> None:
    rows = []
    for py in range(SIZE):
        row = bytearray([0])
        for px in range(SIZE):
            acc = [0, 0, 0, 0]
            for sy in range(SS):
                for sx in range(SS):
                    c = colour(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS)
                    acc = [a + c[i] * (c[3] / 255 if i < 3 else 1) for i, a in enumerate(acc)]
            n = SS * SS
            alpha = acc[3] / n
            rgb = [round(acc[i] / n / (alpha / 255)) if alpha else 0 for i in range(3)]
            row += bytes([*rgb, round(alpha)])
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
           + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    out = Path(__file__).resolve().parents[1] / "images" / "icon.png"
    out.write_bytes(png)
    print(f"wrote {out} ({len(png)} bytes)")


if __name__ == "__main__":
    main()
