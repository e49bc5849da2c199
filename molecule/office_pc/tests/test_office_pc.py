"""The office PC proved with a real RDP client (FreeRDP under Xvfb on client1).

Its owner (sato.taro) alone operates it by screen transfer; another active teleworker (the
owner of another PC) is refused with the right password; a disabled owner is refused on the
next run. TW-01..03 screen transfer only, TW-05 USB devices, TW-07 the screen lock, TW-09 the
login line, TW-10 watermark, TW-13 the staff list and the desk's login screen.

What a container cannot prove: that a USB stick plugged into the PC is refused (no USB bus of
its own, no kernel module loading) and that LightDM shows its login screen (no console). The
tests prove what decides those on a real PC: the modprobe configuration the kernel's loader
reads, the rules USBGuard's own parser reads, and the configuration LightDM itself reports.
Screenshots go to $MOLECULE_PROJECT_DIRECTORY/artifacts/office_pc/<distro>/.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml
from conftest import bad_input_batch, converge_check, recap, run_playbook

from tests.support.bad_input import Case, CaseResult, assert_refused
from tests.support.hosts import get_host

pytestmark = pytest.mark.journal("xrdp", "xrdp-sesman", "tw-watermark", "tw-rdp-audit")

DISTRO = os.environ.get("MOLECULE_DISTRO", "debian13")
ARTIFACTS = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "artifacts" / "office_pc" / DISTRO
VARS = yaml.safe_load((Path(__file__).resolve().parents[1] / "vars" / "main.yml").read_text(encoding="utf-8"))
PC = "10.231.35.20"
CLIENT = "10.231.35.50"
OWNER, OTHER_OWNER = "sato.taro", "suzuki.hanako"
PASSWORD = "Tw-Lab-Passw0rd!"  # test-only, see vars/main.yml
BACKGROUND = "28,59,94"  # remote_desktop_background_color of the role, in 0-255
LOCK_DIR = "/etc/telework/screen-lock"


@pytest.fixture(scope="module")
def pc() -> testinfra.host.Host:
    return get_host("pc1")


@pytest.fixture(scope="module")
def client() -> testinfra.host.Host:
    return get_host("client1")


def probe(client: testinfra.host.Host, *args: str) -> tuple[int, dict[str, Any]]:
    out = client.run("rdp_probe " + " ".join(shlex.quote(a) for a in args))
    try:
        data = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
    except ValueError:
        data = {"raw": out.stdout}
    return out.rc, data


def wait_for(check: Any, timeout: float, step: float = 2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def now(pc: testinfra.host.Host) -> str:
    return pc.run("date '+%Y-%m-%d %H:%M:%S'").stdout.strip()


def audit_lines(pc: testinfra.host.Host, since: str) -> str:
    return pc.run(f"sudo journalctl -t rdp-audit --since '{since}' --no-pager -o cat").stdout


def display_of(pc: testinfra.host.Host, user: str) -> str | None:
    m = re.search(r"Xorg (:\d+)", pc.run(f"pgrep -u {user} -a Xorg").stdout)
    return m.group(1) if m else None


def end_sessions(pc: testinfra.host.Host) -> None:
    for user in (OWNER, OTHER_OWNER):
        pc.run(f"sudo loginctl terminate-user {user} 2>/dev/null")
        pc.run(f"sudo faillock --user {user} --reset 2>/dev/null")
    wait_for(lambda: not pc.run("pgrep -f '[X]org :[0-9]'").stdout.strip(), 30, 1)


def login(client: testinfra.host.Host, name: str, user: str, *extra: str) -> dict[str, Any]:
    probe(client, "start", name, "--host", PC, "--user", user, "--password", PASSWORD, *extra)
    _, result = probe(client, "wait-desktop", name, "--timeout", "90", "--color", BACKGROUND)
    return result


def refused_login(pc: testinfra.host.Host, client: testinfra.host.Host, name: str, user: str) -> dict[str, Any]:
    """Log in where the server must refuse: wait for its failure line, then 2 s more for a desktop."""
    since = now(pc)
    probe(client, "start", name, "--host", PC, "--user", user, "--password", PASSWORD)
    wait_for(lambda: f"event=login result=failure user={user} " in audit_lines(pc, since), 15, 0.5)
    _, result = probe(client, "wait-desktop", name, "--timeout", "2", "--color", BACKGROUND)
    probe(client, "stop", name)
    return {**result, "audit": audit_lines(pc, since)}


def session_env(pc: testinfra.host.Host, user: str, process: str) -> dict[str, str]:
    pid = pc.run(f"pgrep -u {user} -x {process}").stdout.split()
    if not pid:
        return {}
    raw = pc.run(f"sudo cat /proc/{pid[0]}/environ").stdout.split("\0")
    return dict(item.split("=", 1) for item in raw if "=" in item)


def lock_state(pc: testinfra.host.Host, user: str) -> str:
    """What xscreensaver says of the user's screen ('screen non-blanked since ...', '... locked since ...')."""
    env = session_env(pc, user, "xfce4-session")
    if not env:
        return ""
    xauth = env.get("XAUTHORITY") or f"/home/{user}/.Xauthority"
    cmd = f"DISPLAY={env['DISPLAY']} XAUTHORITY={xauth} HOME={LOCK_DIR} xscreensaver-command -time"
    return str(pc.run(f"sudo -u {user} sh -c {shlex.quote(cmd)}").stdout.strip())


