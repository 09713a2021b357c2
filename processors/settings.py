"""Settings of the processing side: the selector app (stages 1 and 2), the classifier consumer, the model
they serve and load shedding. Env names like ACTIONSTREAM_STAGE2__WINDOW_S=4."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.registry import RegistrySettings
from streams.settings import KafkaSettings, ProducerSettings


class ServingModelSettings(BaseModel):
    """Which bundle to serve and how to run its frame encoder."""

    reference: str = Field("production", description="Registry alias, models:/ URI or local bundle directory.")
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    backend: Literal["onnxruntime", "torch", "tensorrt"] = "onnxruntime"
    precision: Literal["auto", "fp32", "fp16", "bf16", "int8"] = Field(
        "auto", description="Encoder precision; auto: int8 with ONNX Runtime on a CPU when the bundle carries the "
        "int8 encoder, else fp32 (models.runtime.resolve_precision).")
    device: str = Field("cpu", description="cpu or cuda[:N] (torch, tensorrt).")
    # Measured on 2 shared cores (CPU ms per frame): one intra-op thread costs the least; the runtime's default
    # pool (a thread per core) spinning while idle cost 1.9x as much, the same pool without spinning 1.1x.
    num_threads: int = Field(1, ge=0, description="Encoder intra-op threads; 0: the runtime's default (one per "
                             "core). Raise on a machine with idle cores to cut latency.")
    allow_spinning: bool = Field(False, description="ONNX Runtime: idle encoder threads busy-wait for work.")
    # The selectors and the classifier are small torch models called a few frames at a time: with a second
    # thread, its OpenMP worker spun between calls, 13x the CPU of one thread in measurement.
    torch_threads: int = Field(1, ge=0, description="Threads of the torch models (selectors, classifier) in this "
                               "process and of the global selector's gamma; 0: the runtime's default (one per core).")
    gamma_backend: Literal["onnxruntime", "torch"] = Field(
        "onnxruntime", description="Where stage 2 runs the global selector's gamma: onnxruntime (exported at load, "
        "its LSTM int8 when the encoder runs int8) or torch (fp32).")
    download_dir: Path = Field(Path("var/serving"), description="Where registry bundles are downloaded.")
    follow_updates: bool = Field(True, description="Load versions announced on model-updates without a restart.")


class Stage1Settings(BaseModel):
    # Measured side by side (bench pipeline, same model and load, fp32 and int8): the worker's CPU per scored frame
    # 0.81-0.96x of the Faust agent's; Kafka plumbing per frame 1.1-2.2 ms against 1.9-3.5 ms (stage 2's remains).
    engine: Literal["batched", "faust"] = Field(
        "batched", description="batched: stage 1 on a confluent-kafka consumer and producer in a thread of the "
        "worker (processors/selector/stage1.py); faust: a Faust agent beside stage 2.")
    batch_size: int = Field(32, ge=1, description="Frames taken from Kafka per stage-1 batch.")
    # CPU ms per frame of the encoder, measured on 2 cores: passes of 2 frames 5.2 (fp32) and 3.5 (int8), of 32
    # frames 7.1 and 4.5 (the activations of a big pass no longer fit in the cache). Raise it on a GPU.
    encoder_batch_size: int = Field(2, ge=1, description="Frames per encoder pass within a stage-1 batch.")
    # A wait, not work: below the batch size (32 fps at K = 4) every frame sat up to this long before scoring.
    # Measured side by side (bench pipeline K = 4, two rounds on the loaded machine): 0.05 -> 0.01 cut the
    # processing p50 from 357 to 225 ms and 1086 to 785 ms, the closing frame's stage-1 p50 from 98 to 35 ms, for
    # +0.4-0.6 ms selector CPU per frame; a backlog still fills whole batches at once.
    batch_wait_s: float = Field(0.01, gt=0, description="Longest wait to fill a batch.")
    buffer_records: int = Field(4096, ge=1, description="Records an agent buffers ahead (bounds memory).")
    max_frame_bytes: int = Field(2 * 1024 * 1024, description="Larger frame records are refused (dead letter).")
    max_frame_pixels: int = Field(4096 * 4096, description="Frames declaring more pixels are refused.")
    # As the Faust app's: a killed worker's partitions move to the others after this long without heartbeats.
    session_timeout_s: float = Field(10.0, gt=0, description="batched engine: consumer group session timeout.")
    lag_report_s: float = Field(2.0, gt=0, description="batched engine: how often lag and assignment are exported.")
    # A `window` process (stage 2 without stage 1) reads stage 1's backlog from the broker: the stage-1 group's
    # committed offsets trail the frames topics' ends by up to a commit interval and a batch in normal operation.
    backlog_after_s: float = Field(3.0, gt=0, description="selector stage `window`: frames published this long "
                                   "ago and not yet committed by the stage-1 group are a backlog in front of stage "
                                   "1 (no camera closes as idle meanwhile); below stage2.idle_close_s.")


class Stage2Settings(BaseModel):
    window_s: float = Field(4.0, gt=0, description="W: event-time window length.")
    hop_s: float = Field(2.0, gt=0, description="H: a window starts every H seconds (H < W: windows overlap).")
    sample_fps: float = Field(8.0, gt=0, description="Candidates per second the cameras deliver.")
    # Partitioning keeps each camera's frames in order, so nothing arrives late in normal operation; every
    # second of lateness is a second added to the processing latency of every window.
    allowed_lateness_s: float = Field(0.0, ge=0, description="A window closes this long (event time) after its end.")
    budget: int = Field(0, ge=0, description="n frames per clip; 0: the bundle's trained n.")
    min_frames: int = Field(2, ge=1, description="Windows with fewer frames are dropped and counted.")
    complete_fraction: float = Field(
        1.0, gt=0, le=1, description="A window whose sampling slots hold fewer frames than this share is "
        "marked incomplete (1.0: any missing slot, inside or at an edge)."
    )
    idle_close_s: float = Field(
        10.0, gt=0, description="A camera's open windows close, marked incomplete, once no frame of it has "
        "arrived for this many wall-clock seconds (a stopped camera does not hold its last window open)."
    )
    idle_check_s: float = Field(1.0, gt=0, description="How often a worker looks for idle cameras.")
    # The window state holds claims (scored-frames coordinates), not JPEGs: a closed window's selected JPEGs are
    # read back from scored-frames (processors/selector/jpeg_fetch.py).
    jpeg_fetch_seek_gap: int = Field(16, ge=1, description="Reading a window's selected JPEGs back, a gap of more "
                                     "records than this between two of them is skipped by a seek, not read over.")
    jpeg_fetch_retry_s: float = Field(1.0, gt=0, description="Wait between attempts to read JPEGs back while "
                                      "the broker does not answer.")


class SheddingSettings(BaseModel):
    """Selection-aware load shedding: when behind, classify fewer frames per window, never whole windows."""

    enabled: bool = True
    staleness_bound_s: float = Field(1.0, gt=0, description="Behind means: a window closes this late or later.")
    step_s: float = Field(0.5, gt=0, description="One frame less for each further step of lateness.")
    floor: int = Field(2, ge=1, description="Never fewer frames per window than this.")


class ClassifierSettings(BaseModel):
    max_batch: int = Field(32, ge=1, description="Largest batch of clips classified together.")
    # A wait, not work: a K = 4 site sends 2 clips a second, so the wait rarely fills a batch and each window paid
    # it. bench pipeline K = 4, side by side: 0.02 -> 0.005 cut the classify hop p50 from 29 to 13 ms (p99 154 ->
    # 73 ms), classifier CPU per frame unchanged (0.26 vs 0.21 ms).
    max_wait_s: float = Field(0.005, gt=0, description="Longest wait for a batch to fill.")
    top_k: int = Field(3, ge=1)
    # Stable across restarts, so a restarted instance fences its predecessor and aborts what it left open at
    # once; a second instance on the same host must set its own (ACTIONSTREAM_CLASSIFIER__TRANSACTIONAL_ID).
    transactional_id: str = Field(default_factory=lambda: f"actionstream-classifier-{socket.gethostname()}",
                                  description="Unique per classifier instance; the topic prefix is prepended.")
    group_id: str = Field("actionstream-classifier")
    stuck_after_timeouts: int = Field(1, ge=1, description="Transaction-step timeouts in a row after which the "
                                      "producer is replaced (librdkafka can keep a stale coordinator).")
    # Measured across a broker restart: adding the offsets hung on the stale coordinator 15 s after the broker was
    # back, until the step's timeout (then the transaction's, 30 s); so a restart cost the classifier that long.
    step_timeout_s: float = Field(10.0, gt=0, description="Longest wait for one commit step (offsets, commit) "
                                  "before it counts as a timeout; at most the transaction timeout.")
    idle_labels: list[str] = Field(default_factory=lambda: ["idle", "background"],
                                   description="Classes that mean no action: such a window is an idle outcome.")
    min_action_confidence: float | None = Field(None, ge=0.0, le=1.0, description="Open-set rejection: a window "
                                                "whose top action class is less confident than this is an idle "
                                                "outcome too (keeping its label); 0 turns it off; unset: the floor "
                                                "the served model's training chose on validation.")
    state_restore_timeout_s: float = Field(30.0, gt=0, description="Longest wait to read the per-camera state "
                                           "(last window, open incident) back when partitions are assigned.")
    transaction_timeout_ms: int = 60_000
    idle_poll_s: float = Field(0.5, gt=0, description="Poll timeout while no record is waiting (stop checks).")
    retry_backoff_s: float = Field(0.5, ge=0, description="Pause before retrying a retriable transaction step.")
    lag_report_interval_s: float = Field(10.0, gt=0, description="How often the consumer lag gauge is updated.")
    shadow_alias: str | None = Field("shadow", description="Registry alias of a candidate classified beside "
                                     "production, its results on shadow-outcomes only (None: no shadow).")


class IncidentSettings(BaseModel):
    """How consecutive windows of one action on a camera become one incident."""

    max_missed_windows: int = Field(1, ge=0, description="Windows in a row without the action (idle, another "
                                    "action or no window at all) that an incident survives.")
    update_interval_s: float = Field(10.0, gt=0, description="At most one update record per this much event time.")
    silent_end_s: float = Field(30.0, gt=0, description="An open incident of a camera whose windows stopped "
                                "arriving ends after this many wall-clock seconds.")


class ProcessorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIONSTREAM_", env_nested_delimiter="__")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    sites: list[str] = Field(default_factory=lambda: ["demo"], description="Sites whose frames topics to read.")
    frames_discovery_s: float = Field(
        10.0, ge=0, description="How often selector workers look for new sites' frames topics (any "
        "frames.<site> under the prefix) and start consuming them; 0: the listed sites only."
    )
    app_id: str = Field("actionstream-selector", description="Faust app id: workers with one id share the work.")
    selector_stage: Literal["both", "score", "window"] = Field(
        "both", description="What a selector process runs: both stages (one process), `score` (stage 1 only: "
        "stateless, scale out freely) or `window` (stage 2 only, the windows); a score and a window process "
        "together are one selector with stage 1 away from stage 2's interpreter lock.")
    model: ServingModelSettings = Field(default_factory=ServingModelSettings)
    stage1: Stage1Settings = Field(default_factory=Stage1Settings)
    stage2: Stage2Settings = Field(default_factory=Stage2Settings)
    shedding: SheddingSettings = Field(default_factory=SheddingSettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)
    metrics_port: int = Field(9465, description="Prometheus port of this process (0: none).")
    state_dir: Path = Field(Path("var/processors"), description="Faust's local data directory.")
