"""Frames of `bench drift`, rendered and encoded once: synthetic clips -> JPEG -> X_i and quality stats.

Every clip goes the serving path of a frame: rendered RGB (shifted or not) -> the camera adapter's JPEG at the
encoder's size -> stage 1's decode -> brightness and sharpness (`quality_stats`) and X_i (EfficientNet-Lite0
on ONNX Runtime + the name table). Results are cached per clip set under the cache folder, keyed by
everything that changes them, so a rerun with other --windows or thresholds encodes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from pydantic import BaseModel, Field

from models.backends import BackendOptions, EncoderBackend, create_backend
from models.preprocessing import Preprocessing
from models.representation import DEFAULT_TOP_K, frame_representation
from processors.selector.scoring import quality_stats
from streams.codec import JpegEncoder, JpegSettings, decode_jpeg
from training.array_files import save_arrays
from training.synth import SynthSettings, build_scene
from training.synth_scene import NoiseBank, draw_background
from training.synth_shifts import FRAME_SHIFTS, ShiftKind, ShiftSettings, clutter_background, shift_frame

logger = logging.getLogger(__name__)

CACHE_FORMAT = 2
QUALITY_COLUMNS = ("brightness", "sharpness")
# Seed streams: each clip's generator is default_rng([seed, stream, camera, clip]).
_TRAIN, _VALIDATION, CAMERA_STREAM, _SHIFT, _SCENE, DRAW_STREAM = 0, 1, 2, 3, 4, 5


class DataSettings(BaseModel):
    """What the bench renders and how a clip becomes frames."""

    synth: SynthSettings = Field(default_factory=lambda: SynthSettings(seed=9000),
                                 description="The synthetic family (its seed is unseen by other sets).")
    shifts: ShiftSettings = Field(default_factory=ShiftSettings)
    frames_per_clip: int = Field(4, ge=1, description="Frames sampled from each 4 s clip, evenly spaced (1 fps).")
    train_clips_per_class: int = Field(40, ge=2, description="Clips the bench's small classifier is trained on.")
    validation_clips_per_class: int = Field(20, ge=2, description="Validation clips: temperature and the "
                                            "training profile.")
    encoder_threads: int = Field(1, ge=0, description="ONNX Runtime threads (the bench shares 2 cores).")
    batch: int = Field(64, ge=1, description="Frames per encoder call.")


@dataclass(frozen=True)
class ClipSet:
    """Encoded clips: X [N, F, D] (float16, as X_i travels), quality [N, F, columns], labels [N]."""

    embeddings: np.ndarray
    quality: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows: np.ndarray | slice) -> ClipSet:
        return ClipSet(self.embeddings[rows], self.quality[rows], self.labels[rows])


@dataclass(frozen=True)
class CameraScene:
    """What stays the same on one camera: its sensor noise and the background it looks at."""

    noise: NoiseBank
    background: np.ndarray


@dataclass(frozen=True)
class ClipSpec:
    """How clip `clip` of a set is made: its generator, class mix, camera scene and shift."""

    stream: int
    camera: int
    clip: int
    mix: np.ndarray | None = None  # class probabilities; None: every class equally likely
    scene: CameraScene | None = None  # None: background and noise drawn per clip, as in the training set
    shift: ShiftKind | None = None


class FrameEncoder:
    """RGB frames at the encoder's size -> X_i, as `SmartRuntime.encode` does with a bundle."""

    def __init__(self, directory: Path, threads: int) -> None:
        from models.encoder import FrameEncoder as TorchEncoder
        from models.export import ENCODER_ONNX, export_encoder_onnx
        from models.text import NAME_TABLE_FILE, load_or_build_name_table

        if not (directory / ENCODER_ONNX).exists():
            export_encoder_onnx(TorchEncoder(), directory / ENCODER_ONNX)
        self.name_table = load_or_build_name_table(directory / NAME_TABLE_FILE)
        self.preprocessing = Preprocessing()
        self.backend: EncoderBackend = create_backend(
            "onnxruntime", BackendOptions(model_dir=directory, precision="fp32", device="cpu", num_threads=threads))

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        output = self.backend.run(self.preprocessing(frames))
        return frame_representation(output.features, output.logits, self.name_table, DEFAULT_TOP_K)