# --- the owner operates the PC from home, with the remote desktops' controls -------------------


@pytest.fixture(scope="module")
def owner(pc: testinfra.host.Host, client: testinfra.host.Host) -> Iterator[dict[str, Any]]:
    end_sessions(pc)
    since = now(pc)
    result = login(client, "owner", OWNER, "--drive", "/tmp/share", "--clipboard")
    deadline = time.monotonic() + 45
    while True:
        time.sleep(3)
        probe(client, "shot", "owner", "/tmp/owner.png")
        if probe(client, "ocr", "/tmp/owner.png", "--expect", OWNER)[0] == 0 or time.monotonic() > deadline:
            break
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "desktop-owner.png").write_bytes(client.file("/tmp/owner.png").content)
    yield {**result, "since": since}
    probe(client, "stop", "owner")


def test_tw10_tw13_the_owner_gets_their_desktop_with_the_watermark(
    owner: dict[str, Any], client: testinfra.host.Host
) -> None:
    assert owner.get("desktop"), owner
    found = {text: probe(client, "ocr", "/tmp/owner.png", "--expect", text)[0] == 0 for text in (OWNER, "pc1")}
    assert found == {OWNER: True, "pc1": True}


def test_tw09_the_owners_login_is_logged_with_the_source(owner: dict[str, Any], pc: testinfra.host.Host) -> None:
    assert f"event=login result=success user={OWNER} src={CLIENT}" in audit_lines(pc, owner["since"])


