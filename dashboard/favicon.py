"""The browser tab's icon, drawn here: a Material Symbols icon as page icon makes the browser
fetch it from fonts.gstatic.com, and a clinic's station must not call out to the internet (nor
show a broken icon where it cannot)."""

from __future__ import annotations

from functools import cache

from PIL import Image, ImageDraw

SIZE = 64
# A heart-rate trace across a rounded square, in the station's normal green.
TRACE = [(6, 34), (20, 34), (26, 22), (32, 46), (38, 14), (44, 34), (58, 34)]


@cache
def favicon() -> Image.Image:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, SIZE - 1, SIZE - 1), radius=14, fill=(27, 94, 32, 255))
    draw.line(TRACE, fill=(255, 255, 255, 255), width=6, joint="curve")
    return image
