"""`actionstream bench selection --recipe motion-energy` on tiny articulated sets: the wiring from training per
seed to the table and the JSON contract (whether the recipe learns is test_motion_energy's business)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from actionstream.cli import app
from bench.cli import _pixel_counting
from bench.selection_motion import (
    ProbabilityAverage,
    _counting_text,
    in_burst_ceiling,
    learned_selector_scores,
    mean_and_spread,
)
from models.motion_export import (
    MOTION_INT8_ONNX,
    MOTION_ONNX,
    MotionInt8Settings,
    OnnxMotionModel,
    calibration_stacks,
    export_motion_onnx,
    quantize_motion_int8,
)
from training.evidence_selector import evidence_scores, selector_inputs
from training.idle_selector import IdleSelectorSettings
from training.motion_energy import (
    MotionEnergySettings,
    fit_selector,
    recipe_input,
    selector_energy,
    train_on_energy_picks,
)
from training.motion_probe import MotionData
from training.synth import SynthSettings, generate_dataset


def _tiny_set(folder: Path, seed: int) -> Path:
    return generate_dataset(SynthSettings(family="articulated", num_classes=2, clips_per_class=2, groups=2,
                                          width=64, height=48, fps=8.0, seconds=1.5, seed=seed), folder,
                            progress=False)


def test_motion_recipe_reports_each_strategy_over_the_seeds(tmp_path: Path) -> None:
    train, bench = _tiny_set(tmp_path / "train", 7), _tiny_set(tmp_path / "bench", 8)
    arguments = ["bench", "selection", "--recipe", "motion-energy", "--family", "articulated",
                 "--train-data", str(train), "--data", str(bench), "--frames", "2", "--candidates", "6",
                 "--seeds", "0", "--seeds", "1", "--epochs", "1", "--self-training-rounds", "1",
                 "--picks-per-clip", "3", "--cross-fit-folds", "2", "--cache-dir", str(tmp_path / "cache"),
                 "--shortlist", "6", "--consensus-power", "2", "--following-differences", "1",
                 "--past-differences", "2", "--selector-energy", "both_sides",
                 "--selector", "confidence", "--consensus-tuning-epochs", "1"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert (line["recipe"], line["family"], line["T"], line["n"]) == ("motion-energy", "articulated", 6, 2)
    assert line["clips"] == 4 and line["train_clips"] == 4 and line["seeds"] == [0, 1]
    assert line["epochs"] == 1 and line["self_training_rounds"] == 1 and line["cross_fit_folds"] == 2
    assert line["picks_per_clip"] == 3 and line["selector"] == "confidence" and line["consensus_tuning_epochs"] == 1
    assert line["consensus_power"] == 2.0 and line["following_differences"] == 1
    assert line["past_differences"] == 2 and line["selector_energy"] == "both_sides"
    strategies = {"smart", "cascade", "energy", "uniform", "dense"}
    assert set(line["acc"]) == set(line["acc_spread"]) == set(line["in_burst"]) == strategies
    assert all(len(values) == 2 for values in line["acc_per_seed"].values())
    assert line["acc"]["smart"] == pytest.approx(sum(line["acc_per_seed"]["smart"]) / 2, abs=1e-4)
    # a shortlist of all T candidates is SMART itself: the cascade scores its selector as the recipe does
    assert line["shortlist"] == 6 and line["acc_per_seed"]["cascade"] == line["acc_per_seed"]["smart"]
    assert line["in_burst"]["cascade"] == line["in_burst"]["smart"]
    # SMART's confidence runs the CNN on all T, as dense does, and adds the energy; uniform runs it on n
    assert line["window_gflops"]["smart"] >= line["window_gflops"]["dense"] > line["window_gflops"]["uniform"] > 0
    # energy alone picks for the CNN: the differences on all T, the CNN on n only
    assert line["window_gflops"]["dense"] > line["window_gflops"]["energy"] > line["window_gflops"]["uniform"]
    assert "int8" not in line and "ensemble" not in line  # fp32 and one CNN a seed unless asked
    assert set(line["meets_target"]) == {"smart>=0.7", "smart>=uniform+0.3", "smart>=dense+0.3", "in_burst>=0.85"}
    # no strategy's n picks hold more burst candidates than the bench's windows have
    assert all(share <= line["in_burst_ceiling"] + 1e-4 for share in line["in_burst"].values())
    assert line["in_burst_ceiling"] <= 1
    assert f"in_burst ceiling (n picks, the bench's burst candidates): {line['in_burst_ceiling']:.3f}" in result.stdout
    assert "motion-energy recipe, articulated family: T=6 n=2" in result.stdout
    assert "trained on 4 (3 candidates each)" in result.stdout
    assert ("SMART by confidence (both_sides energy, the count of pixels pooled 4x4 above 1.5x their own median by 4x "
            "the window's)") in result.stdout
    assert line["selector_energy_counting"] == {"threshold": 1.5, "baseline": "pixel", "pooling": 4,
                                                "measure": "area", "noise_floor": 4.0}
    assert line["pick_energy_counting"] == {"threshold": 0.0, "baseline": "window", "pooling": 1,
                                            "measure": "magnitude", "noise_floor": 0.0}
    assert "last batch loss" not in result.output  # training's per-epoch lines stay at DEBUG
    # the stacks are cached per clip: a second run reads them back and reports the same figures
    again = CliRunner().invoke(app, arguments)
    assert json.loads(again.stdout.strip().splitlines()[-1])["acc_per_seed"] == line["acc_per_seed"]


def test_int8_is_scored_beside_fp32_on_the_same_models(tmp_path: Path) -> None:
    train, bench = _tiny_set(tmp_path / "train", 7), _tiny_set(tmp_path / "bench", 8)
    result = CliRunner().invoke(app, [
        "bench", "selection", "--recipe", "motion-energy", "--family", "articulated", "--train-data", str(train),
        "--data", str(bench), "--frames", "2", "--candidates", "6", "--seeds", "0", "--seeds", "1", "--epochs", "1",
        "--self-training-rounds", "0", "--cache-dir", str(tmp_path / "cache"), "--int8", "--shortlist", "3",
        "--ensemble", "--energy-threshold", "1", "--energy-baseline", "pixel", "--selector-energy-threshold", "3",
        "--selector-energy-baseline", "window", "--selector-energy-pooling", "2", "--selector-energy-measure",
        "magnitude", "--selector-energy-noise-floor", "0"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["pick_energy_counting"] | {"threshold": 1.0, "baseline": "pixel"} == line["pick_energy_counting"]
    assert line["selector_energy_counting"] == {"threshold": 3.0, "baseline": "window", "pooling": 2,
                                                "measure": "magnitude", "noise_floor": 0.0}
    assert "pixels pooled 2x2 above 3x the window median" in result.stdout
    strategies = {"smart", "cascade", "energy", "uniform", "dense"}
    gflops = line["window_gflops"]
    # the CNN on energy's shortlist of 3 of T=6, then on SMART's 2 of them: between dense and energy alone
    assert line["shortlist"] == 3 and gflops["dense"] > gflops["cascade"] > gflops["energy"]
    # the stronger classifier: both seeds' CNNs together, twice the CNN's FLOPs a frame
    together = line["ensemble"]
    assert together["members"] == 2 and together["cnn_flops_per_frame"] == 2 * line["cnn_flops_per_frame"]
    assert set(together["acc"]) == set(together["in_burst"]) == strategies
    assert together["window_gflops"]["dense"] > line["window_gflops"]["dense"]
    assert together["in_burst"]["energy"] == line["in_burst"]["energy"]  # energy's picks need no classifier
    quantized = line["int8"]
    assert set(quantized["acc"]) == set(quantized["accuracy_drop"]) == strategies
    assert all(len(values) == 2 for values in quantized["acc_per_seed"].values())
    assert quantized["accuracy_drop"]["dense"] == pytest.approx(line["acc"]["dense"] - quantized["acc"]["dense"],
                                                                abs=1e-4)
    assert len(quantized["top1_agreement_per_seed"]) == len(quantized["cpu_speedup_per_seed"]) == 2
    assert 0.0 <= quantized["top1_agreement"] <= 1.0 and quantized["cpu_speedup"] > 0
    low, high = quantized["cpu_speedup_range"]
    assert 0 < low <= min(quantized["cpu_speedup_per_seed"]) <= max(quantized["cpu_speedup_per_seed"]) <= high
    assert quantized["threads"] == 1 and set(quantized["meets_target"]) == {"|smart drop|<=0.01"}
    assert quantized["calibration_percentile"] == 99.999  # the motion CNN's ranges, not the encoder's 99.99
    assert "int8 acc" in result.stdout and "per-frame top-1 agreement with fp32" in result.stdout
    assert "ranges at the 99.999th percentile" in result.stdout
    assert "Quantiz" not in result.output and "exported" not in result.output  # no exporter or quantiser chatter


def test_the_idle_selector_runs_its_cnn_on_every_candidate_and_the_classifier_on_n(tmp_path: Path) -> None:
    train, bench = _tiny_set(tmp_path / "train", 7), _tiny_set(tmp_path / "bench", 8)
    result = CliRunner().invoke(app, [
        "bench", "selection", "--recipe", "motion-energy", "--family", "articulated", "--train-data", str(train),
        "--data", str(bench), "--frames", "2", "--candidates", "6", "--seeds", "0", "--seeds", "1", "--epochs", "1",
        "--self-training-rounds", "0", "--cache-dir", str(tmp_path / "cache"), "--shortlist", "3",
        "--selector", "idle", "--ensemble", "--int8"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["selector"] == "idle" and line["idle_selector"] == IdleSelectorSettings().model_dump()
    assert line["environment"]["torch"] == torch.__version__  # a figure that moves between installs is traced
    selector_cnn = line["selector_cnn_flops_per_frame"]
    assert selector_cnn > line["cnn_flops_per_frame"]  # the same CNN with one output more, idle
    gflops = line["window_gflops"]
    # energy alone: the differences on all T, the classifier on n; SMART adds the selector's CNN on all T=6, the
    # cascade on energy's shortlist of 3
    assert gflops["smart"] - gflops["energy"] == pytest.approx(6 * selector_cnn / 1e9, abs=2e-4)
    assert gflops["cascade"] - gflops["energy"] == pytest.approx(3 * selector_cnn / 1e9, abs=2e-4)
    together = line["ensemble"]["window_gflops"]  # both seeds' selectors and classifiers
    assert together["smart"] - together["energy"] == pytest.approx(2 * 6 * selector_cnn / 1e9, abs=2e-4)
    assert "SMART by idle" in result.stdout and "the idle selector's CNN" in result.stdout
    # in int8 both CNNs are quantised: the selector's agreement with its fp32 self, a seed each
    selector_agreement = line["int8"]["idle_selector_top1_agreement_per_seed"]
    assert len(selector_agreement) == 2 and all(0.0 <= value <= 1.0 for value in selector_agreement)
    assert "int8 idle selector (quantised the same way): its top-1 agreement with fp32 per seed" in result.stdout


def test_an_unknown_selector_is_refused_with_its_choices() -> None:
    result = CliRunner().invoke(app, ["bench", "selection", "--recipe", "motion-energy", "--selector", "attention"])
    assert result.exit_code != 0 and "confidence, evidence or idle" in result.output


def test_selector_energy_choices_and_its_needs_are_refused_with_one_reason() -> None:
    unknown = CliRunner().invoke(app, ["bench", "selection", "--recipe", "motion-energy", "--selector-energy", "x"])
    assert unknown.exit_code != 0 and "newest or both_sides" in unknown.output
    for option in ("--energy-baseline", "--selector-energy-baseline"):
        baseline = CliRunner().invoke(app, ["bench", "selection", "--recipe", "motion-energy", option, "clip"])
        assert baseline.exit_code != 0 and "window or pixel" in baseline.output and option in baseline.output
    measure = CliRunner().invoke(app, ["bench", "selection", "--recipe", "motion-energy", "--selector-energy-measure",
                                       "volume"])
    assert measure.exit_code != 0 and "magnitude or area" in measure.output
    floor = CliRunner().invoke(app, ["bench", "selection", "--recipe", "motion-energy", "--selector-energy-measure",
                                     "magnitude"])
    assert floor.exit_code != 0 and "noise_floor is the area measure's margin" in floor.output
    alone = CliRunner().invoke(app, ["bench", "selection", "--recipe", "motion-energy", "--following-differences",
                                     "0", "--selector-energy", "both_sides"])
    assert alone.exit_code != 0 and "set following_differences to 1 or more" in alone.output
    assert "Traceback" not in alone.output and "pydantic" not in alone.output


def test_an_energy_option_given_alone_keeps_the_other_half_of_the_recipes_counting() -> None:
    """--selector-energy-threshold alone keeps the selector's pixel baseline, --energy-baseline alone the training
    picks' threshold of 0; neither given leaves the recipe's counting as it is."""
    assert _pixel_counting("selector_energy_counting", threshold=3.0, baseline=None) == {
        "threshold": 3.0, "baseline": "pixel", "pooling": 4, "measure": "area", "noise_floor": 4.0}
    assert _pixel_counting("pick_energy_counting", threshold=None, baseline="pixel") == {
        "threshold": 0.0, "baseline": "pixel", "pooling": 1, "measure": "magnitude", "noise_floor": 0.0}
    assert _pixel_counting("selector_energy_counting", threshold=None, measure=None) is None


def test_the_table_header_names_each_pixel_counting() -> None:
    area = {"threshold": 1.5, "baseline": "pixel", "pooling": 4, "measure": "area", "noise_floor": 4.0}
    assert _counting_text(area) == ", the count of pixels pooled 4x4 above 1.5x their own median by 4x the window's"
    assert _counting_text(area | {"threshold": 0.0}) == ", the count of pixels pooled 4x4 above 4x the window's median"
    magnitude = {"threshold": 2.0, "baseline": "window", "pooling": 1, "measure": "magnitude", "noise_floor": 0.0}
    assert _counting_text(magnitude) == ", pixels above 2x the window median"
    assert _counting_text(magnitude | {"threshold": 0.0}) == ""


def test_an_unknown_recipe_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "selection", "--recipe", "nope", "--data", str(tmp_path)])
    assert result.exit_code != 0 and "bundle or motion-energy" in result.output


def test_the_in_burst_ceiling_counts_at_most_n_burst_candidates_a_window() -> None:
    in_burst = np.array([[True, True, True, False, False],  # 3 burst candidates: 2 picks both inside
                         [False, True, False, False, False],  # 1: one of the 2 picks must miss
                         [False, False, False, False, False]])  # none: every pick misses
    assert in_burst_ceiling(in_burst, 2) == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert in_burst_ceiling(in_burst, 1) == pytest.approx(2 / 3)


def test_spread_is_the_sample_standard_deviation() -> None:
    assert mean_and_spread([0.5, 0.7]) == pytest.approx((0.6, 0.1414214))
    assert mean_and_spread([0.4]) == (0.4, 0.0)


def test_the_ensemble_classifies_by_its_members_mean_probabilities() -> None:
    torch.manual_seed(0)
    members = [torch.nn.Linear(4, 3) for _ in range(3)]
    stacks = torch.randn(5, 4)
    expected = torch.stack([torch.softmax(member(stacks), dim=-1) for member in members]).mean(dim=0)
    with torch.no_grad():
        assert torch.allclose(torch.softmax(ProbabilityAverage(members)(stacks), dim=-1), expected, atol=1e-6)


def test_the_int8_smart_reads_the_learned_selector_on_the_int8_cnn_outputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    stacks = rng.normal(0.0, 1.0, (8, 4, 3, 32, 32)).astype(np.float16)
    train = MotionData(stacks[:6], np.ones((6, 4), dtype=bool), np.arange(6) % 2)
    settings = MotionEnergySettings(num_candidates=4, picks_per_clip=2, width=8, epochs=1, batch_size=8,
                                    selector="evidence")
    model = train_on_energy_picks(train, 2, settings)
    selector = fit_selector(model, train, settings)  # fitted once, on the fp32 CNN's training features
    train = recipe_input(train, settings)
    export_motion_onnx(model, tmp_path / MOTION_ONNX, train.stacks.shape[2], 32)
    int8 = OnnxMotionModel(quantize_motion_int8(tmp_path / MOTION_ONNX, tmp_path / MOTION_INT8_ONNX,
                                                calibration_stacks(train.stacks, 16, seed=0), MotionInt8Settings()))
    bench = recipe_input(MotionData(stacks[6:], np.ones((2, 4), dtype=bool), np.arange(2) % 2), settings)
    scores = learned_selector_scores({"fp32": model, "int8": int8}, {"fp32": selector, "int8": selector}, bench,
                                     settings)
    outputs = [int8.features_and_logits(torch.from_numpy(clip).float()) for clip in bench.stacks]
    features = torch.stack([features for features, _ in outputs]).numpy()
    probabilities = torch.stack([torch.softmax(logits, dim=-1) for _, logits in outputs]).numpy()
    energy = selector_energy(bench, settings)
    expected = evidence_scores(selector, selector_inputs(features, probabilities, energy), energy)
    assert torch.allclose(scores["int8"], torch.from_numpy(expected), atol=1e-5)
    finite = torch.isfinite(scores["fp32"])
    assert not torch.allclose(scores["int8"][finite], scores["fp32"][finite], atol=1e-5)  # not fp32's reused
    assert learned_selector_scores({"fp32": model, "int8": int8}, {"fp32": None, "int8": None}, bench,
                                   settings) == {"fp32": None, "int8": None}
