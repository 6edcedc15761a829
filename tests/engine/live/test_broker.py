"""The broker wrapper: URLs, credentials (never on the command line), TLS with a CA file, an
MQTT 5 persistent session, and the test broker's own rule (skipped without mosquitto, failed
in CI)."""

from __future__ import annotations

import logging
import shutil
import time

import pytest

from metrotwin.live.broker import (BrokerAddress, BrokerError, Credentials, Publisher,
                                   Subscription, parse_broker_url, read_credentials)  # fmt: skip

from tests._support import mosquitto as mosquitto_support
from tests._support.mosquitto import PASSWORD, USER, Mosquitto, mosquitto  # noqa: F401

CREDENTIALS = Credentials(USER, PASSWORD)


@pytest.mark.parametrize("url, address", [
    ("mqtt://broker.example:1884", BrokerAddress("broker.example", 1884)),
    ("mqtt://10.0.0.2", BrokerAddress("10.0.0.2", 1883)),
    ("mqtts://broker.example", BrokerAddress("broker.example", 8883, tls=True)),
])  # fmt: skip
def test_broker_urls(url, address):
    assert parse_broker_url(url) == address


@pytest.mark.parametrize("url, words", [
    ("http://broker:1883", "mqtt://HOST:PORT"),
    ("mqtt://", "mqtt://HOST:PORT"),
    ("mqtt://broker:http", "mqtt://HOST:PORT"),
    ("mqtt://twin:secret@broker:1883", "METROTWIN_MQTT_USERNAME"),
])  # fmt: skip
def test_a_bad_broker_url_is_one_clear_error(url, words):
    with pytest.raises(BrokerError, match=words) as err:
        parse_broker_url(url)
    assert "secret" not in str(err.value)


def test_credentials_come_from_the_environment_or_a_file(tmp_path, caplog):
    assert read_credentials(environ={}) is None
    env = {"METROTWIN_MQTT_USERNAME": "twin", "METROTWIN_MQTT_PASSWORD": "pw"}
    assert read_credentials(environ=env) == Credentials("twin", "pw")
    assert "pw" not in repr(Credentials("twin", "pw"))
    path = tmp_path / "mqtt.credentials"
    path.write_text("# the twin's account\nusername = twin\npassword=p=w\n")
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        assert read_credentials(path, environ=env) == Credentials("twin", "p=w")
    assert not caplog.records
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        read_credentials(path)
    assert "chmod 600" in caplog.text
    path.write_text("twin:secret\n")
    with pytest.raises(BrokerError, match="not username=") as err:
        read_credentials(path)
    assert "secret" not in str(err.value)
    path.write_text("password=x\n")
    with pytest.raises(BrokerError, match="no username"):
        read_credentials(path)


def test_tls_with_the_brokers_ca_file(tmp_path):
    broker = Mosquitto(tmp_path / "mosquitto", tls=True)
    broker.start()
    try:
        address = parse_broker_url(broker.url)
        assert address.tls
        sub = Subscription(address, ["city/#"], client_id="twin-tls", credentials=CREDENTIALS,
                           ca_file=broker.ca_file)  # fmt: skip
        sub.start(timeout=10)
        publisher = Publisher(address, credentials=CREDENTIALS, ca_file=broker.ca_file)
        publisher.start(timeout=10)
        publisher.publish("city/x", b"over TLS")
        publisher.flush(timeout=10)
        publisher.stop()
        assert [m.payload for m in sub.get(10, timeout=5)] == [b"over TLS"]
        sub.stop()
        # the system's CAs do not know the test CA: no connection, one clear error
        stranger = Publisher(address, credentials=CREDENTIALS, min_backoff=0.2)
        with pytest.raises(BrokerError, match="did not accept a connection within 2 s"):
            stranger.start(timeout=2)
    finally:
        broker.stop()
    with pytest.raises(BrokerError, match="--ca-file"):
        Publisher(address, ca_file=tmp_path / "missing.pem")


def test_an_mqtt5_session_keeps_what_comes_while_the_twin_is_down(mosquitto):  # noqa: F811
    address = parse_broker_url(mosquitto.url)

    def subscription():
        return Subscription(address, ["city/#"], client_id="twin-v5", credentials=CREDENTIALS,
                            protocol="5")  # fmt: skip

    first = subscription()
    first.start(timeout=10)
    first.stop()
    publisher = Publisher(address, credentials=CREDENTIALS, protocol="5")
    publisher.start(timeout=10)
    for i in range(5):
        publisher.publish("city/x", str(i).encode())
    publisher.flush(timeout=10)
    publisher.stop()
    again = subscription()
    again.start(timeout=10)
    got, deadline = [], time.monotonic() + 10
    while len(got) < 5 and time.monotonic() < deadline:
        batch = again.get(10, timeout=0.5)
        again.ack(batch)
        got += [m.payload for m in batch]
    again.stop()
    assert got == [b"0", b"1", b"2", b"3", b"4"]


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception),
                                         ("", pytest.skip.Exception)])  # fmt: skip
def test_a_missing_mosquitto_fails_in_ci_and_skips_elsewhere(monkeypatch, tmp_path, ci,
                                                             outcome):  # fmt: skip
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(mosquitto_support, "DEBIAN_MOSQUITTO", tmp_path / "mosquitto")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="mosquitto"):
        mosquitto_support.mosquitto_binaries()
