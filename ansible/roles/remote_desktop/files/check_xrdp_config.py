#!/usr/bin/python3
"""Check an xrdp.ini or sesman.ini before it replaces the live one (Ansible `validate:`).

xrdp has no config test mode, so this parses the file as xrdp does (INI, ';' and '#' comments)
and refuses one that breaks the controls the remote_desktop role implements:

  xrdp.ini    TW-08 security_layer=tls, only TLSv1.2/TLSv1.3, a certificate and key;
              TW-01..03 rdpdr and cliprdr off (or allow_channels=false); only Xorg sessions.
  sesman.ini  TW-02 both clipboard restrictions "all"; TW-01 FUSE drive mount off;
              TW-07 IdleTimeLimit and DisconnectedTimeLimit set, KillDisconnected on;
              root logins off; a TerminalServerUsers group with AlwaysGroupCheck.

    check_xrdp_config.py xrdp|sesman FILE      exit 0 when fine, 1 with the reasons otherwise
"""

from __future__ import annotations

import configparser
import sys

TRUE = {"1", "true", "yes", "on"}


def load(path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        interpolation=None, strict=False, comment_prefixes=(";", "#"), inline_comment_prefixes=None
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    with open(path, encoding="utf-8") as fh:
        parser.read_file(fh)
    return parser


def check_xrdp(ini: configparser.ConfigParser) -> list[str]:
    errors = []
    g = ini["Globals"] if ini.has_section("Globals") else {}
    if g.get("security_layer", "").strip().lower() != "tls":
        errors.append("TW-08: [Globals] security_layer must be tls")
    protocols = {p.strip() for p in g.get("ssl_protocols", "").split(",") if p.strip()}
    if not protocols or not protocols <= {"TLSv1.2", "TLSv1.3"}:
        errors.append(f"TW-08: [Globals] ssl_protocols must list only TLSv1.2/TLSv1.3, got {sorted(protocols)}")
    for key in ("certificate", "key_file"):
        if not g.get(key, "").strip():
            errors.append(f"TW-08: [Globals] {key} must name the site certificate and key")
    if g.get("allow_channels", "true").strip().lower() in TRUE:
        channels = ini["Channels"] if ini.has_section("Channels") else {}
        for name in ("rdpdr", "cliprdr"):
            if channels.get(name, "false").strip().lower() in TRUE:
                errors.append(f"TW-01..03: [Channels] {name} must be false")
    for section in ini.sections():
        for name in ("rdpdr", "cliprdr"):
            if ini[section].get(f"channel.{name}", "false").strip().lower() in TRUE:
                errors.append(f"TW-01..03: [{section}] channel.{name} must not turn the channel back on")
        lib = ini[section].get("lib", "")
        if lib and lib != "libxup.so":
            errors.append(f"[{section}] lib={lib}: only Xorg sessions (libxup.so) are allowed")
    return errors


def check_sesman(ini: configparser.ConfigParser) -> list[str]:
    errors = []
    sec = ini["Security"] if ini.has_section("Security") else {}
    for key in ("RestrictOutboundClipboard", "RestrictInboundClipboard"):
        if sec.get(key, "none").strip().lower() not in ("all", "true", "yes"):
            errors.append(f"TW-02: [Security] {key} must be all")
    if sec.get("AllowRootLogin", "true").strip().lower() in TRUE:
        errors.append("[Security] AllowRootLogin must be false")
    if not sec.get("TerminalServerUsers", "").strip() or sec.get("AlwaysGroupCheck", "").strip().lower() not in TRUE:
        errors.append("TW-13: [Security] TerminalServerUsers must name a group and AlwaysGroupCheck be true")
    chansrv = ini["Chansrv"] if ini.has_section("Chansrv") else {}
    if chansrv.get("EnableFuseMount", "true").strip().lower() in TRUE:
        errors.append("TW-01: [Chansrv] EnableFuseMount must be false")
    sessions = ini["Sessions"] if ini.has_section("Sessions") else {}
    for key in ("IdleTimeLimit", "DisconnectedTimeLimit"):
        value = sessions.get(key, "0").strip()
        if not value.isdigit() or int(value) < 60:
            errors.append(f"TW-07: [Sessions] {key} must be at least 60 seconds, got {value!r}")
    if sessions.get("KillDisconnected", "false").strip().lower() not in TRUE:
        errors.append("TW-07: [Sessions] KillDisconnected must be true")
    return errors


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("xrdp", "sesman"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        ini = load(sys.argv[2])
    except (OSError, configparser.Error, UnicodeDecodeError) as exc:
        print(f"{sys.argv[2]}: cannot parse: {exc}", file=sys.stderr)
        return 1
    errors = check_xrdp(ini) if sys.argv[1] == "xrdp" else check_sesman(ini)
    for error in errors:
        print(f"{sys.argv[2]}: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
