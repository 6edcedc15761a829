"""The MQTT broker, through paho-mqtt 2.x (only ``metrotwin.live`` imports it).

:class:`Subscription` receives a feed for a twin: a fixed client id and a persistent session
(MQTT 3.1.1 ``clean_session=False``; MQTT 5 ``clean_start=False`` with a session expiry), so
that the broker queues what is published while the twin is down; QoS 1 subscriptions; each
message acknowledged by the caller (``ack``) only once it is journaled, so that a message the
twin never journaled is sent again. Reconnection is paho's, with exponential back-off between
``min_backoff`` and ``max_backoff``; a broker that refuses the credentials stops it at once
(:class:`BrokerRefused`: one message, no retries). Messages wait in a bounded queue: when it
is full, paho's network thread waits, so the broker holds a burst back (TCP and its in-flight
window) rather than this process's memory.

:class:`Publisher` publishes at QoS 1 with a bounded number of unacknowledged messages (for
``metrotwin replay``).

Credentials come from ``METROTWIN_MQTT_USERNAME`` / ``METROTWIN_MQTT_PASSWORD`` or a file of
``username=`` and ``password=`` lines, never from the command line (other users see it).
"""

from __future__ import annotations

import logging
import os
import queue
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

from metrotwin.errors import MetrotwinError
from metrotwin.observe.files import read_text, short

log = logging.getLogger(__name__)

USERNAME_ENV = "METROTWIN_MQTT_USERNAME"
PASSWORD_ENV = "METROTWIN_MQTT_PASSWORD"
#: CONNACK reasons that retrying cannot cure (bad credentials, not authorised, banned, bad
#: client id or protocol); others (server busy or unavailable) are retried with back-off
FATAL_CONNACK = {128, 129, 130, 131, 132, 133, 134, 135, 138, 140, 149, 153, 154}
#: a persistent MQTT 5 session outlives a disconnection by this long (s): a week of downtime
SESSION_EXPIRY = 7 * 86400


class BrokerError(MetrotwinError):
    """The broker URL or credentials are invalid, or the broker cannot be reached."""


class BrokerRefused(BrokerError):
    """The broker refused the connection for good (e.g. wrong credentials)."""


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker listens: ``tls`` for ``mqtts://``."""

    host: str
    port: int
    tls: bool = False

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(text: str) -> BrokerAddress:
    """``mqtt://HOST[:PORT]`` (default port 1883) or ``mqtts://HOST[:PORT]`` (8883)."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise BrokerError(f"--broker {short(text)} is not a broker URL; give mqtt://HOST:PORT "
                          "or mqtts://HOST:PORT (TLS)")  # fmt: skip
    if parts.username or parts.password:
        raise BrokerError("--broker: credentials in the URL are visible to every user of the "
                          f"machine; set {USERNAME_ENV} and {PASSWORD_ENV}, or give a "
                          "credentials file")  # fmt: skip
    tls = parts.scheme == "mqtts"
    return BrokerAddress(parts.hostname, port or (8883 if tls else 1883), tls)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


def read_credentials(file: Path | None = None, environ=os.environ) -> Credentials | None:
    """The credentials of ``file`` (``username=...`` and ``password=...`` lines, ``#``
    comments) if given, else of the environment, else None (an anonymous broker)."""
    if file is None:
        user = environ.get(USERNAME_ENV)
        if user is None:
            return None
        return Credentials(user, environ.get(PASSWORD_ENV, ""))
    what = "credentials file"
    values = {}
    for line in read_text(Path(file), what=what, max_bytes=64 * 1024).splitlines():
        key, sep, value = line.strip().partition("=")
        if line.strip() and not line.lstrip().startswith("#"):
            if not sep or key.strip() not in ("username", "password"):
                raise BrokerError(f"{what}: {file} has a line that is not username=... or "
                                  "password=...")  # the line may hold the password: not shown
            values[key.strip()] = value.strip()
    if "username" not in values:
        raise BrokerError(f"{what}: {file} has no username=... line")
    if os.stat(file).st_mode & 0o077:
        log.warning("credentials file %s can be read by other users (chmod 600 it)", file)
    return Credentials(values["username"], values.get("password", ""))


def _client(address: BrokerAddress, client_id: str, *, credentials, ca_file, protocol: str,
            persistent: bool, manual_ack: bool = False) -> mqtt.Client:  # fmt: skip
    if protocol not in ("3.1.1", "5"):
        raise BrokerError(f"MQTT protocol {short(protocol)}; use 3.1.1 or 5")
    v5 = protocol == "5"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=None if v5 else not persistent,
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                         manual_ack=manual_ack)  # fmt: skip
    if credentials is not None:
        client.username_pw_set(credentials.username, credentials.password)
    if address.tls:
        if ca_file is not None and not Path(ca_file).is_file():
            raise BrokerError(f"--ca-file {ca_file} is not a file (a PEM CA certificate)")
        client.tls_set(ca_certs=str(ca_file) if ca_file else None,
                       cert_reqs=ssl.CERT_REQUIRED)  # fmt: skip
    return client


def _connect_properties(protocol: str, persistent: bool):
    if protocol != "5" or not persistent:
        return None
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY
    return props


@dataclass(frozen=True)
class Message:
    """A received message: ``session`` counts the connections, so that an acknowledgement
    is never sent on a later connection (where the broker may have reused the id)."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    session: int
    #: the broker's DUP flag: a redelivery of a message it sent before (not acknowledged)
    dup: bool = False


