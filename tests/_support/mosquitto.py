"""A real Mosquitto broker for the live-twin tests: on a free port of 127.0.0.1, with a
password file (``mosquitto_passwd -b``) and a persistence folder, so that it can be stopped
and started again with its sessions and queued messages, as a broker restarted at 3 a.m.

The tests install nothing: ``.ci/run`` installs Debian's ``mosquitto`` where it is missing, so
in CI (``CI`` set to true) a missing broker fails the tests; elsewhere they are skipped with
how to get it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

USER, PASSWORD = "twin", "s3cret-for-tests"
#: where Debian puts the broker (/usr/sbin is not on every user's PATH)
DEBIAN_MOSQUITTO = Path("/usr/sbin/mosquitto")


def mosquitto_binaries() -> tuple[str, str]:
    """(mosquitto, mosquitto_passwd); fails in CI, skips elsewhere, when they are missing."""
    broker = shutil.which("mosquitto") or (str(DEBIAN_MOSQUITTO) if DEBIAN_MOSQUITTO.exists()
                                           else None)  # fmt: skip
    passwd = shutil.which("mosquitto_passwd")
    if broker and passwd:
        return broker, passwd
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail("mosquitto is missing in CI: .ci/run installs Debian's mosquitto as root")
    pytest.skip("mosquitto is not installed (Debian: apt-get install mosquitto, or run .ci/run)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificates(folder: Path) -> Path:
    """A test CA and a server certificate for 127.0.0.1 signed by it (openssl), in
    ``folder``: the CA's certificate file (server.crt, server.key beside it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (it makes the TLS test's certificates)")

    def run(*args):
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=metrotwin test CA", "-keyout", "ca.key", "-out", "ca.crt")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
        "server.key", "-out", "server.csr")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")
    return folder / "ca.crt"


class Mosquitto:
    """One broker in ``folder``; ``start``, ``stop`` (SIGTERM: it saves its sessions and
    queues to the persistence folder), ``restart``; ``url``; ``log()`` its log text."""

    def __init__(self, folder: Path, *, max_inflight: int = 1000, tls: bool = False):
        self.binary, self._passwd = mosquitto_binaries()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        passwords = self.passwords = self.folder / "passwords"
        subprocess.run([self._passwd, "-c", "-b", str(passwords), USER, PASSWORD], check=True,
                       capture_output=True)  # fmt: skip
        passwords.chmod(0o600)
        (self.folder / "data").mkdir(exist_ok=True)
        self.config = self.folder / "mosquitto.conf"
        self.tls = tls
        self.ca_file = make_certificates(self.folder) if tls else None
        listener_tls = ([f"cafile {self.ca_file}", f"certfile {self.folder / 'server.crt'}",
                         f"keyfile {self.folder / 'server.key'}"] if tls else [])  # fmt: skip
        self.config.write_text("\n".join([
            f"listener {self.port} 127.0.0.1",
            *listener_tls,
            "allow_anonymous false",
            f"password_file {passwords}",
            "persistence true",
            f"persistence_location {self.folder / 'data'}/",
            f"log_dest file {self.folder / 'mosquitto.log'}",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "connection_messages true",
            # a twin's session queues what comes while it is down: no cap on the queue, and
            # a window of unacknowledged messages wide enough for group commits
            "max_queued_messages 0",
            f"max_inflight_messages {max_inflight}",
            "user root" if os.geteuid() == 0 else "",
        ]) + "\n")  # fmt: skip
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.process.stderr.read().decode()}"
                                   f"\n{self.log()}")  # fmt: skip
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def set_password(self, password: str) -> None:
        """Change the test user's password (read by the broker when it starts)."""
        subprocess.run([self._passwd, "-b", str(self.passwords), USER, password], check=True,
                       capture_output=True)  # fmt: skip

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def mosquitto(tmp_path):
    """A running broker (see :class:`Mosquitto`), stopped after the test."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
