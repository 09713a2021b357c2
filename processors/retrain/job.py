"""One retrain request, start to decision: data, candidate, comparison with production, promotion. No Kafka
here; the worker publishes what this returns. Resumable: see lineage.py."""

from __future__ import annotations

import importlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.registry import (
    alias_version,
    find_versions,
    resolve_bundle_dir,
    set_alias,
    set_version_tags,
    version_tags,
)
from models.registry_retention import prune_registry
from processors.retrain.data import MergedData, merge_training_sets
from processors.retrain.lineage import (
    REQUEST_TAG,
    Resume,
    decision_tags,
    lineage_tags,
    result_from_tags,
    resume_point,
)
from processors.retrain.settings import RetrainSettings
from processors.retrain.shadow import ShadowVerdict
from streams.schemas import (
    ModelUpdate,
    RetrainData,
    RetrainOutcome,
    RetrainRequest,
    RetrainResult,
    RetrainTimings,
)
from training.config import TrainConfig, load_config
from training.promotion import PairedComparison, PromotionDecision, decide
from training.smart_settings import FeatureSettings
from training.ucf101 import VideoItem

logger = logging.getLogger(__name__)

# Where the labelled windows of a request come from: (request, empty output folder) -> a UCF101-layout folder,
# or None when there are none.
LabelledSource = Callable[[RetrainRequest, Path], Path | None]
# An accepted candidate's shadow run: (request, candidate, production, download folder) -> verdict.
ShadowCheck = Callable[[RetrainRequest, str, str, Path], ShadowVerdict]


@dataclass(frozen=True)
class JobOutcome:
    result: RetrainResult
    model_update: ModelUpdate | None  # set on a promotion: the record serving switches on


@dataclass
class _Progress:
    """What a failed request got to, for its result."""

    production: str | None = None
    candidate: str | None = None
    data: RetrainData | None = None
    data_s: float = 0.0
    training_s: float = 0.0
    evaluation_s: float = 0.0


def limit_threads(threads: int) -> None:
    """torch's threads for training and evaluation (0: its default); torch loads with the first request."""
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


