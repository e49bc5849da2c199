#!/usr/bin/python3
"""A real RDP client for tests and benchmarks: FreeRDP under Xvfb, screenshots, OCR.

Runs on a client host (Debian 12: freerdp2-x11, Debian 13: freerdp3-x11; xvfb, imagemagick,
tesseract-ocr, python3-pil, xclip). Each connection has a name; its Xvfb display, FreeRDP
process and log live under /run/rdp-probe/NAME/.

    rdp_probe.py start NAME --host H --user U --password P [--drive DIR] [--clipboard]
                             [--microphone] [--printer] [--size 1280x800] [--client-name PC]
    rdp_probe.py wait-desktop NAME [--timeout 60] [--color 28,59,94]   prints seconds, rc 1 on timeout
    rdp_probe.py shot NAME FILE                                         screenshot of the client's screen
    rdp_probe.py alive NAME                                             rc 0 while FreeRDP runs
    rdp_probe.py wait-exit NAME [--timeout 120]                         rc 0 once FreeRDP has exited
    rdp_probe.py stop NAME                                              end FreeRDP and Xvfb
    rdp_probe.py stats FILE [--color R,G,B]                             JSON: mean, stddev, dark, color share
    rdp_probe.py ocr FILE --expect TEXT [--angle -25]                   rc 0 when TEXT is read on the image
    rdp_probe.py clip-set NAME TEXT / clip-get NAME                     the client's clipboard
    rdp_probe.py tls --host H [--version TLSv1_2] [--protocol ssl|rdp]  JSON: handshake outcome, version, PEM
    rdp_probe.py banner NAME --host H                                   connect without credentials (login screen)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", category=DeprecationWarning)  # TLS 1.0/1.1 are asked for on purpose

RUN = Path("/run/rdp-probe")


def freerdp() -> tuple[str, int]:
    for binary, major in (("xfreerdp3", 3), ("xfreerdp", 2)):
        path = shutil.which(binary)
        if path:
            return path, major
    raise SystemExit("rdp_probe: no FreeRDP client (freerdp3-x11 or freerdp2-x11) installed")


def state_dir(name: str) -> Path:
    return RUN / name


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text().split()
    return stat[2] != "Z"


def read_pid(name: str, what: str) -> int | None:
    path = state_dir(name) / f"{what}.pid"
    return int(path.read_text()) if path.exists() else None


def display_of(name: str) -> str:
    return (state_dir(name) / "display").read_text().strip()


def free_display() -> int:
    for number in range(90, 190):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise SystemExit("rdp_probe: no free X display")


def cmd_start(args: argparse.Namespace) -> int:
    d = state_dir(args.name)
    if d.exists():
        cmd_stop(args)
    d.mkdir(parents=True)
    number = free_display()
    width, height = args.size.split("x")
    xvfb = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            break
        time.sleep(0.05)
    (d / "xvfb.pid").write_text(str(xvfb.pid))
    (d / "display").write_text(f":{number}")
    binary, major = freerdp()
    argv = [binary, f"/v:{args.host}:{args.port}", f"/size:{args.size}"]
    if args.user:
        argv += [f"/u:{args.user}", f"/p:{args.password}"]
    elif major >= 3:
        argv += ["/u:", "/p:", "/d:"]  # FreeRDP 3 asks on the terminal otherwise
    argv += ["/cert:ignore" if major >= 3 else "/cert-ignore", "/sec:tls", "/log-level:INFO"]
    argv += ["+clipboard" if args.clipboard else "-clipboard"]
    if args.drive:
        Path(args.drive).mkdir(parents=True, exist_ok=True)
        argv.append(f"/drive:probe,{args.drive}")
        # at DEBUG the drive channel logs the server's announce ("server announces version ...")
        argv.append("/log-filters:com.freerdp.channels.rdpdr.client:DEBUG")
    if args.microphone:
        argv.append("/microphone")
    if args.printer:
        argv.append("/printer")
    if getattr(args, "client_name", None):
        argv.append(f"/client-hostname:{args.client_name}")  # the computer name xrdp logs
    env = dict(os.environ, DISPLAY=f":{number}")
    (d / "argv").write_text(" ".join(a if not a.startswith("/p:") else "/p:***" for a in argv))
    (d / "started").write_text(str(time.time()))
    with open(d / "freerdp.log", "wb") as log:
        client = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    (d / "freerdp.pid").write_text(str(client.pid))
    print(json.dumps({"name": args.name, "display": f":{number}", "pid": client.pid}))
    return 0


def screenshot(name: str, path: str) -> None:
    env = dict(os.environ, DISPLAY=display_of(name))
    subprocess.run(["import", "-window", "root", path], env=env, check=True, capture_output=True)


def stats(path: str, color: tuple[int, int, int] | None) -> dict[str, float]:
    from PIL import Image, ImageStat

    image = Image.open(path).convert("RGB")
    image = image.resize((max(1, image.width // 4), max(1, image.height // 4)), Image.Resampling.NEAREST)
    gray = image.convert("L")
    st = ImageStat.Stat(gray)
    pixels = list(image.getdata())
    total = len(pixels)
    dark = sum(1 for p in gray.getdata() if p < 16) / total
    result = {"mean": st.mean[0], "stddev": st.stddev[0], "dark_share": dark}
    if color is not None:
        near = sum(1 for p in pixels if all(abs(p[i] - color[i]) <= 12 for i in range(3)))
        result["color_share"] = near / total
    return result


def parse_color(text: str | None) -> tuple[int, int, int] | None:
    if not text:
        return None
    r, g, b = (int(v) for v in text.split(","))
    return (r, g, b)


def cmd_wait_desktop(args: argparse.Namespace) -> int:
    """Seconds from start until the desktop background covers --share of the screen."""
    started = float((state_dir(args.name) / "started").read_text())
    color = parse_color(args.color)
    deadline = time.monotonic() + args.timeout
    shot = str(state_dir(args.name) / "wait.png")
    while time.monotonic() < deadline:
        pid = read_pid(args.name, "freerdp")
        if pid is None or not pid_alive(pid):
            print(json.dumps({"desktop": False, "reason": "client exited"}))
            return 1
        try:
            screenshot(args.name, shot)
            st = stats(shot, color)
        except (subprocess.CalledProcessError, OSError):
            st = {}
        if st.get("color_share", 0) >= args.share:
            print(json.dumps({"desktop": True, "seconds": round(time.time() - started, 2), **st}))
            return 0
        time.sleep(0.25)
    print(json.dumps({"desktop": False, "reason": "timeout"}))
    return 1


def cmd_shot(args: argparse.Namespace) -> int:
    screenshot(args.name, args.file)
    return 0


def cmd_alive(args: argparse.Namespace) -> int:
    pid = read_pid(args.name, "freerdp")
    return 0 if pid is not None and pid_alive(pid) else 1


def cmd_wait_exit(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if cmd_alive(args) != 0:
            return 0
        time.sleep(1)
    return 1


def cmd_stop(args: argparse.Namespace) -> int:
    for what in ("freerdp", "xvfb"):
        pid = read_pid(args.name, what)
        if pid is not None and pid_alive(pid):
            os.killpg(pid, signal.SIGTERM)
            for _ in range(50):
                if not pid_alive(pid):
                    break
                time.sleep(0.1)
            else:
                os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(state_dir(args.name), ignore_errors=True)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    print(json.dumps(stats(args.file, parse_color(args.color))))
    return 0


# Glyphs OCR confuses on rotated text ("rdp1" read as "rdpl"), folded the same way on both sides.
OCR_FOLD = str.maketrans({"l": "1", "i": "1", "|": "1", "!": "1", "o": "0"})


def ocr_normal(text: str) -> str:
    return text.lower().translate(OCR_FOLD)


def ocr_hits(path: str, angle: float, expect: str) -> int:
    """Look for expect under several preprocessings (rotation undone, both polarities, thresholds)."""
    with tempfile.TemporaryDirectory() as tmp:
        for negate in (True, False):
            for threshold in (90, 80, 70, 60, 50):
                out = f"{tmp}/p.png"
                convert = ["convert", path, "-colorspace", "Gray", "-background", "black" if negate else "white"]
                convert += ["-rotate", str(-angle)] if angle else []
                convert += ["-negate"] if negate else []
                convert += ["-threshold", f"{threshold}%", "-resize", "150%", out]
                subprocess.run(convert, check=True, capture_output=True)
                text = subprocess.run(
                    ["tesseract", out, "-", "--psm", "11"], capture_output=True, text=True, check=False
                ).stdout
                hits = ocr_normal(text).count(ocr_normal(expect))
                if hits:
                    return hits
    return 0


def cmd_ocr(args: argparse.Namespace) -> int:
    hits = ocr_hits(args.file, args.angle, args.expect)
    print(json.dumps({"expect": args.expect, "hits": hits}))
    return 0 if hits > 0 else 1


def cmd_clip_set(args: argparse.Namespace) -> int:
    """Own the client's clipboard with TEXT (xclip forks and serves it in the background)."""
    env = dict(os.environ, DISPLAY=display_of(args.name))
    subprocess.run(
        ["xclip", "-selection", "clipboard"],
        input=args.text.encode(),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=10,
    )
    return 0


