"""`actionstream bench ...`: benchmarks that print a table and end with one JSON line."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import typer

bench_app = typer.Typer(help="Benchmarks; each ends with one JSON line.", no_args_is_help=True)


@bench_app.callback()
def _stop_cleanly_on_sigterm() -> None:
    """A plain `kill` stops a bench as Ctrl-C does, through its cleanup: benches start brokers, RTSP servers,
    publishers and workers of their own, and Python's default SIGTERM left them all running."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


FAMILY_HELP = "Synthetic family of the bench set: shapes (first), articulated (second) or mix."
DATA_HELP = ("Synthetic set with truth masks; default var/data/synthetic-bench-FAMILY<classes>[-idle] (named after "
             "the model's classes; the demo's shapes set: var/data/synthetic-bench), generated (unseen seed) when "
             "missing.")


def _bundle_and_bench_data(model: str, tracking_uri: str, data: Path | None, family: str) -> tuple[Path, Path]:
    """The model bundle's folder and the bench set's, the set generated for the bundle's classes when missing."""
    from bench.selection import BenchClassesMismatch, default_bench_dir, ensure_bench_data
    from models.bundle import ModelBundle
    from models.registry import RegistrySettings, resolve_bundle_dir

    bundle_dir = resolve_bundle_dir(model, RegistrySettings(tracking_uri=tracking_uri))
    classes = ModelBundle.load(bundle_dir).classes
    data = data if data is not None else default_bench_dir(family, classes)
    try:
        ensure_bench_data(data, classes, family)
    except BenchClassesMismatch as error:
        raise typer.BadParameter(str(error), param_hint="--data") from None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--family") from None
    return bundle_dir, data