def test_tw01_tw02_drive_and_clipboard_asked_for_are_refused(
    owner: dict[str, Any], pc: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    assert owner.get("desktop"), owner  # positive control: the session is up
    argv = client.file("/run/rdp-probe/owner/argv").content_string
    assert "/drive:probe," in argv and "+clipboard" in argv  # the client asks for both
    assert "server announces" not in client.run("cat /run/rdp-probe/owner/freerdp.log").stdout
    xrdp_ini = pc.file("/etc/xrdp/xrdp.ini").content_string
    for channel in ("rdpdr", "cliprdr", "rdpsnd", "drdynvc"):
        assert re.search(rf"^{channel}=false$", xrdp_ini, re.M), channel
    assert re.search(r"^MaxSessions=1$", pc.file("/etc/xrdp/sesman.ini").content_string, re.M)


def test_tw07_the_screen_locks_after_the_idle_minute_whatever_the_owner_sets(
    owner: dict[str, Any], pc: testinfra.host.Host
) -> None:
    assert owner.get("desktop"), owner
    # the lock runs in the session, as the owner, with the settings of root's folder
    assert wait_for(lambda: "xscreensaver" in pc.run(f"pgrep -u {OWNER} -a xscreensaver").stdout, 30, 1)
    env = session_env(pc, OWNER, "xscreensaver")
    assert env.get("HOME") == LOCK_DIR, env
    settings = pc.file(f"{LOCK_DIR}/.xscreensaver")
    assert (settings.user, settings.group, settings.mode) == ("root", "root", 0o644)
    assert pc.file(LOCK_DIR).user == "root" and pc.file(LOCK_DIR).mode == 0o755
    assert "timeout:\t0:01:00" in settings.content_string and "lock:\t\tTrue" in settings.content_string
    # the owner can neither change the settings nor put a file of their own there (root can)
    assert pc.run(f"sudo -u {OWNER} sh -c 'echo lock: False >> {LOCK_DIR}/.xscreensaver'").rc != 0
    assert pc.run(f"sudo -u {OWNER} touch {LOCK_DIR}/mine").rc != 0
    assert pc.run(f"sudo touch {LOCK_DIR}/.probe && sudo rm {LOCK_DIR}/.probe").rc == 0
    # a ~/.xscreensaver of the owner's that turns the lock off changes nothing
    pc.run(f"sudo -u {OWNER} sh -c 'printf \"lock: False\\ntimeout: 9:00:00\\n\" > ~/.xscreensaver'")
    # positive control first: the screen is not locked yet, then it is, within the minute (+ slack)
    state = lock_state(pc, OWNER)
    assert "non-blanked" in state or "unblanked" in state or "locked" in state, state
    assert wait_for(lambda: "locked" in lock_state(pc, OWNER), 120, 5), lock_state(pc, OWNER)
    # killed, it is started again
    pc.run(f"sudo pkill -u {OWNER} -x xscreensaver")
    assert wait_for(lambda: "xscreensaver" in pc.run(f"pgrep -u {OWNER} -a xscreensaver").stdout, 30, 1)


def test_tw13_another_active_teleworker_is_refused_with_the_right_password(
    pc: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    end_sessions(pc)
    # positive control: the same client and password open the owner's desktop
    ok = login(client, "owner-again", OWNER)
    probe(client, "stop", "owner-again")
    assert ok.get("desktop"), ok
    end_sessions(pc)
    other = refused_login(pc, client, "other", OTHER_OWNER)
    assert not other.get("desktop"), other
    assert f"event=login result=failure user={OTHER_OWNER} src={CLIENT}" in other["audit"]
    # one account on the PC: the owner's, with the chat client set up for them alone
    assert pc.user(OWNER).exists
    assert f"{OWNER}@chat.molecule.example" in pc.file(f"/home/{OWNER}/.purple/accounts.xml").content_string
    for user in (OTHER_OWNER, "tanaka.yui", "ito.jiro"):
        assert not pc.user(user).exists, user


# --- TW-05: USB storage and unknown devices -----------------------------------------------------


def test_tw05_the_kernel_loader_refuses_usb_storage(pc: testinfra.host.Host) -> None:
    config = pc.run("sudo modprobe --showconfig")
    # positive control: modprobe reads its configuration, Debian's own files too
    assert config.rc == 0 and "# End of configuration files" in config.stdout, config.stdout
    assert "options bonding max_bonds=0" in config.stdout, config.stdout
    for module in ("usb_storage", "uas"):
        assert f"install {module} /bin/false" in config.stdout, module
        assert f"blacklist {module}" in config.stdout, module
    # what "modprobe usb-storage" would run: the refusal, not the module
    dry = pc.run("sudo modprobe --dry-run --verbose usb-storage")
    assert "/bin/false" in dry.stdout + dry.stderr, (dry.stdout, dry.stderr)


def test_tw05_usbguard_blocks_what_its_rules_do_not_allow(pc: testinfra.host.Host) -> None:
    conf = pc.file("/etc/usbguard/usbguard-daemon.conf").content_string
    assert re.search(r"^ImplicitPolicyTarget=block$", conf, re.M)
    assert re.search(r"^InsertedDevicePolicy=apply-policy$", conf, re.M)
    assert re.search(r"^IPCAllowedUsers=root$", conf, re.M)
    rules = pc.file("/etc/usbguard/rules.d/50-telework-approved.conf").content_string
    assert 'allow id 0781:5581 serial "4C530001"' in rules
    # USBGuard's own parser reads every rule of the file; positive control: it refuses a broken rule
    good = pc.run(
        'sudo sh -c \'grep -v "^#" /etc/usbguard/rules.d/50-telework-approved.conf | grep . | '
        'while read -r rule; do usbguard-rule-parser "$rule" || exit 1; done\''
    )
    assert good.rc == 0, good.stdout + good.stderr
    assert pc.run("usbguard-rule-parser 'allow id 0781:55xx serial'").rc != 0


# --- TW-13: the desk's login screen -------------------------------------------------------------


def test_tw13_the_desk_asks_for_the_user_and_never_logs_in_by_itself(pc: testinfra.host.Host) -> None:
    shown = pc.run("sudo lightdm --show-config")
    assert shown.rc == 0, shown.stderr  # positive control: LightDM reads its configuration
    out = shown.stdout + shown.stderr
    assert re.search(r"autologin-user=\s*$", out, re.M), out
    assert re.search(r"greeter-hide-users=true", out), out
    assert re.search(r"allow-guest=false", out), out
    assert not re.search(r"autologin-user=\S", out), out
    # the screen lock starts in desk sessions too (Xsession)
    assert "xscreensaver" in pc.file("/etc/X11/Xsession.d/95telework-screen-lock").content_string


# --- TW-13: a disabled owner is refused on the next run (the staff-list run) ------------------


def test_tw13_a_disabled_owner_is_refused_on_the_next_run(pc: testinfra.host.Host, client: testinfra.host.Host) -> None:
    end_sessions(pc)
    assert login(client, "doomed", OWNER).get("desktop")  # positive control
    users = [{**u, "state": "disabled"} if u["id"] == OWNER else u for u in VARS["telework_users"]]
    try:
        proc = run_playbook("converge.yml", "--tags", "staff", extra_vars={"telework_users": users})
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert recap(proc.stdout)["pc1"]["changed"] > 0, proc.stdout[-3000:]
        assert probe(client, "wait-exit", "doomed", "--timeout", "30")[0] == 0
        assert pc.run(f"sudo passwd -S {OWNER}").stdout.split()[1] == "L"
        assert not refused_login(pc, client, "after", OWNER).get("desktop")
    finally:
        probe(client, "stop", "doomed")
        restore = run_playbook("converge.yml", "--tags", "staff")
        assert restore.returncode == 0, restore.stdout[-3000:]
    ok = login(client, "back", OWNER)
    probe(client, "stop", "back")
    assert ok.get("desktop"), ok


# --- check mode and bad input -------------------------------------------------------------------


def test_check_mode_reports_no_change_on_a_converged_host() -> None:
    assert converge_check() == {"pc1": 0}


PCS = VARS["office_pcs"]
BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"office_pcs": [{**PCS[0], "owner": "yamamoto.ken"}]}, "owner yamamoto.ken is not in the staff list"),
    ({"office_pcs": [PCS[0], {**PCS[1], "owner": OWNER}]}, "owner given to more than one PC: sato.taro"),
    ({"office_pcs": [PCS[1]]}, "office_pcs has no entry named pc1"),
    ({"office_pcs": [{**PCS[0], "address": "pc1.office"}]}, "is not an IPv4 address"),
    ({"office_pc_idle_lock_minutes": 0}, "office_pc_idle_lock_minutes must be 1 to 60"),
    ({"office_pc_usb_allowed_devices": [{"name": "stick", "id": "sandisk"}]}, "vendor:product in hex"),
    ({"office_pc_idle_lock_minutes": "soon"}, "office_pc_idle_lock_minutes"),
]


@pytest.fixture(scope="module")
def bad_input() -> list[CaseResult]:
    cases = [Case(extra, message) for extra, message in BAD_INPUT]
    return bad_input_batch("converge.yml", cases, watch={"pc1": "sha256sum /etc/xrdp/sesman.ini /etc/passwd"})


@pytest.mark.parametrize(("extra", "message"), BAD_INPUT)
def test_bad_input_stops_the_play_before_the_host_changes(
    bad_input: list[CaseResult], extra: dict[str, Any], message: str
) -> None:
    assert_refused(bad_input[BAD_INPUT.index((extra, message))], message)
