#!/usr/bin/python3
"""Real browsers on the meeting page, for the tests: headless Chromium driven by Selenium (Debian's).

    meeting-probe meet --url URL --room somu --user sato.taro --user suzuki.hanako [--relay] [--seconds 20]
        [--shots DIR]
    meeting-probe forbidden --url URL --user kato.mai --room-id N
    meeting-probe signin --url URL --user U --password-file F
    meeting-probe hold --url URL --room somu --user U --out FILE [--seconds 300]
    meeting-probe load --url URL --room zencho --count N --user U [--user ...] [--window 10]

Each browser signs in through the page's form (password from /etc/meeting-probe/password unless
--password-file), clicks the room's button and sends Chromium's fake camera (a 640x480 test
pattern) and fake microphone (a tone). `meet` waits until every browser decodes video frames and
receives audio packets from every other one, read from WebRTC's own statistics (inbound-rtp
framesDecoded, packetsReceived), and prints one JSON line per browser. `hold` stays in the room
and appends a JSON line with the page's state every second, for a test that changes the staff list
meanwhile. Chromium trusts the site CA through its NSS database (certutil, libnss3-tools).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PASSWORD_FILE = "/etc/meeting-probe/password"


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        # no mDNS resolver in the lab: let WebRTC offer the host's address
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--window-size=1280,900",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(30)
    return driver


def wait(check: Any, seconds: float, step: float = 0.5) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def sign_in(driver: webdriver.Chrome, url: str, user: str, password: str) -> bool:
    driver.get(url)
    wait(lambda: driver.find_element(By.ID, "signin-view").is_displayed(), 15)
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "signin-button").click()
    return bool(wait(lambda: driver.find_element(By.ID, "rooms-view").is_displayed(), 15))


def rooms(driver: webdriver.Chrome) -> list[str]:
    return [b.get_attribute("data-room") for b in driver.find_elements(By.CSS_SELECTOR, "#rooms button")]


def enter(driver: webdriver.Chrome, room: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#rooms button[data-room='{room}']").click()


def state(driver: webdriver.Chrome) -> dict[str, Any]:
    result: dict[str, Any] = driver.execute_script("return window.twMeeting.state();")
    return result


def stats(driver: webdriver.Chrome) -> dict[str, Any]:
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        " window.twMeeting.stats().then(done, (e) => done({error: String(e)}));"
    )
    return result


def password(args: argparse.Namespace) -> str:
    return Path(args.password_file or PASSWORD_FILE).read_text().strip()


def cmd_meet(args: argparse.Namespace) -> int:
    drivers: list[webdriver.Chrome] = []
    try:
        for user in args.user:
            d = browser()
            drivers.append(d)
            if not sign_in(d, args.url + ("?relay=1" if args.relay else ""), user, password(args)):
                print(json.dumps({"user": user, "signed_in": False}))
                return 1
            enter(d, args.room)
        others = len(args.user) - 1

        def flowing() -> bool:
            for d in drivers:
                s = stats(d)
                if s.get("feeds", 0) < others or s["video"]["framesDecoded"] < 30 or s["audio"]["packetsReceived"] < 50:
                    return False
            return True

        ok = wait(flowing, args.seconds, 1)
        time.sleep(2)  # the videos are on screen for the screenshots
        for user, d in zip(args.user, drivers, strict=True):
            s = stats(d)
            if args.shots:
                Path(args.shots).mkdir(parents=True, exist_ok=True)
                d.save_screenshot(str(Path(args.shots) / f"{args.room}-{user}.png"))
            print(json.dumps({"user": user, "signed_in": True, "flowing": bool(ok), "stats": s, "state": state(d)}))
        return 0
    finally:
        for d in drivers:
            d.quit()


def received_frames(d: webdriver.Chrome) -> int:
    return int(stats(d)["video"]["framesDecoded"])


def cmd_load(args: argparse.Namespace) -> int:
    """For the benchmark: N browsers join one room; join times, then decoded frames per second.

    Writes a marker file while it measures (--window seconds), so that the benchmark can read the
    server's CPU over the same window. Prints one JSON line.
    """
    drivers: list[webdriver.Chrome] = []
    joins: list[float] = []
    try:
        for i in range(args.count):
            d = browser()
            drivers.append(d)
            user = args.user[i % len(args.user)]
            began = time.monotonic()
            if not sign_in(d, args.url, user, password(args)):
                print(json.dumps({"n": args.count, "error": f"{user} not signed in"}))
                return 1
            enter(d, args.room)
            wait(lambda d=d: state(d).get("joined"), 30, 0.2)
            joins.append(time.monotonic() - began)
        others = args.count - 1
        flowing = wait(lambda: all(stats(d).get("feeds", 0) >= others for d in drivers), 60, 1)
        time.sleep(5)
        # each browser's own interval between its two readings (reading n browsers takes time)
        before = [(received_frames(d), time.monotonic()) for d in drivers]
        Path(args.marker).write_text("measuring")
        time.sleep(args.window)
        Path(args.marker).unlink()
        after = [(received_frames(d), time.monotonic()) for d in drivers]
        fps = sorted((a - b) / (ta - tb) / max(others, 1) for (a, ta), (b, tb) in zip(after, before, strict=True))
        print(
            json.dumps(
                {
                    "n": args.count,
                    "all_feeds": bool(flowing),
                    "join_s": sorted(round(j, 2) for j in joins),
                    "fps_per_feed": [round(f, 1) for f in fps],
                }
            )
        )
        return 0
    finally:
        for d in drivers:
            d.quit()


def cmd_forbidden(args: argparse.Namespace) -> int:
    """Sign in, then ask the relay for a room that is not the user's (as a tampered page would)."""
    d = browser()
    try:
        signed_in = sign_in(d, args.url, args.user, password(args))
        listed = rooms(d)
        answer = d.execute_async_script(
            """
            const [room, done] = [arguments[0], arguments[arguments.length - 1]];
            const ws = new WebSocket(`wss://${location.host}/api/janus`, "janus-protocol");
            const send = (m) => ws.send(JSON.stringify(m));
            let session = null;
            ws.onmessage = (e) => {
              const m = JSON.parse(e.data);
              if (m.transaction === "c") {
                session = m.data.id;
                send({janus: "attach", plugin: "janus.plugin.videoroom", transaction: "a", session_id: session});
              } else if (m.transaction === "a") {
                const body = {request: "join", room, ptype: "publisher"};
                send({janus: "message", transaction: "j", session_id: session, handle_id: m.data.id, body});
              } else if (m.transaction === "j" && m.janus !== "ack") {
                done(m);
                ws.close();
              }
            };
            ws.onopen = () => send({janus: "create", transaction: "c"});
            ws.onerror = () => done({error: "websocket"});
            """,
            args.room_id,
        )
        print(json.dumps({"user": args.user, "signed_in": signed_in, "rooms": listed, "answer": answer}))
        return 0
    finally:
        d.quit()


