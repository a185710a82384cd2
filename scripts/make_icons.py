"""Draw the installed app's PNG icons from the favicon's design (static/rooms/favicon.svg): a blue
rounded square with a white speech bubble. Run once after changing the design; the PNGs are committed.

    .venv/bin/python scripts/make_icons.py [output directory]

Pillow draws without anti-aliasing, so each icon is drawn at SUPERSAMPLE times its size and scaled
down (Lanczos), which smooths the edges. The output is the same for the same Pillow version, and
tests/test_installable_app.py checks the committed icons against a fresh drawing.
"""

import sys
from pathlib import Path

from PIL import Image, ImageDraw

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ICONS = PROJECT_ROOT / "static" / "rooms" / "icons"
SUPERSAMPLE = 4

# favicon.svg's geometry on its 32×32 grid: <rect rx="8" fill="#2563eb"/> and the bubble's path
# "M8 10h16v9H15l-5 4v-4H8z".
GRID = 32
CORNER_RADIUS = 8
BACKGROUND = "#2563eb"
FOREGROUND = "#ffffff"
BUBBLE = [(8, 10), (24, 10), (24, 19), (15, 19), (10, 23), (10, 19), (8, 19)]

# name: (size in pixels, rounded corners). A maskable icon fills its square (the platform cuts its
# own shape out of it) and keeps its drawing inside the central circle of 40% radius: the bubble's
# farthest corner is 10.3/32 ≈ 32% from the centre, so the favicon's layout already fits. The
# apple-touch-icon is opaque and square too: iOS rounds it itself and shows transparency as black.
ICON_SPECS = {
    "icon-192.png": (192, True),
    "icon-512.png": (512, True),
    "icon-maskable-512.png": (512, False),
    "apple-touch-icon.png": (180, False),
}


def draw_icon(size, rounded):
    large = size * SUPERSAMPLE
    scale = large / GRID
    image = Image.new("RGBA", (large, large), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if rounded:
        draw.rounded_rectangle((0, 0, large - 1, large - 1), radius=round(CORNER_RADIUS * scale), fill=BACKGROUND)
    else:
        draw.rectangle((0, 0, large - 1, large - 1), fill=BACKGROUND)
    draw.polygon([(x * scale, y * scale) for x, y in BUBBLE], fill=FOREGROUND)
    icon = image.resize((size, size), Image.Resampling.LANCZOS)
    return icon if rounded else icon.convert("RGB")


def make_icons(directory):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, (size, rounded) in ICON_SPECS.items():
        draw_icon(size, rounded).save(directory / name, optimize=True)
    return sorted(directory / name for name in ICON_SPECS)


if __name__ == "__main__":
    for path in make_icons(sys.argv[1] if len(sys.argv) > 1 else ICONS):
        print(path)
