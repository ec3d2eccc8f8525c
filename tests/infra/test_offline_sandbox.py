"""scripts/offline.sh cuts the network but keeps loopback (kernels need 127.0.0.1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "offline.sh"

PROBE = r"""
import socket, sys
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
client = socket.create_connection(server.getsockname(), timeout=5)   # loopback must work
client.close(); server.close()
try:
    socket.create_connection(("192.0.2.1", 80), timeout=3)            # TEST-NET-1, never routable
except OSError as exc:
    print("outbound-blocked", type(exc).__name__, exc)
    sys.exit(0)
print("outbound-connected")
sys.exit(1)
"""


def _namespace_available() -> bool:
    proc = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True)
    return proc.returncode == 0


def test_usage_error_without_command():
    proc = subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 2 and "usage" in proc.stderr


@pytest.mark.skipif(not _namespace_available(), reason="unshare -n not permitted here (needs root)")
def test_outbound_blocked_loopback_kept():
    proc = subprocess.run([str(SCRIPT), sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "outbound-blocked" in proc.stdout
    # "Network is unreachable": there is no route at all, not merely a slow host
    assert "unreachable" in proc.stdout.lower()


def test_exit_status_passes_through():
    proc = subprocess.run([str(SCRIPT), "sh", "-c", "exit 7"], capture_output=True, text=True)
    assert proc.returncode == 7