def cmd_signin(args: argparse.Namespace) -> int:
    d = browser()
    try:
        ok = sign_in(d, args.url, args.user, password(args))
        print(json.dumps({"user": args.user, "signed_in": ok, "rooms": rooms(d) if ok else []}))
        return 0
    finally:
        d.quit()


def cmd_hold(args: argparse.Namespace) -> int:
    d = browser()
    out = Path(args.out)
    try:
        ok = sign_in(d, args.url, args.user, password(args))
        if ok:
            enter(d, args.room)
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            try:
                line = {"t": time.time(), "signed_in": ok, "state": state(d), "stats": stats(d)}
            except WebDriverException as error:
                line = {"t": time.time(), "error": str(error)[:200]}
            with out.open("a") as f:
                f.write(json.dumps(line) + "\n")
            time.sleep(1)
        return 0
    finally:
        d.quit()


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("meet", "forbidden", "signin", "hold", "load"):
        s = sub.add_parser(name)
        s.add_argument("--url", required=True)
        s.add_argument("--user", action="append", required=True)
        s.add_argument("--password-file")
        if name in ("meet", "hold"):
            s.add_argument("--room", required=True)
            s.add_argument("--seconds", type=float, default=40 if name == "meet" else 300)
        if name == "meet":
            s.add_argument("--relay", action="store_true")
            s.add_argument("--shots")
        if name == "forbidden":
            s.add_argument("--room-id", type=int, required=True)
        if name == "hold":
            s.add_argument("--out", required=True)
        if name == "load":
            s.add_argument("--room", required=True)
            s.add_argument("--count", type=int, required=True)
            s.add_argument("--window", type=float, default=10)
            s.add_argument("--marker", default="/tmp/meeting-load.measuring")
    args = p.parse_args()
    # a test ends `hold` with SIGTERM: quit the browsers on the way out (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.cmd not in ("meet", "load"):
        args.user = args.user[0]
    commands = {"meet": cmd_meet, "forbidden": cmd_forbidden, "signin": cmd_signin, "hold": cmd_hold, "load": cmd_load}
    return commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
