"""Sites on the secure broker (SASL/SCRAM-SHA-512 over TLS, ACLs): each site reaches its own topics and group
prefix only, a wrong password or a removed site is refused (a client connected before the removal included),
the site's properties file works for kcat, and the whole pipeline runs on least-privilege principals."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr
from typer.testing import CliRunner

from actionstream.cli import app
from infra.kafka.broker import KafkaBroker
from streams.settings import KafkaSettings
from streams.topics import Topic, topic_name

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Site:
    name: str
    kafka: KafkaSettings  # the site's own connection, from its properties file

    def topic(self, topic: Topic, site: str | None = None) -> str:
        return topic_name(topic, site or self.name, self.kafka.topic_prefix)

    def group(self, name: str, site: str | None = None) -> str:
        return f"{self.kafka.topic_prefix}site-{site or self.name}.{name}"


@pytest.fixture
def add_site(secure_admin: KafkaSettings, tmp_path: Path) -> Callable[[str], Site]:
    def _add(name: str) -> Site:
        # Users are cluster-wide, not under the topic prefix: a name per test keeps the tests independent.
        site = f"{name}-{secure_admin.topic_prefix.rstrip('.')}"
        out = tmp_path / f"{site}.properties"
        result = CliRunner().invoke(app, ["sites", "add", site, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert f"consumer groups must start with {secure_admin.topic_prefix}site-{site}." in result.output
        assert out.stat().st_mode & 0o077 == 0, "a properties file with a password must be owner-only"
        return Site(site, KafkaSettings(properties_file=out, topic_prefix=secure_admin.topic_prefix))

    return _add


class Errors:
    """Client-level errors (error_cb) of one client."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.texts: list[str] = []

    def __call__(self, error: KafkaError) -> None:
        self.codes.append(error.code())
        self.texts.append(str(error))


def _consumer(kafka: KafkaSettings, group: str, errors: Errors | None = None) -> Consumer:
    return Consumer({**kafka.client_config(), "group.id": group, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, **({"error_cb": errors} if errors else {})})


def _first_record_or_error(consumer: Consumer, topic: str, timeout_s: float = 30.0) -> Message:
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None:
                return message
        raise AssertionError(f"neither a record nor an error from {topic} in {timeout_s:.0f} s")
    finally:
        consumer.close()


def _produce(kafka: KafkaSettings, topic: str, producer: Producer | None = None) -> KafkaError | None:
    """Produce one record and wait for its delivery report: None when written, else the error."""
    producer = producer or Producer(kafka.client_config())
    reports: list[KafkaError | None] = []
    producer.produce(topic, b"payload", key=b"cam", on_delivery=lambda error, _message: reports.append(error))
    producer.flush(30)
    assert reports, f"no delivery report for {topic}"
    return reports[0]


def _authentication_refused(kafka: KafkaSettings) -> bool:
    """Whether a new connection with these credentials is refused authentication (error_cb, served by poll).
    Neither the errors nor the exception may quote the password."""
    errors = Errors()
    admin = AdminClient({**kafka.client_config(), "error_cb": errors})
    try:
        admin.list_topics(timeout=5)
    except KafkaException as error:
        admin.poll(1.0)
        assert kafka.sasl_password is not None
        assert not any(kafka.sasl_password.get_secret_value() in text for text in [*errors.texts, str(error)])
        return KafkaError._AUTHENTICATION in errors.codes
    return False