def cmd_clip_get(args: argparse.Namespace) -> int:
    env = dict(os.environ, DISPLAY=display_of(args.name))
    proc = subprocess.run(
        ["timeout", "5", "xclip", "-selection", "clipboard", "-o"], env=env, capture_output=True, text=True
    )
    print(proc.stdout)
    return proc.returncode


def x224_negotiate(sock: socket.socket, protocols: int) -> tuple[int, int]:
    """Send an X.224 Connection Request with RDP_NEG_REQ; return (response type, value)."""
    neg = struct.pack("<BBHI", 0x01, 0, 8, protocols)
    x224 = bytes([6 + len(neg), 0xE0, 0, 0, 0, 0, 0]) + neg
    sock.sendall(struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224)
    header = sock.recv(4)
    length = struct.unpack(">H", header[2:4])[0]
    body = b""
    while len(body) < length - 4:
        chunk = sock.recv(length - 4 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) < 15:
        return (0, 0)
    kind, _flags, _len, value = struct.unpack("<BBHI", body[7:15])
    return (kind, value)


def cmd_tls(args: argparse.Namespace) -> int:
    """RDP's TLS upgrade with one pinned TLS version: does the server accept it?"""
    result: dict[str, object] = {"host": args.host, "port": args.port, "asked": args.version}
    with socket.create_connection((args.host, args.port), timeout=10) as sock:
        kind, value = x224_negotiate(sock, 0x01 if args.protocol == "ssl" else 0x00)
        result["negotiation"] = {0x02: "selected", 0x03: "failure"}.get(kind, f"type {kind}")
        result["negotiation_value"] = value
        if kind != 0x02 or value != 0x01:
            result["handshake"] = False
            print(json.dumps(result))
            return 1
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        version = getattr(ssl.TLSVersion, args.version)
        ctx.minimum_version = version
        ctx.maximum_version = version
        try:
            with ctx.wrap_socket(sock) as tls:
                der = tls.getpeercert(binary_form=True) or b""
                result.update(handshake=True, version=tls.version(), cipher=tls.cipher()[0])
                result["certificate"] = ssl.DER_cert_to_PEM_cert(der)
        except (ssl.SSLError, OSError) as exc:
            result.update(handshake=False, error=str(exc))
    print(json.dumps(result))
    return 0 if result.get("handshake") else 1


