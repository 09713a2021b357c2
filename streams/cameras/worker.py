"""One camera's life: open, decode, sample, resize + JPEG, publish; report state; reconnect forever."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import av
import av.container

from streams.cameras import metrics
from streams.cameras.backoff import Backoff
from streams.cameras.config import CameraConfig, ResilienceSettings
from streams.cameras.encode_stage import EncodeStage, SampledVideoFrame
from streams.cameras.registry import CameraError, CameraSource, create_camera
from streams.cameras.sampler import PtsSampler
from streams.cameras.urls import MaskCredentials, mask_credentials
from streams.producer import ReliableProducer
from streams.schemas import CameraState, CameraStatus

logger = logging.getLogger(__name__)
logger.addFilter(MaskCredentials())  # FFmpeg's errors name the URL, password included

# Frames of presentation time used to decide whether reference frames alone reach the sampling rate.
_NONREF_PROBE_SECONDS = 2.0


@dataclass
class CameraStats:
    decoded: int = 0
    sampled: int = 0
    published: int = 0
    dropped: int = 0
    bytes: int = 0
    reconnects: int = 0
    gaps: int = 0
    state: CameraState = "reconnecting"
    reason: str = "starting"


@dataclass
class _Timeline:
    """Maps a container's presentation times onto capture time (epoch seconds).

    The anchor is the smallest (arrival - relative pts) seen on this connection: neither the connect time
    (which adds the wait for the first keyframe) nor the first frame's arrival (FFmpeg probes about a second
    of packets before it returns one) is when that frame was captured; the frame that arrived soonest after
    capture is the best estimate. While the anchor settles (the first burst) capture time can step back;
    the sampler drops those slots as already taken.
    """

    anchor: float | None = None
    first_pts: float | None = None
    offset: float = 0.0  # accumulated length of earlier loops of a file camera
    last_relative: float = 0.0
    follow_arrivals: bool = True  # live sources; a paced file's anchor stays where it started
    start_grid_s: float = 0.0  # paced files: the anchor rounded up to a multiple (replays on fixed windows)

    def capture_time(self, pts_time: float, now: float) -> float:
        if self.first_pts is None:
            self.first_pts = pts_time
        self.last_relative = self.offset + pts_time - self.first_pts
        if self.anchor is None or (self.follow_arrivals and now - self.last_relative < self.anchor):
            self.anchor = now - self.last_relative
            if not self.follow_arrivals and self.start_grid_s > 0:
                self.anchor = math.ceil(self.anchor / self.start_grid_s) * self.start_grid_s
        return self.anchor + self.last_relative

    def next_loop(self, frame_interval: float) -> None:
        self.offset = self.last_relative + frame_interval
        self.first_pts = None


StatusSink = Callable[[CameraStatus], None]


class CameraWorker(threading.Thread):
    def __init__(
        self,
        site: str,
        config: CameraConfig,
        resilience: ResilienceSettings,
        producer: ReliableProducer,
        frames_topic: str,
        status_sink: StatusSink,
        stop_event: threading.Event,
        clock: Callable[[], float] = time.time,
        max_message_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        super().__init__(name=f"camera-{site}-{config.id}", daemon=True)
        self.site = site
        self.config = config
        self.resilience = resilience
        self._producer = producer
        self._topic = frames_topic
        self._status_sink = status_sink
        self._stop_event = stop_event
        self._clock = clock
        self._source: CameraSource = create_camera(config, resilience)
        self._max_message_bytes = max_message_bytes
        self._stats = CameraStats()
        self._lock = threading.Lock()
        self._labels = {"site": site, "camera": config.id}
        self._sampler = PtsSampler(config.sample_fps)
        self._last_frame_wall = 0.0  # monotonic time of the last decoded frame, for stall detection

    # -- state ---------------------------------------------------------------------------------------------
    def stats(self) -> CameraStats:
        with self._lock:
            return replace(self._stats)

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, amount in increments.items():
                setattr(self._stats, name, getattr(self._stats, name) + amount)

    def _set_state(self, state: CameraState, reason: str) -> None:
        reason = mask_credentials(reason)  # the status topic is read by sites and dashboards
        with self._lock:
            if self._stats.state == state and self._stats.reason == reason:
                return
            self._stats.state, self._stats.reason = state, reason
            snapshot = replace(self._stats)
        metrics.CAMERA_UP.labels(**self._labels).set(1 if state == "up" else 0)
        log = logger.warning if state == "reconnecting" else logger.info
        log("camera %s/%s %s: %s", self.site, self.config.id, state, reason)
        self._status_sink(
            CameraStatus(
                site=self.site,
                camera=self.config.id,
                state=state,
                reason=reason,
                at=self._clock(),
                frames_published=snapshot.published,
                reconnects=snapshot.reconnects,
                gaps=snapshot.gaps,
            )
        )

    # -- main loop -----------------------------------------------------------------------------------------
    def run(self) -> None:
        self._stage = EncodeStage(self.site, self.config, self._producer, self._topic, self._max_message_bytes,
                                  self._count, self._clock)
        try:
            final_reason = self._run_forever()
        finally:
            self._stage.close()  # frames already sampled are still published
        self._producer.flush()  # so that the final status counts every delivered frame
        self._set_state("down", final_reason)

    def _run_forever(self) -> str:
        """Stream, reconnecting forever; returns why the camera is down for good."""
        backoff = Backoff(self.resilience)
        timeline = _Timeline(follow_arrivals=self._source.live, start_grid_s=self.config.start_grid_s)
        while not self._stop_event.is_set():
            try:
                finished = self._stream_once(timeline, backoff)
                if finished:
                    return "end of recording"
                if self._source.live:
                    raise CameraError("stream ended (the camera or server closed it)")
                timeline.next_loop(1.0 / self.config.sample_fps)
                continue
            except CameraError as error:
                reason = str(error)
            except av.FFmpegError as error:
                reason = f"stream error: {error.strerror or error}"
            except Exception as error:  # a bug or a library surprise must not end a camera for good
                logger.exception("camera %s/%s: unexpected error", self.site, self.config.id)
                reason = f"unexpected error: {error!r}"
            if self._stop_event.is_set():
                break
            self._set_state("reconnecting", reason)
            self._count(reconnects=1)
            metrics.RECONNECTS.labels(**self._labels).inc()
            self._stop_event.wait(backoff.next_delay())
            # Capture time restarts at the wall clock: the outage shows up as a gap in sequence numbers.
            timeline = _Timeline(follow_arrivals=self._source.live, start_grid_s=self.config.start_grid_s)
        return "adapter stopped"

    def _stream_once(self, timeline: _Timeline, backoff: Backoff) -> bool:
        """Stream until the source ends. Returns True when a non-looping recording is finished."""
        container = self._source.open()
        try:
            self._decode_container(container, timeline, backoff)
        finally:
            container.close()
        return not self._source.live and not self.config.loop and not self._stop_event.is_set()

    def _decode_container(self, container: av.container.InputContainer, timeline: _Timeline, backoff: Backoff) -> None:
        stream = container.streams.video[0]
        stream.thread_type = self.config.decoder_threading
        if self.config.decoder_threads:
            stream.codec_context.thread_count = self.config.decoder_threads
        source_fps = float(stream.average_rate) if stream.average_rate else None
        self._sampler.source_fps = source_fps
        probe = _NonrefProbe(self.config.sample_fps) if self.config.skip_nonref else None
        if probe is not None:
            stream.codec_context.skip_frame = "NONREF"
        pace = not self._source.live and self.config.realtime
        self._last_frame_wall = time.monotonic()
        try:
            self._demux_and_decode(container, stream, timeline, backoff, pace, probe)
        except av.FFmpegError:
            # The read timeout (stall_timeout_s) fires when a socket stays open but delivers nothing.
            silent_s = time.monotonic() - self._last_frame_wall
            if silent_s >= 0.9 * self.resilience.stall_timeout_s:
                raise CameraError(
                    f"stalled: no data for {silent_s:.0f} s (connection open, nothing delivered)"
                ) from None
            raise

    def _demux_and_decode(
        self,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        timeline: _Timeline,
        backoff: Backoff,
        pace: bool,
        probe: _NonrefProbe | None,
    ) -> None:
        for packet in container.demux(stream):
            if self._stop_event.is_set():
                return
            started = time.perf_counter()
            try:
                frames = packet.decode()
            except av.InvalidDataError as error:
                self._count(dropped=1)
                metrics.FRAMES_DROPPED.labels(**self._labels, reason="decode_error").inc()
                logger.debug("camera %s: undecodable packet: %s", self.config.id, error)
                frames = []
            if not frames:
                if time.monotonic() - self._last_frame_wall > self.resilience.stall_timeout_s:
                    raise CameraError(f"stalled: no decodable frame for {self.resilience.stall_timeout_s:.0f} s")
                continue
            metrics.DECODE_SECONDS.labels(**self._labels).observe((time.perf_counter() - started) / len(frames))
            self._last_frame_wall = time.monotonic()
            for frame in frames:
                self._on_frame(frame, timeline, pace, probe, stream)
            if self._stats.state != "up":
                self._set_state("up", "streaming")
                backoff.reset()

    def _on_frame(
        self,
        frame: av.VideoFrame,
        timeline: _Timeline,
        pace: bool,
        probe: _NonrefProbe | None,
        stream: av.video.stream.VideoStream,
    ) -> None:
        now = self._clock()
        if frame.time is not None:
            pts_time = frame.time
        else:  # no timestamps: the arrival time is the best capture time there is
            pts_time = now - (timeline.anchor if timeline.anchor is not None else now)
        capture_time = timeline.capture_time(pts_time, now)
        self._count(decoded=1)
        metrics.FRAMES_DECODED.labels(**self._labels).inc()
        if probe is not None and probe.observe(pts_time) is False:
            stream.codec_context.skip_frame = "DEFAULT"
            logger.info("camera %s: reference frames alone are below %.1f fps; decoding every frame",
                        self.config.id, self.config.sample_fps)
        if pace:
            delay = capture_time - self._clock()
            if delay > 0:
                self._stop_event.wait(delay)
        sampled = self._sampler.offer(capture_time)
        if sampled is None:
            return
        if sampled.gap:
            self._count(gaps=sampled.gap)
            metrics.FRAME_GAPS.labels(**self._labels).inc(sampled.gap)
        self._count(sampled=1)
        self._stage.submit(SampledVideoFrame(frame, sampled.seq, capture_time))


@dataclass
class _NonrefProbe:
    """Decides once, after a few seconds of presentation time, whether skipping non-reference frames still
    leaves at least sample_fps frames. Returns False from observe() at the moment it decides 'no'."""

    sample_fps: float
    _first: float | None = None
    _frames: int = 0
    _decided: bool = field(default=False)

    def observe(self, pts_time: float) -> bool | None:
        if self._decided:
            return None
        if self._first is None:
            self._first = pts_time
        self._frames += 1
        span = pts_time - self._first
        if span < _NONREF_PROBE_SECONDS:
            return None
        self._decided = True
        # A 10 % margin keeps sampling even when reference frames are unevenly spaced.
        return (self._frames - 1) / span >= 1.1 * self.sample_fps