@bench_app.command("selection")
def selection(
    model: str = typer.Option("candidate", "--model", help="Bundle directory, registry alias or models:/ URI."),
    data: Path | None = typer.Option(None, "--data", help=DATA_HELP),
    family: str = typer.Option("shapes", "--family", help=FAMILY_HELP),
    frames: list[int] = typer.Option([2, 8, 4], "--frames", help="Budgets n; the last one is the final JSON line."),
    candidates: int = typer.Option(32, "--candidates", help="T: candidate frames per clip."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
    cache_dir: Path = typer.Option(Path("var/features"), "--cache-dir", help="Feature cache folder."),
    recipe: str = typer.Option("bundle", "--recipe", help="bundle: score --model's strategies; motion-energy: "
                               "train issue 11's mask-free motion CNN (training/motion_energy.py) from scratch per "
                               "--seeds on --train-data, no bundle."),
    seeds: list[int] = typer.Option([0], "--seeds", help="motion-energy: training seeds (repeatable); mean and "
                                    "sample spread over them."),
    train_data: Path | None = typer.Option(None, "--train-data", help="motion-energy: the family's training set "
                                           "(all its clips); default var/data/FAMILY, generated when missing."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="motion-energy: training epochs (default: "
                                      "the recipe's)."),
    picks_per_clip: int | None = typer.Option(None, "--picks-per-clip", min=1, help="motion-energy: candidates of "
                                              "each training clip the CNN trains on, picked by energy, then by "
                                              "self-training (default: the recipe's)."),
    self_training_rounds: int | None = typer.Option(None, "--self-training-rounds", min=0, help="motion-energy: "
                                                    "re-pick and retrain rounds (default: the recipe's; 0: trained "
                                                    "on the energy picks only)."),
    cross_fit_folds: int | None = typer.Option(None, "--cross-fit-folds", min=1, help="motion-energy: each "
                                               "self-training round re-picks a fold's clips with a model trained on "
                                               "the other folds (default: the recipe's; 1: with the model trained "
                                               "on every clip)."),
    energy_threshold: float | None = typer.Option(None, "--energy-threshold", min=0.0, help="motion-energy: "
                                                  "per-pixel threshold of the motion energy, a multiple of the "
                                                  "energy's baseline (default: the recipe's; 0: off)."),
    energy_baseline: str | None = typer.Option(None, "--energy-baseline", help="motion-energy: what the energy "
                                               "threshold multiplies, window (the window's median |difference|) or "
                                               "pixel (each pixel's own median over the window; default: the "
                                               "recipe's)."),
    selector_energy_threshold: float | None = typer.Option(
        None, "--selector-energy-threshold", min=0.0, help="motion-energy: per-pixel threshold of the energy SMART's "
        "selector reads, a multiple of its baseline (default: the recipe's; 0: off)."),
    selector_energy_baseline: str | None = typer.Option(None, "--selector-energy-baseline", help="motion-energy: "
                                                        "what the selector's energy threshold multiplies, window or "
                                                        "pixel (as --energy-baseline; default: the recipe's)."),
    selector_energy_pooling: int | None = typer.Option(None, "--selector-energy-pooling", min=1, help="motion-energy: "
                                                       "side of the blocks the selector's energy averages each "
                                                       "difference map over first (default: the recipe's; 1: none)."),
    selector_energy_measure: str | None = typer.Option(None, "--selector-energy-measure", help="motion-energy: what "
                                                       "the selector's energy adds up, magnitude (the pixels' "
                                                       "|differences| above the threshold) or area (the number of "
                                                       "pixels above it by the noise floor; default: the recipe's)."),
    selector_energy_noise_floor: float | None = typer.Option(
        None, "--selector-energy-noise-floor", min=0.0, help="motion-energy: with the area measure, the margin above "
        "the threshold a pixel needs, a multiple of the window's median |difference| (default: the recipe's)."),
    consensus_power: float | None = typer.Option(None, "--consensus-power", min=0.0, help="motion-energy: each "
                                                 "chosen frame's vote weighs its top probability to this power, in "
                                                 "every strategy (default: the recipe's; 0: the plain mean)."),
    following_differences: int | None = typer.Option(None, "--following-differences", min=0, help="motion-energy: "
                                                     "newest differences of the next candidates appended to each "
                                                     "candidate's input, in every strategy (default: the recipe's; "
                                                     "0: its own stack only)."),
    past_differences: int | None = typer.Option(None, "--past-differences", min=1, help="motion-energy: the "
                                                "candidate's own newest differences in its input, in every "
                                                "strategy (default: the recipe's; at most the stack's 3); with "
                                                "--following-differences the input is centred on the candidate."),
    selector_energy: str | None = typer.Option(None, "--selector-energy", help="motion-energy: the energy SMART's "
                                               "selector adds and reads, newest (the candidate's newest difference, "
                                               "smoothed) or both_sides (the lesser of its own and the next "
                                               "candidate's; needs --following-differences; default: the "
                                               "recipe's)."),
    selector: str | None = typer.Option(None, "--selector", help="motion-energy: SMART's score, confidence (the "
                                        "energy + the head's top probability), evidence (the energy + label "
                                        "evidence learnt on the training clips) or idle (the energy + a second "
                                        "CNN's evidence of an action, trained on idle candidates mined from the "
                                        "training clips; default: the recipe's)."),
    consensus_tuning_epochs: int | None = typer.Option(None, "--consensus-tuning-epochs", min=0, help="motion-"
                                                       "energy: epochs of a last fine-tune on each training clip's "
                                                       "consensus of SMART's n picks (default: the recipe's; 0: "
                                                       "none)."),
    int8: bool = typer.Option(False, "--int8", help="motion-energy: also score each seed's model in ONNX Runtime "
                              "int8 (static QDQ, calibrated on training clips): every strategy's accuracy beside "
                              "fp32, the per-frame top-1 agreement and the CPU speed-up at one thread."),
    shortlist: int = typer.Option(8, "--shortlist", min=1, help="motion-energy: k, the candidates motion energy "
                                  "shortlists for the cascade strategy (SMART on those k: the CNN runs on k of T)."),
    ensemble: bool = typer.Option(False, "--ensemble", help="motion-energy: also every strategy with the seeds' "
                                  "CNNs together as one stronger, costlier classifier (mean probabilities)."),
) -> None:
    """Accuracy, macro-F1, in-burst share and classifier FLOPs of every selection strategy (of --model's bundle,
    or of issue 11's motion path trained per seed with --recipe motion-energy)."""
    from bench.selection import format_table, run_selection_bench

    if recipe == "motion-energy":
        if selector not in (None, "confidence", "evidence", "idle"):
            raise typer.BadParameter("confidence, evidence or idle", param_hint="--selector")
        for baseline, hint in ((energy_baseline, "--energy-baseline"),
                               (selector_energy_baseline, "--selector-energy-baseline")):
            if baseline not in (None, "window", "pixel"):
                raise typer.BadParameter("window or pixel", param_hint=hint)
        if selector_energy_measure not in (None, "magnitude", "area"):
            raise typer.BadParameter("magnitude or area", param_hint="--selector-energy-measure")
        if selector_energy not in (None, "newest", "both_sides"):
            raise typer.BadParameter("newest or both_sides", param_hint="--selector-energy")
        overrides = {name: value for name, value in (("epochs", epochs), ("picks_per_clip", picks_per_clip),
                                                     ("self_training_rounds", self_training_rounds),
                                                     ("cross_fit_folds", cross_fit_folds),
                                                     ("pick_energy_counting", _pixel_counting(
                                                         "pick_energy_counting", threshold=energy_threshold,
                                                         baseline=energy_baseline)),
                                                     ("selector_energy_counting", _pixel_counting(
                                                         "selector_energy_counting",
                                                         threshold=selector_energy_threshold,
                                                         baseline=selector_energy_baseline,
                                                         pooling=selector_energy_pooling,
                                                         measure=selector_energy_measure,
                                                         noise_floor=selector_energy_noise_floor)),
                                                     ("consensus_power", consensus_power),
                                                     ("following_differences", following_differences),
                                                     ("past_differences", past_differences),
                                                     ("selector_energy", selector_energy),
                                                     ("selector", selector),
                                                     ("consensus_tuning", None if consensus_tuning_epochs is None
                                                      else {"epochs": consensus_tuning_epochs}))
                     if value is not None}
        _motion_selection(family, data, train_data, frames, candidates, seeds, overrides, cache_dir, int8,
                          shortlist, ensemble)
        return
    if recipe != "bundle":
        raise typer.BadParameter("bundle or motion-energy", param_hint="--recipe")
    bundle_dir, data = _bundle_and_bench_data(model, tracking_uri, data, family)
    lines = run_selection_bench(bundle_dir, data, frames, candidates, cache_dir)
    for line in lines:
        typer.echo(format_table(line))
    for line in lines:
        typer.echo(json.dumps(line))


def _pixel_counting(field: str, **options: float | str | None) -> dict[str, float | str] | None:
    """The given options over the recipe's own pixel counting `field` (None: none given)."""
    from training.motion_energy import MotionEnergySettings

    given = {name: value for name, value in options.items() if value is not None}
    if not given:
        return None
    return {**getattr(MotionEnergySettings(), field).model_dump(), **given}


def _motion_selection(family: str, data: Path | None, train_data: Path | None, frames: list[int], candidates: int,
                      seeds: list[int], overrides: dict[str, float | str], cache_dir: Path, int8: bool,
                      shortlist: int, ensemble: bool) -> None:
    """`bench selection --recipe motion-energy`: the table per budget, then the JSON lines."""
    from pydantic import ValidationError

    from bench.motion_int8 import MotionInt8BenchSettings
    from bench.selection import BenchClassesMismatch
    from bench.selection_motion import (
        default_training_dir,
        ensure_training_data,
        format_motion_table,
        run_motion_selection_bench,
    )
    from training.motion_energy import MotionEnergySettings

    try:
        settings = MotionEnergySettings(num_candidates=candidates, **overrides)
    except ValidationError as error:  # options that do not go together, in the settings' own words
        raise typer.BadParameter("; ".join(detail["msg"].removeprefix("Value error, ")
                                           for detail in error.errors())) from None
    train_root = ensure_training_data(train_data or default_training_dir(family), family)
    try:
        lines = run_motion_selection_bench(train_root, data, family, frames, sorted(set(seeds)), settings,
                                           cache_dir, int8=MotionInt8BenchSettings() if int8 else None,
                                           shortlist=shortlist, ensemble=ensemble)
    except BenchClassesMismatch as error:
        raise typer.BadParameter(str(error), param_hint="--data") from None
    except ValueError as error:  # the training set's classes are not the family's
        raise typer.BadParameter(str(error), param_hint="--family") from None
    for line in lines:
        typer.echo(format_motion_table(line))
    for line in lines:
        typer.echo(json.dumps(line))


@bench_app.command("encoder")
def encoder(
    model: str = typer.Option("candidate", "--model", help="Bundle directory, registry alias or models:/ URI."),
    data: Path | None = typer.Option(None, "--data", help=f"Evaluation set (all its clips). {DATA_HELP}"),
    family: str = typer.Option("shapes", "--family", help=FAMILY_HELP),
    batch: int = typer.Option(32, "--batch", help="Images per encoder call."),
    repeats: int = typer.Option(7, "--repeats", help="Timed passes over the batch, the backends taking turns."),
    threads: int = typer.Option(0, "--threads", help="Threads per backend; 0 = runtime default."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
    cache_dir: Path = typer.Option(Path("var/features"), "--cache-dir", help="Feature cache folder."),
) -> None:
    """Encoder img/s for torch eager, ONNX Runtime fp32 and int8, with int8 agreement, speed-up and accuracy drop."""
    from bench.encoder import format_report, run_encoder_bench

    bundle_dir, data = _bundle_and_bench_data(model, tracking_uri, data, family)
    result = run_encoder_bench(bundle_dir, data, batch, repeats, threads, cache_dir)
    for line in format_report(result):
        typer.echo(line)
    typer.echo(json.dumps(result))


@bench_app.command("gamma")
def gamma(
    model: str = typer.Option("candidate", "--model", help="Bundle directory, registry alias or models:/ URI."),
    data: Path | None = typer.Option(None, "--data", help=f"Clips the windows are cut from (all of them). {DATA_HELP}"),
    family: str = typer.Option("shapes", "--family", help=FAMILY_HELP),
    stride: int = typer.Option(8, "--stride", min=1, help="Frames between the starts of consecutive windows."),
    repeats: int = typer.Option(7, "--repeats", min=1, help="Paired timing turns, every path once per turn."),
    timed_windows: int = typer.Option(32, "--timed-windows", min=1, help="Windows each path scores per turn."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
    cache_dir: Path = typer.Option(Path("var/features"), "--cache-dir", help="Feature cache folder."),
) -> None:
    """Stage 2's global scoring on every candidate path (torch, ONNX Runtime fp32 and int8) against today's
    torch fp32: CPU speed-up at one thread, top-n pick agreement and the largest gamma difference."""
    from bench.gamma import GammaBenchSettings, format_table, run_gamma_bench

    bundle_dir, data = _bundle_and_bench_data(model, tracking_uri, data, family)
    settings = GammaBenchSettings(stride=stride, repeats=repeats, timed_windows=timed_windows)
    result = run_gamma_bench(bundle_dir, data, cache_dir, settings)
    for line in format_table(result):
        typer.echo(line)
    typer.echo(json.dumps(result))


@bench_app.command("ingest")
def ingest(
    clips: int = typer.Option(2, help="Number of 1080p30 H.264 clips (rendered once, cached)."),
    seconds: float = typer.Option(30.0, help="Length of each clip."),
    sample_fps: float = typer.Option(8.0, help="Adapter sampling rate."),
    repeats: int = typer.Option(3, help="Interleaved decode-only / adapter measurements; medians reported."),
    clip_dir: Path = typer.Option(Path("var/bench/ingest"), help="Where the clips are cached."),
    start_broker: bool = typer.Option(True, help="Start the local broker if it is not running."),
) -> None:
    """Bare PyAV decode-only loop vs the full camera adapter (publishing to the real broker)."""
    from bench.ingest import IngestBenchSettings, run_ingest_bench
    from infra.process import ServiceError
    from infra.services import ensure_broker
    from streams.settings import StreamsSettings

    bootstrap = StreamsSettings().kafka.bootstrap_servers
    try:
        ensure_broker(bootstrap, start=start_broker)
    except ServiceError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    settings = IngestBenchSettings(clips=clips, seconds=seconds, sample_fps=sample_fps, repeats=repeats,
                                   clip_dir=clip_dir)
    result = run_ingest_bench(settings, bootstrap)
    for name, figures in result["runs"].items():  # type: ignore[union-attr]
        typer.echo(f"{name:<30} decode-only {figures['decode_only_fps']:7.1f} fps   "
                   f"adapter {figures['adapter_source_fps']:7.1f} fps   ratio {figures['ratio']:.3f}   "
                   f"adapter CPU {figures['adapter_cpu_ms_per_source_frame']:.2f} ms/frame")
    typer.echo(json.dumps(result))


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@bench_app.command("soak")
def soak(
    runs: int = typer.Option(10, "--runs", help="Kill scenarios to run (kill points spread over the stream)."),
    model: str = typer.Option("production", "--model", help="Bundle directory, registry alias or models:/ URI."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
    work_dir: Path = typer.Option(Path("var/bench/soak"), "--work-dir", help="Worker logs and state, per run."),
) -> None:
    """Two selector workers, one SIGKILLed while frames flow, `runs` times: windows lost, made incomplete by the
    kill, duplicated; frames never scored."""
    from bench.soak import run_soak
    from infra.services import ensure_broker
    from models.registry import RegistrySettings, resolve_bundle_dir
    from streams.settings import StreamsSettings

    bootstrap = StreamsSettings().kafka.bootstrap_servers
    ensure_broker(bootstrap)
    bundle_dir = resolve_bundle_dir(model, RegistrySettings(tracking_uri=tracking_uri))
    for line in run_soak(bootstrap, bundle_dir, runs, work_dir):
        typer.echo(json.dumps(line))


@bench_app.command("pipeline")
def pipeline(
    cameras: list[int] = typer.Option([4, 8, 12], "--cameras", help="Camera counts K to try (repeatable)."),
    seconds: float = typer.Option(45.0, "--seconds", help="Real-time seconds of streaming per K."),
    model: str = typer.Option("production", "--model", help="Bundle directory, registry alias or models:/ URI."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
    backlog: int = typer.Option(1200, "--backlog", help="Frames drained through stage 1 for its efficiency."),
    precision: str = typer.Option("auto", "--precision", help="Encoder precision: fp32, int8 or auto (the "
                                  "workers' default: int8 when the bundle carries it)."),
    stage1_engine: str = typer.Option("", "--stage1-engine", help="Stage 1 of the selector workers: batched or "
                                      "faust; default: the workers' default (stage1.engine)."),
    selector_layout: str = typer.Option("split", "--selector-layout", help="split: stage 1 in a score process and "
                                        "stage 2 in a window process (the Procfile's); one: both in one worker "
                                        "(the Faust stage-1 engine runs only so)."),
    scorers: int = typer.Option(1, "--scorers", min=1, help="split: score processes in the real-time trials, "
                                "one consumer group (stage 1's drain uses one)."),
) -> None:
    """The largest K that holds in real time (processing p99 <= 1 s where a read_committed subscriber sees the
    outcome, no window lost or duplicated, at most 1 % shed, no growing consumer lag), stage-1 efficiency and
    CPU ms per frame per process, with the selector's split by phase."""
    from bench.pipeline import PipelineBenchSettings
    from bench.pipeline_run import run_pipeline_bench
    from models.registry import RegistrySettings, resolve_bundle_dir
    from processors.settings import Stage1Settings

    if stage1_engine not in ("", "batched", "faust"):
        raise typer.BadParameter("batched or faust", param_hint="--stage1-engine")
    if selector_layout not in ("split", "one") or (selector_layout == "split" and stage1_engine == "faust"):
        raise typer.BadParameter("split or one (the Faust stage-1 engine: one)", param_hint="--selector-layout")
    if scorers > 1 and selector_layout != "split":
        raise typer.BadParameter("more than one score process needs --selector-layout split", param_hint="--scorers")
    settings = PipelineBenchSettings(cameras=sorted(cameras), seconds=seconds, backlog_frames=backlog,
                                     precision=precision, stage1_engine=stage1_engine or Stage1Settings().engine,
                                     selector_layout=selector_layout, scorers=scorers)
    for line in run_pipeline_bench(settings, resolve_bundle_dir(model, RegistrySettings(tracking_uri=tracking_uri))):
        typer.echo(line)


@bench_app.command("parity")
def parity(
    model: str = typer.Option("production", "--model", help="Bundle directory, registry alias or models:/ URI."),
    data: Path = typer.Option(Path("var/data/synthetic"), "--data", help="UCF101-layout set: its test split is "
                              "streamed."),
    subset: str = typer.Option("test", "--subset", help="test, or train: a validation stream of clips the model "
                               "was not trained on (a set of another seed) to choose --min-confidence on."),
    cameras: int = typer.Option(3, "--cameras", help="File cameras the test clips are spread over."),
    gap_s: float = typer.Option(4.0, "--gap-s", help="Least seconds of idle scene between clips (each clip "
                                "starts on the window grid)."),
    min_confidence: float | None = typer.Option(None, "--min-confidence", min=0.0, max=1.0, help="The "
                                                "classifier's open-set floor: a window whose top action is less "
                                                "confident is idle (default: the one stored in the bundle; 0: "
                                                "off). Changes the event-level figures, not the agreement."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
) -> None:
    """Live vs offline accuracy: the test split through the whole pipeline, each clip against the window that
    overlaps it most, compared with `actionstream evaluate`'s prediction for it; event-level recall and
    precision of the same stream."""
    from bench.parity import ParitySettings, run_parity
    from infra.services import ensure_broker
    from models.registry import RegistrySettings, resolve_bundle_dir

    if subset not in ("test", "train"):
        raise typer.BadParameter("test or train", param_hint="--subset")
    settings = ParitySettings(data=data, subset="test" if subset == "test" else "train", model=model,
                              cameras=cameras, gap_s=gap_s,
                              min_action_confidence=min_confidence, tracking_uri=tracking_uri)
    ensure_broker(settings.bootstrap_servers)
    result = run_parity(settings, resolve_bundle_dir(model, RegistrySettings(tracking_uri=tracking_uri)))
    for line in result.disagreements:
        typer.echo(f"disagreement {line}")
    typer.echo(result.json_line())


@bench_app.command("rejection")
def rejection(
    model: str = typer.Option("production", "--model", help="Bundle directory, registry alias or models:/ URI."),
    data: Path = typer.Option(..., "--data", help="UCF101-layout set with an idle class, never the test clips "
                              "the floor is judged on."),
    subset: str = typer.Option("train", "--subset", help="train or test split of --data: the validation clips."),
    cache_dir: Path = typer.Option(Path("var/features"), "--cache-dir", help="Feature cache folder."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
) -> None:
    """The open-set rejection on validation clips: clip-level recall and precision of the idle class alone and
    of each confidence floor on the top action; ends with the chosen floor (classifier.min_action_confidence)."""
    from bench.rejection import validation_probabilities
    from models.registry import RegistrySettings, resolve_bundle_dir
    from processors.settings import ClassifierSettings
    from training.rejection import choose_floor, rejection_scores

    bundle_dir = resolve_bundle_dir(model, RegistrySettings(tracking_uri=tracking_uri))
    probabilities, labels, classes = validation_probabilities(bundle_dir, data, subset, cache_dir)
    idle = [index for index, name in enumerate(classes) if name in ClassifierSettings().idle_labels]
    if not idle:
        raise typer.BadParameter(f"the model has no idle class: {classes}", param_hint="--model")
    scores = rejection_scores(probabilities, labels, idle[0])
    for score in scores:
        typer.echo(score.line())
    typer.echo(choose_floor(scores).json_line(clips=len(labels)))


@bench_app.command("stream-floor")
def stream_floor(
    model: str = typer.Option("production", "--model", help="Bundle directory, registry alias or models:/ URI."),
    data: Path = typer.Option(Path("var/data/parity-synth"), "--data", help="UCF101-layout set with synthetic "
                              "truth and an idle class, of another seed than the model's training set."),
    subsets: list[str] = typer.Option(["train", "test"], "--subset", help="Splits of --data whose clips are "
                                      "streamed (repeatable)."),
    orders: int = typer.Option(3, "--orders", min=1, help="Random back-to-back orders of the clips (each makes "
                               "other straddling windows)."),
    cache_dir: Path = typer.Option(Path("var/features"), "--cache-dir", help="Feature cache folder."),
    tracking_uri: str = typer.Option("sqlite:///var/mlflow/mlflow.db", "--tracking-uri", help="MLflow registry URI."),
) -> None:
    """The open-set floor at event level, as training chooses it, on held-out clips laid back to back in several
    orders: each floor's recall and precision (mean and range) and why the missed bursts were missed."""
    from bench.stream_floor import floor_rows, stream_orders, summary_line
    from models.bundle import ModelBundle
    from models.registry import RegistrySettings, resolve_bundle_dir
    from training.config import EvaluationSettings

    if unknown := set(subsets) - {"train", "test"}:
        raise typer.BadParameter(f"train or test, not {sorted(unknown)}", param_hint="--subset")
    bundle_dir = resolve_bundle_dir(model, RegistrySettings(tracking_uri=tracking_uri))
    windows, clips, idle_index = stream_orders(bundle_dir, data, subsets, orders, cache_dir)
    rows = floor_rows(windows, idle_index, EvaluationSettings().floor_burst_candidates)
    for row in rows:
        typer.echo(row.line())
    typer.echo(summary_line(rows, clips, orders, ModelBundle.load(bundle_dir).manifest.min_action_confidence))


@bench_app.command("drift")
def drift(
    windows: int = typer.Option(250, "--windows", help="Monitored windows per unshifted control camera."),
    cameras: int = typer.Option(4, "--cameras", help="Unshifted control cameras."),
    seed: int = typer.Option(0, "--seed", help="Seed of the clips, window draws and permutations."),
    cache_dir: Path = typer.Option(Path("var/bench/drift"), "--cache-dir",
                                   help="Encoder export and encoded clips, reused by later runs."),
) -> None:
    """Shift detection delays, control false alarms (raw and after the policy), label-free estimate error and
    drift CPU per camera window, on synthetic cameras with known shifts."""
    from bench.drift import DriftBenchSettings, run_drift_bench
    from bench.drift_data import ClipCache

    settings = DriftBenchSettings(windows=windows, cameras=cameras, seed=seed)
    result, lines = run_drift_bench(settings, ClipCache(cache_dir, settings.data, seed))
    for line in lines:
        typer.echo(line)
    typer.echo(json.dumps(result))


@bench_app.command("first-windows")
def first_windows_command(
    since: float = typer.Option(..., "--since", help="Epoch seconds: outcomes published from then on (a run's "
                                "start)."),
    windows: int = typer.Option(16, "--windows", min=1, help="Windows to show, in publishing order."),
) -> None:
    """Hops of a run's first windows (ingest, score, select, classify; shed, frames kept of the window's
    candidates), read back from `outcomes` on the running broker; the first round apart from the rest."""
    from actionstream.demo_topics import read_outcomes
    from bench.first_windows import first_windows, summary, table_lines
    from streams.settings import StreamsSettings
    from streams.topics import Topic, topic_name

    kafka = StreamsSettings().kafka
    rows = first_windows(read_outcomes(kafka, topic_name(Topic.OUTCOMES, prefix=kafka.topic_prefix), since), windows)
    if not rows:
        raise typer.BadParameter(f"no window outcome published since {since:.0f}", param_hint="--since")
    typer.echo("\n".join(table_lines(rows)))
    typer.echo(json.dumps(summary(rows)))
