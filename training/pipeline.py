"""The SMART training order (SMART.md section 7) as one function, `run_training`.

features (cached) -> classifier -> cross-fitted oracle -> single-frame selector -> global selector ->
test evaluation of every strategy -> model bundle (with ONNX fp32/int8 encoders) -> MLflow run and
registry alias. Every step is early-stopped and selected on the end-to-end validation metric.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.backends import create_backend
from models.bundle import DRIFT_PROFILE_DIR, MANIFEST_FILE, Architecture, Manifest, ModelBundle, build_modules
from models.encoder import FrameEncoder
from models.encoder_reuse import int8_digest, reuse_int8_encoder, reuse_or_export_encoder
from models.export import ENCODER_INT8_ONNX, ENCODER_ONNX
from models.preprocessing import Preprocessing
from models.quantization import Int8Settings
from models.registry import register_version
from models.selectors import SelectorModels, create_strategy
from models.text import NAME_TABLE_FILE, load_or_build_name_table
from processors.drift.settings import DriftSettings
from processors.settings import ClassifierSettings
from training.calibration import CalibrationSettings, build_int8_encoder
from training.classifier_training import ClassifierTrainer
from training.config import TrainConfig, save_resolved
from training.curation import CurationReport
from training.drift_profile import build_profile, calibrate, folder_sample
from training.evaluate import StrategyResult, evaluate_strategy
from training.features import FeatureExtractor, FeatureSet, backend_options
from training.metrics import classification_report
from training.oracle import cross_fitted_oracle, no_action_targets
from training.refit import selected_frames_only
from training.rejection import RejectionScore, choose_floor, rejection_scores
from training.scoring import ClipScorer, end_to_end
from training.selector_training import train_global_selector, train_single_selector
from training.stream_validation import choose_stream_floor, synthetic_bursts
from training.ucf101 import Ucf101Index
from training.warm_start import load_warm_start

logger = logging.getLogger(__name__)

REPORTED_STRATEGIES = ("smart", "uniform", "random", "dense", "single", "global")
_GROUP = re.compile(r"_g(\d+)_")


@dataclass(frozen=True)
class TrainingOutcome:
    bundle_dir: Path
    test_results: dict[str, dict[str, Any]]
    primary_metric: str
    seconds: float
    run_id: str | None
    model_version: str | None


def resolve_data_root(config: TrainConfig, progress: bool) -> Path:
    """The configured folder, or the synthetic set (generated on first use)."""
    if config.data.root is not None:
        return config.data.root
    root = config.data.synthetic_dir
    if not (root / "ucfTrainTestlist").exists():
        from training.synth import generate_dataset

        logger.info("generating the synthetic data set in %s", root)
        generate_dataset(config.data.synthetic, root, progress=progress)
    return root


def validation_rows(video_ids: list[str], labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Hold out whole UCF groups (gXX) when there are several, so no scene leaks; else a stratified share."""
    groups = [match.group(1) if (match := _GROUP.search(video_id)) else None for video_id in video_ids]
    distinct = sorted({group for group in groups if group is not None})
    if None not in groups and len(distinct) >= 2:
        count = max(1, round(fraction * len(distinct)))
        held = set(distinct[-count:])
        return np.asarray([row for row, group in enumerate(groups) if group in held], dtype=np.int64)
    rng = np.random.default_rng(seed)
    rows = [rng.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)]
    return np.sort(np.concatenate([part[: max(1, round(fraction * len(part)))] for part in rows]))


def validation_floor(validation: FeatureSet, probabilities: np.ndarray, classes: list[str],
                     stream: StreamFloorInputs | None) -> RejectionScore | None:
    """The open-set floor the bundle carries, chosen on the validation clips: at event level on windows over
    back-to-back clips when their bursts are known (training/stream_validation.py), else per clip; None
    without an idle class."""
    if (idle := idle_class_index(classes)) is None:
        return None
    if stream is None:
        return choose_floor(rejection_scores(probabilities, validation.labels, idle))
    return choose_stream_floor(validation, probabilities, stream.classify, stream.bursts, idle,
                               stream.min_burst_candidates, stream.seed, stream.orders)


def idle_class_index(classes: list[str]) -> int | None:
    """The class that means "no action" (classifier.idle_labels), None without one."""
    return next((index for index, name in enumerate(classes) if name in ClassifierSettings().idle_labels), None)


@dataclass(frozen=True)
class StreamFloorInputs:
    """What the event-level floor choice needs beside the validation clips."""

    classify: Callable[[FeatureSet], np.ndarray]  # a window set -> class probabilities [W,C]
    bursts: list[tuple[int, int] | None]
    min_burst_candidates: int
    seed: int
    orders: int = 1  # random orders of the clips the scores are averaged over


