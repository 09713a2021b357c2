"""Fetch Apache Kafka from Maven Central, format KRaft storage, start and stop a one-node broker."""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from infra.kafka.security import BrokerSecurity
from infra.process import ManagedProcess, ServiceError, port_is_open, tail
from infra.settings import BrokerSettings
from streams.kafka_properties import write_properties

logger = logging.getLogger(__name__)

_POM = Path(__file__).with_name("pom.xml")
_COMPLETE_MARKER = ".complete"


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap_servers: str
    log_file: Path


class KafkaBroker:
    """A single combined broker + controller node on loopback, owned by this project."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir.resolve()
        self._process = ManagedProcess("kafka", self.state_dir)
        self.security = BrokerSecurity(settings, self.state_dir)

    # -- fetch ----------------------------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Resolve kafka_2.13 and its runtime dependencies with Maven; a second call downloads nothing."""
        libs = self.settings.libs_dir
        if (libs / _COMPLETE_MARKER).exists():
            return libs
        if shutil.which("mvn") is None:
            raise ServiceError("Maven (mvn) is not installed: it is needed once to fetch Kafka from Maven Central")
        logger.info("fetching Apache Kafka %s from Maven Central into %s", self.settings.kafka_version, libs)
        libs.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=libs.parent) as staging:
            command = [
                "mvn", "-q", "-B", "-f", str(_POM),
                f"-Dkafka.version={self.settings.kafka_version}",
                "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
            ]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise ServiceError(f"fetching Kafka failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
            shutil.rmtree(libs, ignore_errors=True)
            Path(staging).rename(libs)
        (libs / _COMPLETE_MARKER).write_text(self.settings.kafka_version)
        return libs

    # -- configuration --------------------------------------------------------------------------------------
    @property
    def _config_file(self) -> Path:
        return self.state_dir / "server.properties"

    @property
    def _data_dir(self) -> Path:
        return self.state_dir / "data"

    def _write_config(self) -> None:
        s = self.settings
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{s.host}:{s.controller_port}",
            **self.security.server_properties(),
            "controller.listener.names": "CONTROLLER",
            "log.dirs": str(self._data_dir),
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Topics come from the catalogue only; a typo must not create a topic.
            "auto.create.topics.enable": "false",
            "message.max.bytes": str(s.message_max_bytes),
            "replica.fetch.max.bytes": str(s.message_max_bytes),
            # Faster group formation for short-lived tests and demos.
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.check.interval.ms": "60000",
        }
        # Owner-only: in scram mode it holds the super user's password (JAAS lines).
        write_properties(self._config_file, properties, "written by `actionstream broker start`")
        log4j = self.state_dir / "log4j2.properties"
        log4j.write_text(
            "status = warn\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {self.state_dir / 'server.log'}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = info\n"
            "rootLogger.appenderRef.file.ref = file\n"
        )

    def _java(self, main_class: str, *args: str) -> list[str]:
        return [
            "java", f"-Xmx{self.settings.heap}", f"-Xms{self.settings.heap}",
            f"-Dlog4j2.configurationFile={self.state_dir / 'log4j2.properties'}",
            "-cp", f"{self.settings.libs_dir}/*", main_class, *args,
        ]

    def _format_storage(self) -> None:
        formatted = (self._data_dir / "meta.properties").exists()
        try:
            self.security.check_data_mode(formatted)
        except ValueError as error:
            raise ServiceError(str(error)) from None
        if formatted:
            return
        # Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # `--cluster-id=`: an id may start with "-", which the tool would read as an option.
        command = self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster}", "-c",
                             str(self._config_file), *self.security.format_arguments())
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"formatting KRaft storage failed:\n{result.stdout}\n{result.stderr}")

    # -- lifecycle ------------------------------------------------------------------------------------------
    def status(self) -> BrokerStatus:
        pid = self._process.pid()
        running = pid is not None and port_is_open(self.settings.host, self.settings.port)
        return BrokerStatus(running, pid, self.settings.bootstrap_servers, self._process.log_file)

    def start(self) -> BrokerStatus:
        """Start the broker unless it already runs, and wait until it answers metadata requests."""
        if self._process.is_running():
            running = self.security.recorded_mode()
            if running != self.security.mode:  # it answers only in the mode it was started in
                raise ServiceError(f"the broker runs in {running} mode, not {self.security.mode}: "
                                   "stop it first (`actionstream broker stop`)")
            self.wait_ready()
            return self.status()
        if port_is_open(self.settings.host, self.settings.port):
            raise ServiceError(
                f"port {self.settings.port} is taken by a process this project did not start; "
                "set ACTIONSTREAM_BROKER_PORT or stop it"
            )
        self.fetch()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._format_storage()
        self._process.start(self._java("kafka.Kafka", str(self._config_file)))
        self.wait_ready()
        self.security.write_admin_properties()
        logger.info("Kafka %s ready on %s (%s)", self.settings.kafka_version, self.settings.bootstrap_servers,
                    self.security.mode)
        return self.status()

    def wait_ready(self) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + self.settings.start_timeout_s
        admin = AdminClient({**self.security.admin_properties(), "logger": logger})
        while time.monotonic() < deadline:
            if not self._process.is_running():
                raise ServiceError(f"Kafka exited during start-up; log:\n{tail(self.state_dir / 'server.log')}"
                                   f"\n{tail(self._process.log_file)}")
            if port_is_open(self.settings.host, self.settings.port):
                try:
                    if admin.list_topics(timeout=2).brokers:
                        return
                except Exception as error:  # librdkafka raises KafkaException while the broker boots
                    logger.debug("broker not ready yet: %s", error)
            time.sleep(0.3)
        raise ServiceError(
            f"Kafka did not become ready in {self.settings.start_timeout_s:.0f} s; "
            f"log:\n{tail(self.state_dir / 'server.log')}"
        )

    def stop(self) -> bool:
        """Stop cleanly (SIGTERM lets the broker flush and close its logs). Returns whether it was running."""
        return self._process.stop(timeout_s=60.0)

    def kill(self) -> bool:
        return self._process.kill()

    def reset(self) -> None:
        """Stop and delete all data (a fresh cluster on next start)."""
        self.stop()
        shutil.rmtree(self._data_dir, ignore_errors=True)