class _Connection:
    """What both ends share: connect, count attempts, stop at a fatal refusal."""

    def __init__(self, address: BrokerAddress, client: mqtt.Client, *, min_backoff: float,
                 max_backoff: float, keepalive: int, properties=None):  # fmt: skip
        self.address, self.client = address, client
        self.attempts = self.connects = 0
        self.error: BrokerError | None = None
        # set at the first answer of the broker (accepted, or refused for good); a later
        # disconnection does not clear it
        self._answered = threading.Event()
        self._keepalive, self._properties = keepalive, properties
        client.reconnect_delay_set(min_backoff, max_backoff)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        self.attempts += 1
        if reason.is_failure:
            if reason.value in FATAL_CONNACK:
                self.error = BrokerRefused(f"broker {self.address} refused the connection: "
                                           f"{reason} (check {USERNAME_ENV} / {PASSWORD_ENV} "
                                           "or the credentials file)")  # fmt: skip
                client.disconnect()  # ends paho's loop: no retry
                self._answered.set()
            else:
                log.warning("broker %s: %s; retrying with back-off", self.address, reason)
            return
        self.connects += 1
        self.connected(flags.session_present)
        self._answered.set()

    def connected(self, session_present: bool) -> None:
        """Called on each successful connection (subscribe here)."""

    def _on_connect_fail(self, client, userdata) -> None:
        self.attempts += 1
        log.warning("broker %s cannot be reached; retrying with back-off", self.address)

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        if self.error is None and reason.is_failure:
            log.warning("lost the broker %s (%s); reconnecting with back-off", self.address,
                        reason)  # fmt: skip

    def start(self, timeout: float | None = 30.0) -> None:
        """Connect (in paho's network thread, which reconnects from then on); wait up to
        ``timeout`` s (None: for ever) for the broker to accept."""
        try:
            self.client.connect_async(self.address.host, self.address.port, self._keepalive,
                                      clean_start=False if self._properties else 3,
                                      properties=self._properties)  # fmt: skip
        except (OSError, ValueError) as err:
            raise BrokerError(f"broker {self.address}: {err}") from None
        self.client.loop_start()
        if not self._answered.wait(timeout):
            self.stop()
            raise BrokerError(f"broker {self.address} did not accept a connection within "
                              f"{timeout:.0f} s ({self.attempts} attempts); is it running?")
        if self.error is not None:
            self.stop()
            raise self.error

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Subscription(_Connection):
    """A persistent QoS 1 subscription to ``topics`` as ``client_id``; ``get`` takes received
    messages, ``ack`` acknowledges them (after they are journaled). ``high_water`` is the most
    messages the queue held."""

    def __init__(self, address: BrokerAddress, topics: Sequence[str], *, client_id: str,
                 credentials: Credentials | None = None, ca_file: Path | None = None,
                 protocol: str = "3.1.1", queue_size: int = 10_000, min_backoff: float = 0.5,
                 max_backoff: float = 30.0, keepalive: int = 30):  # fmt: skip
        client = _client(address, client_id, credentials=credentials, ca_file=ca_file,
                         protocol=protocol, persistent=True, manual_ack=True)  # fmt: skip
        super().__init__(address, client, min_backoff=min_backoff, max_backoff=max_backoff,
                         keepalive=keepalive,
                         properties=_connect_properties(protocol, True))  # fmt: skip
        self.topics = list(topics)
        self.high_water = 0
        self._queue: queue.Queue[Message] = queue.Queue(maxsize=queue_size)
        self._stopping = False
        client.on_message = self._on_message

    def connected(self, session_present: bool) -> None:
        if self.connects > 1 and not session_present:
            log.warning("broker %s lost this twin's session (restarted without persistence?): "
                        "what was published while it was away is lost", self.address)
        # the session keeps the subscriptions; subscribing again is harmless and covers a
        # session the broker lost
        self.client.subscribe([(topic, 1) for topic in self.topics])

    def _on_message(self, client, userdata, msg) -> None:
        message = Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos, self.connects,
                          bool(msg.dup))  # fmt: skip
        while not self._stopping:
            try:  # full: wait (paho reads no more, the broker holds the rest back)
                self._queue.put(message, timeout=0.2)
                break
            except queue.Full:
                continue
        self.high_water = max(self.high_water, self._queue.qsize())

    def get(self, max_messages: int, timeout: float) -> list[Message]:
        """Up to ``max_messages`` received messages, waiting up to ``timeout`` s for the
        first one (an empty list if none came); :class:`BrokerRefused` once the broker refused
        a reconnection for good (credentials revoked)."""
        if self.error is not None and self._queue.empty():
            raise self.error
        try:
            batch = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(batch) < max_messages:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def ack(self, messages: Sequence[Message]) -> None:
        """Acknowledge messages of the current connection (those of an earlier one the broker
        sends again: they are acknowledged then, as duplicates)."""
        for message in messages:
            if message.qos > 0 and message.session == self.connects:
                self.client.ack(message.mid, message.qos)

    def stop(self) -> None:
        self._stopping = True
        super().stop()