def cmd_banner(args: argparse.Namespace) -> int:
    """Connect without credentials: xrdp shows its login screen (with the notice)."""
    args.user, args.password, args.clipboard = "", "", False
    args.drive = args.microphone = args.printer = None
    return cmd_start(args)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("name")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, default=3389)
    s.add_argument("--user", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--size", default="1280x800")
    s.add_argument("--drive")
    s.add_argument("--clipboard", action="store_true")
    s.add_argument("--microphone", action="store_true")
    s.add_argument("--printer", action="store_true")
    s.add_argument("--client-name")
    s.set_defaults(func=cmd_start)
    s = sub.add_parser("wait-desktop")
    s.add_argument("name")
    s.add_argument("--timeout", type=float, default=90)
    s.add_argument("--color", default="28,59,94")
    s.add_argument("--share", type=float, default=0.25)
    s.set_defaults(func=cmd_wait_desktop)
    s = sub.add_parser("shot")
    s.add_argument("name")
    s.add_argument("file")
    s.set_defaults(func=cmd_shot)
    for cmd, func in (("alive", cmd_alive), ("stop", cmd_stop)):
        s = sub.add_parser(cmd)
        s.add_argument("name")
        s.set_defaults(func=func)
    s = sub.add_parser("wait-exit")
    s.add_argument("name")
    s.add_argument("--timeout", type=float, default=120)
    s.set_defaults(func=cmd_wait_exit)
    s = sub.add_parser("stats")
    s.add_argument("file")
    s.add_argument("--color")
    s.set_defaults(func=cmd_stats)
    s = sub.add_parser("ocr")
    s.add_argument("file")
    s.add_argument("--expect", required=True)
    s.add_argument("--angle", type=float, default=-25)
    s.set_defaults(func=cmd_ocr)
    s = sub.add_parser("clip-set")
    s.add_argument("name")
    s.add_argument("text")
    s.set_defaults(func=cmd_clip_set)
    s = sub.add_parser("clip-get")
    s.add_argument("name")
    s.set_defaults(func=cmd_clip_get)
    s = sub.add_parser("tls")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, default=3389)
    s.add_argument("--version", default="TLSv1_2", choices=["TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"])
    s.add_argument("--protocol", default="ssl", choices=["ssl", "rdp"])
    s.set_defaults(func=cmd_tls)
    s = sub.add_parser("banner")
    s.add_argument("name")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, default=3389)
    s.add_argument("--size", default="1280x800")
    s.set_defaults(func=cmd_banner)
    args = p.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