class RetrainJob:
    def __init__(self, settings: RetrainSettings, labelled_source: LabelledSource | None = None,
                 shadow: ShadowCheck | None = None, replay_source: LabelledSource | None = None) -> None:
        self.settings = settings
        self.labelled_source = labelled_source or self._labelled
        self.replay_source = replay_source or self._replay
        if shadow is None and settings.shadow.duration_s > 0:
            from processors.retrain.shadow_run import ShadowRunner

            shadow = ShadowRunner(settings.kafka, settings.tracking, settings.shadow)
        self.shadow = shadow

    def __call__(self, request: RetrainRequest, attempt: int) -> JobOutcome:
        started = time.perf_counter()
        progress = _Progress()
        try:
            outcome = self._run(request, attempt, progress, started)
        except Exception as error:  # a failed request is an outcome to report, not a reason to stop the worker
            logger.exception("retrain request %s failed", request.request_id)
            outcome = JobOutcome(self._failed(request, attempt, progress, started,
                                              [f"{type(error).__name__}: {error}"]), None)
        self._prune_registry()
        return outcome

    def preload(self) -> None:
        """Import the training stack and open the registry before the first request. Done at the first request,
        this cost 7.8 s of CPU (mlflow and its first query 2.8, torch 2.3, training.pipeline 2.7) that the
        request waited for: about 30 s at the worker's low priority beside a running demo."""
        try:
            importlib.import_module("training.pipeline")  # torch, the ONNX exporter, every training step
            alias_version(self.settings.tracking, self.settings.retrain.production_alias)
        except Exception:  # the first request does the same and reports what fails
            logger.warning("could not preload the training stack", exc_info=True)

    def _prune_registry(self) -> None:
        """Every request registers a version: keep the registry under its cap (models/registry_retention.py)."""
        try:
            prune_registry(self.settings.tracking, self.settings.registry_retention)
        except Exception:  # a full disk later is better than a request without its result now
            logger.warning("could not prune the model registry", exc_info=True)

    def give_up(self, request: RetrainRequest, attempt: int) -> JobOutcome:
        """The result of a request whose earlier attempts all died with their worker."""
        reason = f"gave up after {attempt - 1} attempts that did not finish (the worker died each time)"
        return JobOutcome(self._failed(request, attempt, _Progress(), time.perf_counter(), [reason]), None)

    def _run(self, request: RetrainRequest, attempt: int, progress: _Progress, started: float) -> JobOutcome:
        registry = self.settings.tracking
        options = self.settings.retrain
        workspace = options.work_dir / request.request_id
        versions = find_versions(registry, {REQUEST_TAG: request.request_id})
        candidate = versions[-1] if versions else None
        tags = version_tags(registry, candidate) if candidate is not None else None
        step = resume_point(tags)
        logger.info("retrain request %s (attempt %d): %s", request.request_id, attempt, step.value)
        if step is Resume.PUBLISH and candidate is not None and tags is not None:
            return self._publish(request, candidate, tags)

        progress.production = alias_version(registry, options.production_alias)
        if progress.production is None:
            raise LookupError(f"no @{options.production_alias} model to compare a candidate with")
        clock = time.perf_counter()
        labelled = self.labelled_source(request, workspace / "labelled")
        replay = self.replay_source(request, workspace / "replay")
        merged = merge_training_sets(options.base_data, labelled, workspace / "data", options.base_check, replay)
        progress.data = RetrainData(base=str(options.base_data), labelled=str(labelled) if labelled else None,
                                    train_videos=merged.train_videos, labelled_videos=merged.labelled_videos,
                                    held_out_labelled=len(merged.labelled_test),
                                    held_out_base=len(merged.base_test) + len(merged.base_check),
                                    replay_videos=merged.replay_videos, held_out_replay=len(merged.replay_test))
        progress.data_s = time.perf_counter() - clock
        if len(merged.labelled_test) < self.settings.promotion.min_new_examples:
            # Nothing could pass the comparison: do not spend a training run on it.
            reason = (f"too few held-out labelled windows: {len(merged.labelled_test)} < "
                      f"{self.settings.promotion.min_new_examples}; no candidate trained")
            return JobOutcome(self._failed(request, attempt, progress, started, [reason], "refused"), None)

        limit_threads(self.settings.worker.threads)  # the torch work starts here
        config = self._train_config(merged)
        exports = [export for export in (labelled, replay) if export is not None]
        if exports:
            from processors.retrain.archived_features import cache_archived_features  # torch, via training

            for export in exports:
                cache_archived_features(export, merged, config)
        # Production's bundle: the candidate copies its encoder files and, warm, starts from its weights.
        production_dir = resolve_bundle_dir(f"models:/{registry.registered_model}/{progress.production}", registry,
                                            workspace / "bundles" / "production")
        if candidate is None:
            clock = time.perf_counter()
            candidate = self._train(config, workspace / "run", production_dir)
            progress.training_s = time.perf_counter() - clock
            set_version_tags(registry, candidate, lineage_tags(request, progress.production, progress.data))
        progress.candidate = candidate

        clock = time.perf_counter()
        decision = self._compare(candidate, production_dir, merged, config.features, workspace / "bundles")
        shadow = None
        if decision.promote and self.shadow is not None:
            shadow = self.shadow(request, candidate, progress.production, workspace / "shadow")
        progress.evaluation_s = time.perf_counter() - clock
        timings = RetrainTimings(data_s=progress.data_s, training_s=progress.training_s,
                                 evaluation_s=progress.evaluation_s, total_s=time.perf_counter() - started)
        set_version_tags(registry, candidate, decision_tags(decision, timings, attempt, shadow))
        return self._publish(request, candidate, version_tags(registry, candidate))

    def _publish(self, request: RetrainRequest, candidate: str, tags: dict[str, str]) -> JobOutcome:
        """Apply a recorded decision (moving the alias again is harmless) and build the result from the tags."""
        result = result_from_tags(request, candidate, tags)
        if result.outcome != "promoted":
            logger.info("candidate %s refused: %s", candidate, "; ".join(result.reasons))
            return JobOutcome(result, None)
        registry = self.settings.tracking
        alias = self.settings.retrain.production_alias
        set_alias(registry, candidate, alias)
        logger.info("candidate %s promoted to @%s (was %s)", candidate, alias, result.production_version)
        return JobOutcome(result, ModelUpdate(model=registry.registered_model, alias=alias, version=candidate))

    def _train_config(self, merged: MergedData) -> TrainConfig:
        options = self.settings.retrain
        files = [*options.train_configs, *([options.warm_start_config] if options.warm_start else [])]
        config = load_config(files, options.train_overrides)
        update: dict[str, object] = {"data": config.data.model_copy(update={"root": merged.root}),
                                     "tracking": self.settings.tracking}
        if self.settings.worker.threads > 0:
            update["features"] = config.features.model_copy(update={"num_threads": self.settings.worker.threads})
        return config.model_copy(update=update)

    def _train(self, config: TrainConfig, run_dir: Path, production_dir: Path) -> str:
        from training.pipeline import run_training  # torch: loaded when a request is trained

        outcome = run_training(config, run_dir, track=True, progress=False, previous=production_dir,
                               warm_start=self.settings.retrain.warm_start)
        if outcome.model_version is None:
            raise RuntimeError("training registered no model version")
        return outcome.model_version

    def _compare(self, candidate: str, production_dir: Path, merged: MergedData, features: FeatureSettings,
                 downloads: Path) -> PromotionDecision:
        registry = self.settings.tracking
        bundles = {"candidate": resolve_bundle_dir(f"models:/{registry.registered_model}/{candidate}", registry,
                                                   downloads / "candidate"),
                   "production": production_dir}
        seed = self.settings.retrain.seed
        comparisons = []
        # The base check set is scored apart from the base test: its video ids may repeat the test split's.
        for item_sets in ([merged.labelled_test], [merged.base_test, merged.base_check], [merged.replay_test]):
            candidate_hits: list[bool] = []
            production_hits: list[bool] = []
            for items in item_sets:
                candidate_correct = correct_by_video(bundles["candidate"], items, features, seed)
                production_correct = correct_by_video(bundles["production"], items, features, seed)
                shared = sorted(candidate_correct.keys() & production_correct.keys())
                candidate_hits += [candidate_correct[video] for video in shared]
                production_hits += [production_correct[video] for video in shared]
            comparisons.append(PairedComparison.of(np.array(candidate_hits, bool), np.array(production_hits, bool)))
        return decide(comparisons[0], comparisons[1], self.settings.promotion,
                      comparisons[2] if merged.replay_test else None)

    def _failed(self, request: RetrainRequest, attempt: int, progress: _Progress, started: float,
                reasons: list[str], outcome: RetrainOutcome = "failed") -> RetrainResult:
        timings = RetrainTimings(data_s=progress.data_s, training_s=progress.training_s,
                                 evaluation_s=progress.evaluation_s, total_s=time.perf_counter() - started)
        return RetrainResult(request_id=request.request_id, site=request.site, outcome=outcome, reasons=reasons,
                             new_data=None, base_test=None, candidate_version=progress.candidate,
                             production_version=progress.production, data=progress.data, timings=timings,
                             attempt=attempt)

    def _labelled(self, request: RetrainRequest, out: Path) -> Path | None:
        """The configured folder, or the request's labelled windows exported from the archive."""
        options = self.settings.retrain
        if options.labelled_dir is not None:
            return options.labelled_dir
        from processors.archive.export import export_training_set
        from processors.archive.settings import ArchiveSettings

        if out.exists():
            shutil.rmtree(out)  # an earlier attempt's partial export
        cameras = request.cameras if options.labelled_scope == "request_cameras" else None
        since = request.data_start if options.labelled_since == "evidence" else None
        summary = export_training_set(ArchiveSettings(), request.site, out, since=since, cameras=cameras)
        return out if summary.train or summary.test else None

    def _replay(self, request: RetrainRequest, out: Path) -> Path | None:
        """The configured folder, or the latest labelled windows of the site's other cameras from the archive
        (none when the labelled windows come from a configured folder, with no archive to draw on, or already
        hold the whole site's)."""
        options = self.settings.retrain
        if options.replay_dir is not None:
            return options.replay_dir
        if options.labelled_dir is not None or options.labelled_scope == "site" or options.replay_per_camera == 0:
            return None
        from processors.archive.export import export_training_set
        from processors.archive.settings import ArchiveSettings

        if out.exists():
            shutil.rmtree(out)  # an earlier attempt's partial export
        # Up to the request's time: a re-run after a worker died draws the same windows, so the same split, and a
        # window its candidate trained on never lands on the held-out side.
        summary = export_training_set(ArchiveSettings(), request.site, out, until=request.requested_at,
                                      exclude_cameras=request.cameras, latest_per_camera=options.replay_per_camera)
        return out if summary.train or summary.test else None


def correct_by_video(bundle_dir: Path, items: list[VideoItem], features: FeatureSettings,
                     seed: int) -> dict[str, bool]:
    """Whether the bundle (SMART selection, then its classifier) gets each video's class right, by video id.
    Classes are compared by name: the candidate may know classes production does not."""
    from models.bundle import ModelBundle
    from models.selectors import create_strategy
    from training.evaluate import build_scorer, extract_evaluation_features
    from training.scoring import end_to_end

    if not items:
        return {}
    bundle = ModelBundle.load(bundle_dir)
    settings = features.model_copy(update={"num_candidates": bundle.manifest.num_candidates})
    data = extract_evaluation_features(bundle_dir, bundle, items, settings, progress=False)
    scorer = build_scorer(bundle, items, bundle.manifest.num_candidates)
    strategy = create_strategy("smart", bundle.selector_models(), seed)
    predictions = end_to_end(strategy, scorer, data, bundle.manifest.num_frames).predictions
    truth = {item.video_id: item.class_name for item in items}
    return {video: bundle.classes[int(predicted)] == truth[video]
            for video, predicted in zip(data.video_ids, predictions, strict=True)}