class Publisher(_Connection):
    """Publishes at QoS 1; at most ``window`` messages wait for the broker's acknowledgement
    (``publish`` blocks beyond), so that a long feed does not pile up in memory; paho sends
    the unacknowledged ones again after a reconnection. (A wider window is slower: paho's
    bookkeeping of the messages in flight grows with them; 20 to 400 publish ~20,000 messages/s
    to a local broker, 1000 half that, 10,000 a tenth.)"""

    def __init__(self, address: BrokerAddress, *, client_id: str = "",
                 credentials: Credentials | None = None, ca_file: Path | None = None,
                 protocol: str = "3.1.1", window: int = 100, min_backoff: float = 0.5,
                 max_backoff: float = 30.0, keepalive: int = 30):  # fmt: skip
        client = _client(address, client_id, credentials=credentials, ca_file=ca_file,
                         protocol=protocol, persistent=False)  # fmt: skip
        super().__init__(address, client, min_backoff=min_backoff, max_backoff=max_backoff,
                         keepalive=keepalive)  # fmt: skip
        self._window = threading.BoundedSemaphore(window)
        self._size = window
        client.max_inflight_messages_set(window)
        client.on_publish = self._on_publish

    def _on_publish(self, client, userdata, mid, reason, properties) -> None:
        self._window.release()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False,
                wait: float | None = None) -> bool:  # fmt: skip
        """Publish at QoS 1 (waits while ``window`` messages are unacknowledged: for ever,
        or at most ``wait`` s); whether the message was handed to paho (False: the window
        stayed full for ``wait`` s, the broker away)."""
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if self._window.acquire(timeout=max(0.0, left)):
                break
            if self.error is not None:
                raise self.error
            if deadline is not None and time.monotonic() >= deadline:
                return False
        self.client.publish(topic, payload, qos=1, retain=retain)
        return True

    @property
    def is_connected(self) -> bool:
        """Whether the broker is connected now."""
        return self.client.is_connected()

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until the broker acknowledged every message published."""
        deadline = time.monotonic() + timeout
        for taken in range(self._size):
            if not self._window.acquire(timeout=max(0.0, deadline - time.monotonic())):
                for _ in range(taken):
                    self._window.release()
                raise BrokerError(f"broker {self.address} did not acknowledge every message "
                                  f"within {timeout:.0f} s")  # fmt: skip
        for _ in range(self._size):
            self._window.release()
