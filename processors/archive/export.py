"""Training-ready sets from the archive, for `actionstream archive export` and the retrain worker.

    export_training_set(settings: ArchiveSettings, site: str, out_dir: Path, since: float | None = None,
                        until: float | None = None, cameras: Collection[str] | None = None,
                        flagged: Collection[str] = (), exclude_cameras: Collection[str] = (),
                        latest_per_camera: int | None = None) -> ExportSummary

Windows (outcomes with window_start in [since, until), of `cameras` but not `exclude_cameras`; with
`latest_per_camera`, only each camera's latest labelled ones) that a label reached become one short video each, at
the sample rate, from the JPEGs the archive holds for them, in a UCF101-layout folder that
training.ucf101.Ucf101Index.from_folder reads:
    <out>/UCF-101/<label>/<camera>_<window start ms>.mp4
    <out>/ucfTrainTestlist/classInd.txt, trainlist01.txt, testlist01.txt   (split in time blocks, see windows.py)
    <out>/features.npz          the windows' X_i (format below)
    <out>/manifest.json         the summary and the settings the set was made with
Windows in `flagged` (event ids, e.g. from drift) that no label reached go to <out>/candidates/ as unlabelled
videos, with candidates.txt (video, event id, camera, window start, predicted label) and their own features.npz.
The latest label of a window wins. A window whose frames were evicted, or that holds fewer than
Stage2Settings.min_frames frames, is skipped and counted.

features.npz (numpy, one row per exported window, T = most frames of any window, D = X_i size):
    video_ids [N] str (Ucf101Index video_id: "<label>/<file stem>"), event_ids [N] str, cameras [N] str,
    subsets [N] str (train | test | candidate), labels [N] str ("" for candidates), predicted [N] str,
    window_start [N] float64, model_versions [N] str (encoder that made X_i),
    features [N, T, D] float16 (zero padded), mask [N, T] bool (real frames), capture_times [N, T] float64
    (NaN padded), seqs [N, T] int64 (-1 padded), has_features [N] bool (False: X_i of another size than the
    first window's, e.g. across an encoder change; that row is all padding).
The retrain worker turns it into the training pipeline's feature cache of the labelled windows
(processors/retrain/archived_features.py): serving computes X_i with the same frozen encoder and
representation as training, the curation verdict comes from the decoded video, and the ImageNet logits that
training/features.py also stores are read by nothing after the cache. It also serves checks and models over
X_i directly.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image

from processors.archive.settings import ArchiveSettings
from processors.archive.storage import Kind, list_segments, read_entries, segment_path, segment_start
from processors.archive.windows import Split, WindowSpan, time_block_split, window_frames
from streams.records import ScoredFrame
from streams.schemas import Label, WindowOutcome

VIDEOS_DIRNAME = "UCF-101"  # training.ucf101's layout
LISTS_DIRNAME = "ucfTrainTestlist"
CANDIDATES_DIRNAME = "candidates"
FEATURES_FILENAME = "features.npz"
# A label becomes a folder name and a token of classInd.txt: no separators, no whitespace.
_CLASS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class ExportSummary:
    out_dir: Path
    classes: list[str] = field(default_factory=list)
    train: dict[str, int] = field(default_factory=dict)  # windows per class
    test: dict[str, int] = field(default_factory=dict)
    candidates: int = 0
    embargoed: int = 0  # train windows overlapping a test window of their camera: in neither subset
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> windows

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "out_dir": str(self.out_dir)}


@dataclass(frozen=True)
class _Window:
    outcome: WindowOutcome
    label: str  # "" for a candidate
    frames: list[ScoredFrame]

    @property
    def file_stem(self) -> str:
        return f"{quote(self.outcome.camera, safe='')}_{round(self.outcome.window_start * 1000)}"


def export_training_set(settings: ArchiveSettings, site: str, out_dir: Path, since: float | None = None,
                        until: float | None = None, cameras: Collection[str] | None = None,
                        flagged: Collection[str] = (), exclude_cameras: Collection[str] = (),
                        latest_per_camera: int | None = None) -> ExportSummary:
    """Write the labelled windows (and unlabelled flagged ones) of a site as a training-ready set."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty: an export writes a fresh folder")
    summary = ExportSummary(out_dir=out_dir)
    skipped: Counter[str] = Counter()
    outcomes = [outcome for outcome in _outcomes(settings, site, since, until, cameras)
                if outcome.camera not in exclude_cameras]
    labels = _labels(settings, site)
    flagged_ids = set(flagged)
    labelled: list[tuple[WindowOutcome, str]] = []
    candidates: list[tuple[WindowOutcome, str]] = []
    for outcome in outcomes:
        label = labels.get(outcome.event_id)
        if label is not None and _CLASS_NAME.match(label.label):
            labelled.append((outcome, label.label))
        elif label is not None:
            skipped["label not usable as a class folder"] += 1
        elif outcome.event_id in flagged_ids:
            candidates.append((outcome, ""))
    if latest_per_camera is not None:
        labelled = _latest_per_camera(labelled, latest_per_camera)
    windows = list(_with_frames(settings, site, labelled + candidates, skipped))
    by_id = {window.outcome.event_id: window for window in windows}
    spans = [WindowSpan(w.outcome.event_id, w.outcome.camera, w.outcome.window_start,
                        w.outcome.window_start + settings.stage2.window_s) for w in windows if w.label]
    split = time_block_split(spans, settings.archive.test_block_s, settings.archive.test_share)
    _write_labelled(settings, out_dir, split, by_id, summary)
    _write_candidates(settings, out_dir, [window for window in windows if not window.label], summary)
    summary.embargoed = len(split.embargoed)
    summary.skipped = dict(skipped)
    manifest = {"site": site, "since": since, "until": until, "cameras": sorted(cameras) if cameras else None,
                "exclude_cameras": sorted(exclude_cameras), "latest_per_camera": latest_per_camera,
                "window_s": settings.stage2.window_s, "sample_fps": settings.stage2.sample_fps,
                "test_block_s": settings.archive.test_block_s, "test_share": settings.archive.test_share,
                **summary.as_json()}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return summary


