"""The fault harness's hosts on the network: names and addresses of a run, namespaces joined to a
bridge by veth pairs, a link set down, a host cut from the receivers, and the cleanup of all of it."""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
HOST_IPS = {"db": 10, "web": 20, "c1": 31, "c2": 32, "c3": 33, "rx": 40}
RX_FIRST_PORT, OPS_PORT, OUTAGE_PORT_OFFSET = 9100, 9099, 60


class Instance:
    """The names, addresses and ports of one run: instance 0 by default (prefix ``shf``,
    10.77.0.0/24); ``instance_set(n)`` gives a second run beside the first its own, and each run
    cleans up only its own."""

    def __init__(self, n: int = 0):
        self.instance = n
        self.prefix = "shf" if n == 0 else f"shf{n}"
        self.bridge = f"{self.prefix}-br"
        self.net = f"10.{77 + n}.0"
        self.root_ip = f"{self.net}.1"
        self.db_ip, self.web_ip, self.rx_ip = f"{self.net}.10", f"{self.net}.20", f"{self.net}.40"
        self.proxy_control = ("127.0.0.1", 15999 - n)


N = Instance()


def instance_set(n: int) -> None:
    N.__init__(n)


NOWHERE_MAC = "02:00:00:00:00:ee"
POSTGRES_UID, POSTGRES_GID = "postgres", "postgres"
TIMEOUT, CONNECT_TIMEOUT = 5, 2
LEASE = TIMEOUT + CONNECT_TIMEOUT + 10  # the engine's send lease (docs/architecture.md)
RETRY_SCHEDULE = "1,2,4,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8,8"
CAP = 8  # CALLBACK_MAX_IN_FLIGHT_PER_TARGET here: small enough that the receiver can see it held


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=check, capture_output=True, text=True)


# --- Cleanup ------------------------------------------------------------------------------


def cleanup(workdirs: bool = True) -> None:
    """Remove every namespace, process, link and temporary directory named with the prefix."""
    for line in sh("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name.startswith(f"{N.prefix}-"):
            continue
        for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "del", name, check=False)
    for line in sh("ip", "-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(f"{N.prefix}-"):
            sh("ip", "link", "del", name, check=False)
    # The forwarder runs in the root namespace: found by its command line, which names the prefix.
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        mine = f"--instance={N.instance}" in cmdline or (
            N.instance == 0 and not any(a.startswith("--instance") for a in cmdline)
        )
        if "faults.py" in " ".join(cmdline) and "proxy" in cmdline and mine and proc.pid != os.getpid():
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
    if workdirs:
        for path in Path(tempfile.gettempdir()).glob(f"{N.prefix}-run-*"):
            shutil.rmtree(path, ignore_errors=True)


# --- Network ------------------------------------------------------------------------------


def network_up(hosts: list[str]) -> None:
    sh("ip", "link", "add", N.bridge, "type", "bridge")
    sh("ip", "addr", "add", f"{N.root_ip}/24", "dev", N.bridge)
    sh("ip", "link", "set", N.bridge, "up")
    for host in hosts:
        ns, veth = f"{N.prefix}-{host}", f"{N.prefix}-{host}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", veth, "master", N.bridge, "up")
        sh("ip", "-n", ns, "addr", "add", f"{N.net}.{HOST_IPS[host]}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def in_ns(host: str, command: list[str]) -> list[str]:
    return ["ip", "netns", "exec", f"{N.prefix}-{host}", *command]


def link(host: str, up: bool) -> None:
    sh("ip", "link", "set", f"{N.prefix}-{host}", "up" if up else "down")


def cut_from_receivers(host: str, cut: bool) -> None:
    ns = f"{N.prefix}-{host}"
    if cut:
        sh(
            "ip",
            "-n",
            ns,
            "neigh",
            "replace",
            N.rx_ip,
            "lladdr",
            NOWHERE_MAC,
            "dev",
            "eth0",
            "nud",
            "permanent",
        )
    else:
        sh("ip", "-n", ns, "neigh", "del", N.rx_ip, "dev", "eth0", check=False)