def run_training(
    config: TrainConfig, run_dir: Path, track: bool = True, progress: bool = True, previous: Path | None = None,
    warm_start: bool = False,
) -> TrainingOutcome:
    """`previous`: an earlier bundle (a retrain's production model) whose encoder files are copied when they
    were made from the same encoder, and whose weights start the candidate with `warm_start`
    (training/warm_start.py)."""
    started = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    save_resolved(config, run_dir / "config.yaml")
    bundle_dir = run_dir / "bundle"
    bundle_dir.mkdir(exist_ok=True)
    data_root = resolve_data_root(config, progress)
    index = Ucf101Index.from_folder(data_root, config.data.split)
    num_classes = len(index.classes)
    primary = config.evaluation.resolve_primary_metric(index.class_counts("train"))
    features = config.features
    preprocessing = Preprocessing()

    # Step 1: features of every candidate frame, once, with the frozen encoder.
    previous_manifest = (Manifest.model_validate_json((previous / MANIFEST_FILE).read_text())
                         if previous is not None else None)
    encoder_digest = reuse_or_export_encoder(FrameEncoder(), bundle_dir, preprocessing.image_size, previous,
                                             previous_manifest.encoder_digest if previous_manifest else None)
    name_table = load_or_build_name_table(features.cache_dir / NAME_TABLE_FILE)
    backend = create_backend(features.backend, backend_options(features, bundle_dir))
    extractor = FeatureExtractor(backend, preprocessing, name_table, features, config.curation)
    curation_report = CurationReport(settings=config.curation.model_dump(mode="json"))
    train_all = FeatureSet.stack(extractor.extract(index.train, curation_report, progress, "train features"))
    test = FeatureSet.stack(extractor.extract(index.test, None, progress, "test features"), use_curation=False)
    curation_report.write_json(run_dir / "curation_report.json")
    held_out = validation_rows(train_all.video_ids, train_all.labels, config.selectors.validation_fraction, config.seed)
    train = train_all.subset(np.setdiff1d(np.arange(len(train_all.labels)), held_out))
    # Validation sees every candidate, like evaluation and serving (curation cleans training data only).
    validation = train_all.subset(held_out)
    validation = FeatureSet(validation.video_ids, validation.representation, np.ones_like(validation.mask),
                            validation.labels, validation.frame_indices)
    logger.info("videos: %d train, %d validation, %d test; %d classes; primary metric %s",
                len(train.labels), len(validation.labels), len(test.labels), num_classes, primary)

    architecture = Architecture(
        top_k_names=features.top_k_names, classifier_kind=config.classifier.kind,
        shared_hidden_dim=config.classifier.hidden_dim, shared_dropout=config.classifier.dropout,
        single_hidden_dim=config.selectors.single_hidden_dim, single_dropout=config.selectors.single_dropout,
        global_hidden_dim=config.selectors.global_hidden_dim, global_draws=config.selectors.global_draws,
        global_gamma_input=config.selectors.global_gamma_input,
    )
    warm = load_warm_start(previous, index.classes, architecture) if warm_start and previous is not None else None
    if warm is not None:
        architecture, single, global_ = warm.architecture, warm.single, warm.global_
    else:
        single, global_, _ = build_modules(architecture, num_classes)
    selector_models = SelectorModels(single, global_, architecture.global_draws)
    n = config.selectors.num_frames

    def end_to_end_score(strategy: str, scorer: ClipScorer) -> float:
        models = selector_models if strategy in ("single", "smart") else None
        result = end_to_end(create_strategy(strategy, models, config.seed), scorer, validation, n)
        return float(classification_report(validation.labels, result.predictions, num_classes).metric(primary))

    tracker_context = _tracker(config, track)
    with tracker_context as tracker:
        log_epoch: Callable[[int, dict[str, float]], None] | None = tracker.log_epoch if tracker else None
        if tracker:
            tracker.log_config(config)

        # Step 2: classifier, then the cross-fitted oracle from out-of-fold copies of it.
        trainer = ClassifierTrainer(config, index, preprocessing, num_classes, progress,
                                    warm.classifier if warm is not None else None)
        scorer, classifier_fit = trainer.train(train, lambda s: end_to_end_score("uniform", s), log_epoch)
        oracle = no_action_targets(cross_fitted_oracle(
            train.labels, config.classifier.oracle_folds, config.seed,
            lambda fit_rows, predict_rows: trainer.frame_probabilities(train, fit_rows, predict_rows),
        ), train.labels, idle_class_index(index.classes))
        # Steps 3 and 4: the selectors, each selected on "select n, then classify" on validation.
        single_fit = train_single_selector(single, train, oracle, config.selectors, config.optimizer,
                                           config.scheduler, lambda: end_to_end_score("single", scorer),
                                           log_epoch, config.seed, progress)
        global_fit = train_global_selector(global_, train, config.selectors, config.optimizer, config.scheduler,
                                           lambda: end_to_end_score("smart", scorer), log_epoch, config.seed,
                                           progress)
        refit_score = None
        if config.classifier.refit_on_selected:
            # The loop's next turn: the classifier again, on the frames SMART now picks in each training clip.
            refit_data = selected_frames_only(train, create_strategy("smart", selector_models, config.seed),
                                              config.classifier.refit_frames)
            first_scorer, first_module = scorer, trainer.module
            scorer, refit_fit = trainer.train(refit_data, lambda s: end_to_end_score("smart", s), log_epoch)
            refit_score = refit_fit.best_score
            if refit_score < global_fit.best_score:  # the same validation metric: keep the better classifier
                logger.info("refit classifier kept out: validation %.4f < %.4f", refit_score, global_fit.best_score)
                scorer = first_scorer
                trainer.use(first_module)

        manifest = Manifest(classes=index.classes, architecture=architecture,
                            num_candidates=features.num_candidates, num_frames=n, encoder_digest=encoder_digest)
        bundle = ModelBundle(manifest, preprocessing, name_table, single, global_, trainer.module)
        flops_per_frame = scorer.flops_per_frame()
        results: dict[str, StrategyResult] = {
            name: evaluate_strategy(name, bundle, scorer, test, n, num_classes, config.seed, flops_per_frame)
            for name in REPORTED_STRATEGIES
        }
        test_results = {name: result.summary() for name, result in results.items()}
        smart_report = classification_report(test.labels, results["smart"].predictions, num_classes, index.classes)
        manifest.metrics.update({
            "test_accuracy": smart_report.accuracy, "test_macro_f1": smart_report.macro_f1,
            "val_end_to_end_classifier": classifier_fit.best_score, "val_end_to_end_single": single_fit.best_score,
            "val_end_to_end_smart": global_fit.best_score,
        })
        if refit_score is not None:
            manifest.metrics["val_end_to_end_refit"] = refit_score
        validation_probabilities = end_to_end(create_strategy("smart", selector_models, config.seed), scorer,
                                              validation, n).probabilities
        bursts = synthetic_bursts(data_root, validation.video_ids)
        stream = None if bursts is None or config.classifier.kind != "shared" else StreamFloorInputs(
            lambda windows: end_to_end(create_strategy("smart", selector_models, config.seed), scorer, windows,
                                       n).probabilities,
            bursts, config.evaluation.floor_burst_candidates, config.seed, config.evaluation.floor_orders)
        if (floor := validation_floor(validation, validation_probabilities, index.classes, stream)) is not None:
            manifest.min_action_confidence = floor.floor
            manifest.metrics.update({"val_floor_recall": floor.recall,
                                     "val_floor_precision": floor.precision})
            logger.info("open-set floor %.2f chosen on validation (%s)", floor.floor, floor.line())
        # build_int8_encoder's recipe: its default settings, the configured frame count and seed. A matching
        # int8 copy of the previous bundle is carried over even where none is built: it costs nothing, and the
        # candidate then serves at production's speed.
        int8_key = int8_digest(encoder_digest, Int8Settings(), CalibrationSettings(),
                               f"{features.calibration_frames}|{config.seed}")
        if reuse_int8_encoder(previous, previous_manifest, int8_key, bundle_dir):
            manifest.encoder_int8_digest = int8_key
            logger.info("int8 frame encoder reused from %s (same encoder and recipe)", previous)
        elif features.int8_encoder:
            build_int8_encoder(bundle_dir / ENCODER_ONNX, bundle_dir / ENCODER_INT8_ONNX, preprocessing,
                               index.train, features, config.seed)
            manifest.encoder_int8_digest = int8_key
        bundle.save(bundle_dir)
        # The drift job's training profile: validation frames and windows, and the calibration they fit.
        drift = DriftSettings()
        drift_sample = folder_sample(validation, index.train, validation_probabilities, index.classes, single,
                                     preprocessing.image_size, drift)
        build_profile("training", f"training:{run_dir.name}", drift_sample, drift,
                      calibrate(validation_probabilities, validation.labels)).save(bundle_dir / DRIFT_PROFILE_DIR)
        seconds = time.perf_counter() - started
        version = None
        if tracker:
            tracker.log_metrics({f"test/{name}/{key}": value for name, summary in test_results.items()
                                 for key, value in summary.items() if isinstance(value, float)})
            tracker.log_metrics({"training_seconds": seconds})
            tracker.log_dict(curation_report.to_dict(), "curation_report.json")
            tracker.log_dict(test_results, "test_results.json")
            tracker.log_training_curves()
            tracker.log_confusion_matrix(smart_report.confusion, index.classes)
            tracker.log_dir(bundle_dir, "bundle")
            version = register_version(config.tracking, tracker.artifact_uri("bundle"), tracker.run_id)
        run_id = tracker.run_id if tracker else None
    logger.info("training finished in %.1f s; test %s", seconds, test_results["smart"])
    return TrainingOutcome(bundle_dir, test_results, primary, seconds, run_id, version)


class _NoTracking:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


def _tracker(config: TrainConfig, track: bool) -> Any:
    if not track:
        return _NoTracking()
    from training.tracking import Tracker

    return Tracker(config.tracking, run_name="smart-train")
