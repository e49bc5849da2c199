#!/usr/bin/python3
"""TW-14: draw the login notice into the background image of xrdp's login screen.

xrdp's login window can show a background image (BMP) but no free text, so the notice is
drawn into an image: the text centred near the top, the login box (centred by xrdp) below it.

    tw_render_banner.py BANNER.txt OUT.bmp [--size 1600x900] [--background 1c3a5e]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("banner")
    parser.add_argument("out")
    parser.add_argument("--size", default="1600x900")
    parser.add_argument("--background", default="003057")
    parser.add_argument("--font", default="Noto Sans CJK JP 22px")
    args = parser.parse_args()

    import cairo
    import gi

    gi.require_version("GdkPixbuf", "2.0")
    gi.require_version("Pango", "1.0")
    gi.require_version("PangoCairo", "1.0")
    from gi.repository import GdkPixbuf, Pango, PangoCairo

    width, height = (int(v) for v in args.size.split("x"))
    text = Path(args.banner).read_text(encoding="utf-8").strip()
    surface = cairo.ImageSurface(cairo.FORMAT_RGB24, width, height)
    cr = cairo.Context(surface)
    bg = bytes.fromhex(args.background)
    cr.set_source_rgb(bg[0] / 255, bg[1] / 255, bg[2] / 255)
    cr.paint()
    layout = PangoCairo.create_layout(cr)
    layout.set_font_description(Pango.FontDescription(args.font))
    layout.set_width(int(width * 0.8) * Pango.SCALE)
    layout.set_alignment(Pango.Alignment.CENTER)
    layout.set_wrap(Pango.WrapMode.WORD_CHAR)
    layout.set_text(text, -1)
    _, text_h = layout.get_pixel_size()
    cr.move_to(width * 0.1, max(20, height * 0.2 - text_h))
    cr.set_source_rgb(1, 1, 1)
    PangoCairo.show_layout(cr, layout)
    surface.flush()
    png = Path(args.out + ".png.tmp")
    surface.write_to_png(str(png))
    tmp = Path(args.out + ".tmp")
    GdkPixbuf.Pixbuf.new_from_file(str(png)).savev(str(tmp), "bmp", [], [])
    png.unlink()
    tmp.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
