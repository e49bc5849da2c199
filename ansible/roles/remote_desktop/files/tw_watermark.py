#!/usr/bin/python3
"""TW-10: a watermark over one remote-desktop session (one X display).

Draws "<name> <user id> / <host> <date time>" tiled diagonally over the whole screen, in a
window that is override-redirect (no window manager controls it), click-through (empty input
shape), raised above every other window every few seconds, redrawn every minute and whenever
the screen size changes. With a compositing manager the text is semi-transparent; without one
the window is shaped to the text itself, so everything between the letters stays visible.

It is started by tw-watermark-manager (a root service) as the system account that owns
neither the session nor the desktop: the session's user cannot kill it, and if anything does
(xkill), the manager starts it again.

    tw_watermark.py --display :10 --user sato.taro [--config /etc/telework-desktop/watermark.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "font": "Noto Sans CJK JP",
    "font_size": 22,
    "color": [0.45, 0.45, 0.45],
    "opacity": 0.35,
    "angle": -25,
    "spacing_x": 170,
    "spacing_y": 150,
    "raise_seconds": 2,
    "time_format": "%Y-%m-%d %H:%M",
    "directory": "/etc/telework-desktop/users.json",
    "host_label": "",
}


def load_config(path: str) -> dict[str, Any]:
    config = dict(DEFAULTS)
    try:
        config.update(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        print(f"tw-watermark: using defaults, cannot read {path}: {exc}", file=sys.stderr)
    return config


def display_name(user: str, directory: str) -> str:
    """The user's name from the staff directory (written by the remote_desktop role), else ''."""
    try:
        entry = json.loads(Path(directory).read_text(encoding="utf-8")).get(user, {})
    except (OSError, ValueError):
        return ""
    return str(entry.get("name", ""))


def lines_for(user: str, config: dict[str, Any]) -> list[str]:
    name = display_name(user, config["directory"])
    host = config["host_label"] or socket.gethostname().split(".")[0]
    first = f"{name} {user}".strip()
    return [first, f"{host} {time.strftime(config['time_format'])}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--display", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--config", default="/etc/telework-desktop/watermark.json")
    args = parser.parse_args()
    os.environ["DISPLAY"] = args.display
    os.environ.setdefault("NO_AT_BRIDGE", "1")
    config = load_config(args.config)
    if config.get("time_zone"):
        os.environ["TZ"] = str(config["time_zone"])
        time.tzset()

    import cairo
    import gi

    gi.require_version("Gdk", "3.0")
    gi.require_version("Gtk", "3.0")
    gi.require_version("Pango", "1.0")
    gi.require_version("PangoCairo", "1.0")
    from gi.repository import Gdk, GLib, Gtk, Pango, PangoCairo

    if not Gtk.init_check(None)[0]:
        print(f"tw-watermark: cannot open display {args.display}", file=sys.stderr)
        return 2

    screen = Gdk.Screen.get_default()
    window = Gtk.Window(type=Gtk.WindowType.POPUP)
    window.set_title("tw-watermark")
    window.set_app_paintable(True)
    window.set_accept_focus(False)
    window.set_keep_above(True)
    window.set_skip_taskbar_hint(True)
    window.set_skip_pager_hint(True)
    composited = screen.is_composited() and screen.get_rgba_visual() is not None
    if composited:
        window.set_visual(screen.get_rgba_visual())
    state: dict[str, Any] = {"lines": lines_for(args.user, config), "size": (0, 0)}

    def paint(cr: Any, width: int, height: int) -> None:
        """Tile the text over width x height, rotated by the configured angle."""
        layout = PangoCairo.create_layout(cr)
        layout.set_font_description(Pango.FontDescription(f"{config['font']} {config['font_size']}px"))
        layout.set_text("\n".join(state["lines"]), -1)
        text_w, text_h = layout.get_pixel_size()
        step_x = text_w + int(config["spacing_x"])
        step_y = text_h + int(config["spacing_y"])
        angle = math.radians(float(config["angle"]))
        reach = int(math.hypot(width, height)) + step_x
        cr.translate(width / 2, height / 2)
        cr.rotate(angle)
        red, green, blue = config["color"]
        for row, y in enumerate(range(-reach, reach, step_y)):
            offset = (row % 2) * step_x // 2
            for x in range(-reach - offset, reach, step_x):
                cr.move_to(x, y)
                PangoCairo.layout_path(cr, layout)
        if composited:
            cr.set_source_rgba(red, green, blue, float(config["opacity"]))
            cr.fill_preserve()
            cr.set_source_rgba(1, 1, 1, float(config["opacity"]) / 2)
            cr.set_line_width(1)
            cr.stroke()
        else:
            cr.set_source_rgb(red, green, blue)
            cr.fill()

    def on_draw(_widget: Any, cr: Any) -> bool:
        width, height = window.get_size()
        if composited:
            cr.set_operator(cairo.OPERATOR_SOURCE)
            cr.set_source_rgba(0, 0, 0, 0)
            cr.paint()
            cr.set_operator(cairo.OPERATOR_OVER)
        paint(cr, width, height)
        return False

    def reshape() -> None:
        """Click-through everywhere; without compositing, visible only where the text is."""
        gdk_window = window.get_window()
        if gdk_window is None:
            return
        width, height = state["size"]
        window.input_shape_combine_region(cairo.Region())
        if not composited:
            mask = cairo.ImageSurface(cairo.FORMAT_A1, width, height)
            paint(cairo.Context(mask), width, height)
            window.shape_combine_region(Gdk.cairo_region_create_from_surface(mask))

    def fit_screen(*_args: Any) -> None:
        root = screen.get_root_window()
        width, height = root.get_width(), root.get_height()
        state["size"] = (width, height)
        window.move(0, 0)
        window.resize(width, height)
        reshape()
        window.queue_draw()

    def tick() -> bool:
        lines = lines_for(args.user, config)
        if lines != state["lines"]:
            state["lines"] = lines
            reshape()
            window.queue_draw()
        return True

    def keep_on_top() -> bool:
        gdk_window = window.get_window()
        if gdk_window is not None:
            gdk_window.raise_()
        return True

    window.connect("draw", on_draw)
    window.connect("destroy", Gtk.main_quit)
    screen.connect("size-changed", fit_screen)
    screen.connect("monitors-changed", fit_screen)
    window.show_all()
    fit_screen()
    GLib.timeout_add_seconds(int(config["raise_seconds"]), keep_on_top)
    # The clock shows minutes: check every 5 s so the minute flips on time.
    GLib.timeout_add_seconds(5, tick)
    Gtk.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