def _outcomes(settings: ArchiveSettings, site: str, since: float | None, until: float | None,
              cameras: Collection[str] | None) -> list[WindowOutcome]:
    """The site's window outcomes in range, one per event id (a replayed outcome is stored twice)."""
    segment_s = settings.archive.segment_s
    found: dict[str, WindowOutcome] = {}
    for segment in list_segments(settings.archive.root, Kind.OUTCOMES, site):
        if (since is not None and segment.start + segment_s <= since) or (until is not None and segment.start >= until):
            continue  # outcome segments are by window start: this one holds none in range
        for payload in read_entries(segment.path):
            outcome = WindowOutcome.model_validate_json(payload)  # validated by the sink before storing
            if _in_range(outcome.window_start, since, until) and (not cameras or outcome.camera in cameras):
                found[outcome.event_id] = outcome
    return sorted(found.values(), key=lambda outcome: (outcome.camera, outcome.window_start))


def _latest_per_camera(labelled: list[tuple[WindowOutcome, str]], count: int) -> list[tuple[WindowOutcome, str]]:
    """The `count` latest windows of each camera (`labelled` is in camera, then time order)."""
    by_camera: dict[str, list[tuple[WindowOutcome, str]]] = {}
    for window in labelled:
        by_camera.setdefault(window[0].camera, []).append(window)
    return [window for windows in by_camera.values() for window in (windows[-count:] if count else [])]


def _in_range(time_s: float, since: float | None, until: float | None) -> bool:
    return (since is None or time_s >= since) and (until is None or time_s < until)


def _labels(settings: ArchiveSettings, site: str) -> dict[str, Label]:
    latest: dict[str, Label] = {}
    for segment in list_segments(settings.archive.root, Kind.LABELS, site):
        for payload in read_entries(segment.path):
            label = Label.model_validate_json(payload)
            if label.event_id not in latest or label.labelled_at >= latest[label.event_id].labelled_at:
                latest[label.event_id] = label
    return latest


def _with_frames(settings: ArchiveSettings, site: str, chosen: list[tuple[WindowOutcome, str]],
                 skipped: Counter[str]) -> Iterator[_Window]:
    """Each chosen window with its frames; segments are read once per camera run (windows come sorted)."""
    root, segment_s, window_s = settings.archive.root, settings.archive.segment_s, settings.stage2.window_s
    loaded: dict[tuple[str, int], list[ScoredFrame]] = {}
    for outcome, label in sorted(chosen, key=lambda pair: (pair[0].camera, pair[0].window_start)):
        first = segment_start(outcome.window_start, segment_s)
        last = segment_start(outcome.window_start + window_s, segment_s)
        wanted = [(outcome.camera, start) for start in range(first, last + 1, segment_s)]
        for key in [key for key in loaded if key not in wanted]:
            del loaded[key]  # behind the window: later windows of this camera start later still
        frames: list[ScoredFrame] = []
        for camera, start in wanted:
            if (camera, start) not in loaded:
                path = segment_path(root, Kind.FRAMES, site, start, camera)
                loaded[(camera, start)] = [ScoredFrame.from_bytes(payload) for payload in read_entries(path)]
            frames += loaded[(camera, start)]
        members = window_frames(frames, outcome.camera, outcome.window_start, window_s)
        if not members:
            skipped["no frames in the archive (evicted or never stored)"] += 1
        elif len(members) < settings.stage2.min_frames:
            skipped["fewer frames than stage2.min_frames"] += 1
        else:
            yield _Window(outcome, label, members)


