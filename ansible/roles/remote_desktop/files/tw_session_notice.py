#!/usr/bin/python3
"""TW-14: show the site's notice when a remote-desktop session starts (Xfce autostart).

Shows /etc/telework-desktop/banner.txt and what the session does (watermark, logging, limits)
in a small window the user closes with OK. It is a reminder, not a control: the login screen
carries the same text before the password is typed.
"""

from __future__ import annotations

import sys
from pathlib import Path

BANNER = Path("/etc/telework-desktop/banner.txt")
DETAILS = Path("/etc/telework-desktop/notice.txt")


def main() -> int:
    import gi

    gi.require_version("Gtk", "3.0")
    from gi.repository import Gtk

    text = BANNER.read_text(encoding="utf-8").strip() if BANNER.exists() else ""
    details = DETAILS.read_text(encoding="utf-8").strip() if DETAILS.exists() else ""
    dialog = Gtk.MessageDialog(
        message_type=Gtk.MessageType.INFO, buttons=Gtk.ButtonsType.OK, text="ご利用にあたって / Notice"
    )
    dialog.set_title("テレワーク端末 / Telework desktop")
    dialog.format_secondary_text(f"{text}\n\n{details}".strip())
    dialog.set_keep_above(True)
    dialog.set_position(Gtk.WindowPosition.CENTER)
    dialog.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