def _render(spec: ClipSpec, settings: DataSettings, seed: int) -> tuple[int, list[np.ndarray]]:
    synth = settings.synth
    rng = np.random.default_rng([seed, spec.stream, spec.camera, spec.clip])
    mix = spec.mix if spec.mix is not None else np.full(synth.num_classes, 1.0 / synth.num_classes)
    label = int(rng.choice(len(mix), p=mix))  # one draw whatever the mix: the twin keeps its script
    if len(mix) > synth.num_classes:  # a mix with action kinds the model was not trained on
        synth = synth.model_copy(update={"num_classes": len(mix)})
    shift_rng = np.random.default_rng([seed, _SHIFT, spec.camera, spec.clip])
    background = spec.scene.background if spec.scene else None
    if spec.shift == "background":  # the camera now looks at one new scene, the same for all its later clips
        background = clutter_background(np.random.default_rng([seed, _SHIFT, spec.camera]), synth.width,
                                        synth.height, settings.shifts.background_blocks)
    scene = build_scene(label, synth, rng, noise=spec.scene.noise if spec.scene else None, background=background)
    picks = ((np.arange(settings.frames_per_clip) + 0.5) * scene.num_frames / settings.frames_per_clip).astype(int)
    frames = []
    for index in picks:
        frame = np.empty((synth.height, synth.width, 3), dtype=np.uint8)
        scene.render_into(int(index), frame)
        if spec.shift in FRAME_SHIFTS:
            frame = shift_frame(spec.shift, frame, settings.shifts, shift_rng)  # type: ignore[arg-type]
        frames.append(frame)
    return label, frames


def _through_stage1(frames: list[np.ndarray], jpeg: JpegEncoder, size: int) -> list[np.ndarray]:
    """The camera adapter's JPEG at the encoder size, decoded as stage 1 decodes it."""
    return [decode_jpeg(jpeg.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")), (size, size))
            for frame in frames]


def encode_clips(specs: list[ClipSpec], settings: DataSettings, seed: int, encoder: FrameEncoder) -> ClipSet:
    size = encoder.preprocessing.image_size
    jpeg = JpegEncoder(JpegSettings(width=size, height=size))
    labels, images = [], []
    for spec in specs:
        label, frames = _render(spec, settings, seed)
        labels.append(label)
        images.extend(_through_stage1(frames, jpeg, size))
    stacked = np.stack(images)
    quality = np.array([quality_stats(image) for image in stacked], dtype=np.float32)
    embeddings = np.concatenate([encoder(stacked[start:start + settings.batch])
                                 for start in range(0, len(stacked), settings.batch)])
    per_clip = settings.frames_per_clip
    return ClipSet(embeddings.astype(np.float16).reshape(len(specs), per_clip, -1),
                   quality.reshape(len(specs), per_clip, len(QUALITY_COLUMNS)), np.asarray(labels, dtype=np.int64))


class ClipCache:
    """Clip sets by name under `directory`, each keyed by the settings, seed and specs that made it."""

    def __init__(self, directory: Path, settings: DataSettings, seed: int) -> None:
        self.directory = directory
        self.settings = settings
        self.seed = seed
        self._encoder: FrameEncoder | None = None

    def encoder(self) -> FrameEncoder:
        if self._encoder is None:  # lazily: a fully cached run never loads the network
            self._encoder = FrameEncoder(self.directory / "encoder", self.settings.encoder_threads)
        return self._encoder

    def _key(self, specs: list[ClipSpec]) -> str:
        # Shift sizes only key the sets they shift: resizing a shift re-encodes nothing else.
        shifted = any(spec.shift is not None or spec.mix is not None for spec in specs)
        payload = {
            "format": CACHE_FORMAT, "seed": self.seed,
            "settings": self.settings.model_dump(mode="json", exclude={"batch", "encoder_threads", "shifts"}),
            "shifts": self.settings.shifts.model_dump(mode="json") if shifted else None,
            "specs": [[spec.stream, spec.camera, spec.clip, spec.shift, None if spec.mix is None else spec.mix.tolist(),
                       spec.scene is not None] for spec in specs],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def get(self, name: str, specs: list[ClipSpec]) -> ClipSet:
        path = self.directory / "clips" / f"{name}-{self._key(specs)}.npz"
        if path.exists():
            with np.load(path) as stored:
                return ClipSet(stored["embeddings"], stored["quality"], stored["labels"])
        logger.info("encoding %d clips of %s", len(specs), name)
        clips = encode_clips(specs, self.settings, self.seed, self.encoder())
        save_arrays(path, embeddings=clips.embeddings, quality=clips.quality, labels=clips.labels)
        return clips


def training_specs(settings: DataSettings, validation: bool) -> list[ClipSpec]:
    per_class = settings.validation_clips_per_class if validation else settings.train_clips_per_class
    return [ClipSpec(_VALIDATION if validation else _TRAIN, 0, clip)
            for clip in range(per_class * settings.synth.num_classes)]


def camera_scene(seed: int, camera: int, settings: DataSettings) -> CameraScene:
    """A camera's own sensor noise and background, drawn from the family once for all its clips."""
    rng = np.random.default_rng([seed, _SCENE, camera])
    width, height = settings.synth.width, settings.synth.height
    return CameraScene(NoiseBank.draw(rng, width, height), draw_background(rng, width, height))