def _write_video(path: Path, window: _Window, fps: float) -> None:
    from training.video import write_video  # PyAV: loaded only when an export runs

    images = [Image.open(io.BytesIO(frame.jpeg)).convert("RGB") for frame in window.frames]
    size = images[0].size
    frames = np.stack([np.asarray(image if image.size == size else image.resize(size)) for image in images])
    write_video(path, frames, fps)


def _write_labelled(settings: ArchiveSettings, out_dir: Path, split: Split, by_id: dict[str, _Window],
                    summary: ExportSummary) -> None:
    videos, lists = out_dir / VIDEOS_DIRNAME, out_dir / LISTS_DIRNAME
    lists.mkdir(parents=True)
    videos.mkdir()
    subsets = [("train", span) for span in split.train] + [("test", span) for span in split.test]
    rows = [(subset, by_id[span.event_id]) for subset, span in subsets]
    summary.classes = sorted({window.label for _, window in rows})
    index = {name: number for number, name in enumerate(summary.classes, start=1)}
    train_lines, test_lines = [], []
    for subset, window in rows:
        relative = f"{window.label}/{window.file_stem}.mp4"
        _write_video(videos / relative, window, settings.stage2.sample_fps)
        if subset == "train":
            summary.train[window.label] = summary.train.get(window.label, 0) + 1
            train_lines.append(f"{relative} {index[window.label]}")
        else:
            summary.test[window.label] = summary.test.get(window.label, 0) + 1
            test_lines.append(relative)
    (lists / "classInd.txt").write_text("".join(f"{number} {name}\n" for name, number in index.items()))
    (lists / "trainlist01.txt").write_text("".join(f"{line}\n" for line in train_lines))
    (lists / "testlist01.txt").write_text("".join(f"{line}\n" for line in test_lines))
    _write_features(out_dir / FEATURES_FILENAME, [(subset, window) for subset, window in rows])


def _write_candidates(settings: ArchiveSettings, out_dir: Path, windows: list[_Window],
                      summary: ExportSummary) -> None:
    if not windows:
        return
    folder = out_dir / CANDIDATES_DIRNAME
    lines = []
    for window in windows:
        name = f"{window.file_stem}.mp4"
        _write_video(folder / name, window, settings.stage2.sample_fps)
        outcome = window.outcome
        lines.append(f"{name} {outcome.event_id} {quote(outcome.camera, safe='')} {outcome.window_start:.3f} "
                     f"{outcome.label}\n")
    (folder / "candidates.txt").write_text("".join(lines))
    _write_features(folder / FEATURES_FILENAME, [("candidate", window) for window in windows])
    summary.candidates = len(windows)


def _write_features(path: Path, rows: list[tuple[str, _Window]]) -> None:
    count = len(rows)
    length = max((len(window.frames) for _, window in rows), default=0)
    dim = rows[0][1].frames[0].features.size if rows else 0
    features = np.zeros((count, length, dim), dtype=np.float16)
    mask = np.zeros((count, length), dtype=bool)
    times = np.full((count, length), np.nan)
    seqs = np.full((count, length), -1, dtype=np.int64)
    has_features = np.zeros(count, dtype=bool)
    for row, (_, window) in enumerate(rows):
        frames = window.frames
        times[row, :len(frames)] = [frame.capture_time for frame in frames]
        seqs[row, :len(frames)] = [frame.seq for frame in frames]
        if all(frame.features.size == dim for frame in frames):
            features[row, :len(frames)] = np.stack([frame.features for frame in frames])
            mask[row, :len(frames)] = True
            has_features[row] = True
    np.savez(
        path,
        video_ids=np.asarray([f"{window.label}/{window.file_stem}" if window.label else window.file_stem
                              for _, window in rows], dtype=str),
        event_ids=np.asarray([window.outcome.event_id for _, window in rows], dtype=str),
        cameras=np.asarray([window.outcome.camera for _, window in rows], dtype=str),
        subsets=np.asarray([subset for subset, _ in rows], dtype=str),
        labels=np.asarray([window.label for _, window in rows], dtype=str),
        predicted=np.asarray([window.outcome.label for _, window in rows], dtype=str),
        window_start=np.asarray([window.outcome.window_start for _, window in rows], dtype=np.float64),
        model_versions=np.asarray([window.frames[0].model_version for _, window in rows], dtype=str),
        features=features, mask=mask, capture_times=times, seqs=seqs, has_features=has_features,
    )