def test_a_site_reaches_its_own_topics_and_group_only(
    add_site: Callable[[str], Site], secure_admin: KafkaSettings,
) -> None:
    alpha, beta = add_site("alpha"), add_site("beta")
    assert _produce(secure_admin, alpha.topic(Topic.ACTIONS)) is None

    own = _first_record_or_error(_consumer(alpha.kafka, alpha.group("dashboard")), alpha.topic(Topic.ACTIONS))
    assert own.error() is None and own.value() == b"payload"
    assert _produce(alpha.kafka, alpha.topic(Topic.FRAMES)) is None
    assert _produce(alpha.kafka, alpha.topic(Topic.LABELS)) is None
    assert _produce(alpha.kafka, alpha.topic(Topic.CAMERA_STATUS)) is None

    others = _first_record_or_error(_consumer(alpha.kafka, alpha.group("dashboard")),
                                    alpha.topic(Topic.ACTIONS, beta.name))
    assert others.error().code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    refused = _produce(alpha.kafka, alpha.topic(Topic.FRAMES, beta.name))
    assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    shared = _first_record_or_error(_consumer(alpha.kafka, alpha.group("x")), alpha.topic(Topic.CLIPS))
    assert shared.error().code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    foreign_group = _first_record_or_error(_consumer(alpha.kafka, alpha.group("dashboard", beta.name)),
                                           alpha.topic(Topic.ACTIONS))
    assert foreign_group.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_wrong_password_is_refused(add_site: Callable[[str], Site]) -> None:
    alpha = add_site("alpha").kafka
    assert not _authentication_refused(alpha)
    assert _authentication_refused(alpha.model_copy(update={"sasl_password": SecretStr(f"wrong-{uuid.uuid4().hex}")}))


def test_a_removed_site_loses_access_even_when_connected(
    add_site: Callable[[str], Site], secure_broker: KafkaBroker,
) -> None:
    gamma = add_site("gamma")
    errors = Errors()
    connected = Producer({**gamma.kafka.client_config(), "error_cb": errors})
    assert _produce(gamma.kafka, gamma.topic(Topic.FRAMES), connected) is None

    result = CliRunner().invoke(app, ["sites", "remove", gamma.name])
    assert result.exit_code == 0, result.output
    assert "ACL entries and the SCRAM user removed" in result.output

    refused = _produce(gamma.kafka, gamma.topic(Topic.FRAMES), connected)
    assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # Its session ends at the next re-authentication, which the deleted credential fails.
    deadline = time.monotonic() + secure_broker.settings.reauth_ms / 1000 + 15
    while KafkaError._AUTHENTICATION not in errors.codes and time.monotonic() < deadline:
        connected.poll(0.5)
    assert KafkaError._AUTHENTICATION in errors.codes
    assert _authentication_refused(gamma.kafka)
    again = CliRunner().invoke(app, ["sites", "remove", gamma.name])
    assert again.exit_code == 0 and "nothing to revoke" in again.output


@pytest.fixture(scope="module")
def kcat_library_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Debian's kcat is linked against librdkafka 2.0.2, whose SCRAM fails against Kafka 4 (every password is
    refused); the confluent-kafka wheel's librdkafka is recent, so kcat runs on that one."""
    import confluent_kafka

    libs = Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs"
    directory = tmp_path_factory.mktemp("kcat-lib")
    (directory / "librdkafka.so.1").symlink_to(next(libs.glob("librdkafka-*.so.1")))
    yield directory


def test_the_site_properties_file_works_for_kcat(add_site: Callable[[str], Site], kcat_library_dir: Path) -> None:
    alpha = add_site("alpha")
    assert alpha.kafka.properties_file is not None
    kcat = ["kcat", "-F", str(alpha.kafka.properties_file)]
    env = {**os.environ, "LD_LIBRARY_PATH": str(kcat_library_dir)}
    produced = subprocess.run([*kcat, "-P", "-t", alpha.topic(Topic.FRAMES), "-k", "cam"], input=b"from-kcat",
                              env=env, capture_output=True, timeout=60, check=False)
    assert produced.returncode == 0, produced.stderr.decode()
    refused = subprocess.run([*kcat, "-C", "-t", alpha.topic(Topic.ACTIONS, "beta"), "-e"],
                             env=env, capture_output=True, timeout=60, check=False)
    assert refused.returncode != 0 and b"authoriz" in refused.stderr.lower()
