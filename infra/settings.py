"""Settings of the local services the project starts itself: the Kafka broker and the RTSP server."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    # Downloads (Kafka jars, the built RTSP relay) live outside the repo and survive clean clones.
    return Path.home() / ".cache" / "actionstream"


class BrokerSettings(BaseSettings):
    """A one-node Apache Kafka (KRaft, combined broker + controller) on loopback."""

    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_BROKER_")

    kafka_version: str = Field("4.1.1", description="org.apache.kafka:kafka_2.13 version fetched from Maven Central.")
    host: str = Field("127.0.0.1", description="Address the broker listens on and advertises.")
    port: int = Field(9092, description="Client (PLAINTEXT) port.")
    controller_port: int = Field(9093, description="KRaft controller port.")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Where fetched jars are kept.")
    state_dir: Path = Field(Path("var/kafka"), description="Data, config, log and pid file of this broker.")
    heap: str = Field("768m", description="JVM heap (-Xmx and -Xms).")
    start_timeout_s: float = Field(90.0, description="How long to wait for the broker to accept requests.")
    message_max_bytes: int = Field(16 * 1024 * 1024, description="Largest record batch the broker accepts.")
    security: Literal["plaintext", "scram"] = Field(
        "plaintext", description="Client listener: open (the demo) or SASL/SCRAM-SHA-512 with ACLs (no ACL, no access)."
    )
    tls: bool = Field(False, description="With scram: TLS on the client listener, certificates from a local CA.")
    admin_username: str = Field("admin", description="The platform super user (SCRAM).")
    admin_password: SecretStr | None = Field(
        None, description="The super user's password; unset: generated once and kept in state_dir/admin.password."
    )
    reauth_ms: int = Field(
        30_000, gt=0, description="Clients re-authenticate this often, so a removed user's open connections end."
    )

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def libs_dir(self) -> Path:
        return self.cache_dir / "kafka" / self.kafka_version / "libs"


class RtspServerSettings(BaseSettings):
    """The RTSP relay that test and demo cameras publish into and the camera adapter reads from."""

    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_RTSP_")

    host: str = Field("127.0.0.1", description="Address the RTSP server listens on.")
    port: int = Field(8554, description="RTSP (TCP) port.")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Where the built relay binary is kept.")
    state_dir: Path = Field(Path("var/rtsp"), description="Log and pid files of the server and its publishers.")
    read_timeout_s: float = Field(10.0, description="The server drops a client silent for this long.")
    start_timeout_s: float = Field(60.0, description="How long to wait for the server (build included).")
    ffmpeg: str = Field("ffmpeg", description="ffmpeg executable used to publish looping test feeds.")

    def url(self, path: str) -> str:
        return f"rtsp://{self.host}:{self.port}/{path.lstrip('/')}"
