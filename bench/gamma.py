"""`actionstream bench gamma`: stage 2's global scoring (gamma of one window) on every candidate path side by
side in one process, against today's torch fp32 `GlobalSelector.scores`: the speed-up in CPU time (paired turns,
one thread), the share of windows whose top-n picks are torch fp32's (gamma alone, and delta * gamma as stage 2
selects), and the largest |gamma| difference.

The windows are real representations: the bench set's clips through the bundle's encoder, their candidate frames
laid end to end in clip order and cut into windows of the bundle's T at a stride, as a stream's windows cut
across clips. Each window is scored with its index as the partner-draw seed, the same draw for every path.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from bench.encoder import paired_speedup, paired_spread
from models.bundle import ModelBundle
from models.selectors.gamma_path import GammaScorer, OnnxGamma, TorchGamma
from models.selectors.global_selector import GlobalSelector, draw_partners
from training.evaluate import extract_evaluation_features
from training.smart_settings import FeatureSettings
from training.ucf101 import Ucf101Index

BASELINE = "torch_fp32"
WindowScorer = Callable[[np.ndarray, int], np.ndarray]  # (window [T,D], seed) -> gamma [T]


class GammaBenchSettings(BaseModel):
    """How the windows are cut and the paths timed."""

    model_config = ConfigDict(frozen=True)

    stride: int = Field(8, ge=1, description="Frames between the starts of consecutive windows.")
    repeats: int = Field(7, ge=1, description="Paired timing turns (every path once per turn); median ratio.")
    timed_windows: int = Field(32, ge=1, description="Windows each path scores per timing turn.")
    threads: int = Field(1, ge=1, description="Intra-op threads of torch and of each ONNX Runtime session.")


@dataclass(frozen=True)
class Candidate:
    score: WindowScorer
    build_seconds: float  # export and quantisation, paid once per model version when a worker loads it


def cut_windows(clips: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Clips' candidates [N,T,D] laid end to end, cut into windows [W,length,D] starting every `stride` frames."""
    frames = clips.reshape(-1, clips.shape[-1])
    starts = range(0, len(frames) - length + 1, stride)
    return np.stack([frames[start:start + length] for start in starts])


def _partners(length: int, seed: int) -> np.ndarray:
    mask = torch.ones((1, length), dtype=torch.bool)
    return draw_partners(mask, torch.Generator().manual_seed(seed))[0].numpy()


def _with_partners(scorer: GammaScorer) -> WindowScorer:
    return lambda window, seed: scorer(window, _partners(len(window), seed))


def _without_mkldnn(scorer: GammaScorer) -> WindowScorer:
    def score(window: np.ndarray, seed: int) -> np.ndarray:
        # Setting the flags warns that TF32 on oneDNN needs an Intel GPU: nothing to do with this CPU path.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with torch.backends.mkldnn.flags(enabled=False):
                return scorer(window, _partners(len(window), seed))
    return score


def _today(selector: GlobalSelector) -> WindowScorer:
    def score(window: np.ndarray, seed: int) -> np.ndarray:
        frames = torch.from_numpy(window).unsqueeze(0)
        mask = torch.ones(frames.shape[:2], dtype=torch.bool)
        return selector.scores(frames, mask, torch.Generator().manual_seed(seed))[0].numpy()
    return score


def build_candidates(selector: GlobalSelector, threads: int) -> dict[str, Candidate]:
    """Every path, today's first; ONNX Runtime's timed from export to a ready session."""
    candidates = {BASELINE: Candidate(_today(selector), 0.0),
                  "torch_gamma_path": Candidate(_with_partners(TorchGamma(selector)), 0.0),
                  "torch_gamma_path_mkldnn_off": Candidate(_without_mkldnn(TorchGamma(selector)), 0.0)}
    onnx_paths: dict[str, dict[str, Any]] = {
        "onnx_fp32": {"precision": "fp32"},
        "onnx_int8_lstm": {"precision": "int8"},
        "onnx_int8_lstm_matmul": {"precision": "int8", "int8_ops": ("LSTM", "MatMul")},
    }
    for name, options in onnx_paths.items():
        started = time.perf_counter()
        scorer = OnnxGamma(selector, num_threads=threads, **options)
        candidates[name] = Candidate(_with_partners(scorer), time.perf_counter() - started)
    return candidates


def top_sets(scores: np.ndarray, count: int) -> list[frozenset[int]]:
    """The set of the `count` highest-scoring frames of each window [W,T]."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :count]
    return [frozenset(row.tolist()) for row in order]


def paired_cpu_seconds(candidates: dict[str, Candidate], windows: np.ndarray,
                       repeats: int) -> dict[str, list[float]]:
    """CPU seconds per turn over `windows` for each path, the paths taking turns in every repeat."""
    for candidate in candidates.values():
        candidate.score(windows[0], 0)  # warm-up: allocations and lazy initialisation
    seconds: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, candidate in candidates.items():
            started = time.process_time()
            for seed, window in enumerate(windows):
                candidate.score(window, seed)
            seconds[name].append(time.process_time() - started)
    return seconds


def run_gamma_bench(bundle_dir: Path, data_root: Path, cache_dir: Path, settings: GammaBenchSettings) -> dict[str, Any]:
    torch.set_num_threads(settings.threads)
    bundle = ModelBundle.load(bundle_dir)
    models = bundle.selector_models().eval()
    length, budget = bundle.manifest.num_candidates, bundle.manifest.num_frames
    index = Ucf101Index.from_folder(data_root)
    features = FeatureSettings(num_candidates=length, cache_dir=cache_dir,
                               top_k_names=bundle.manifest.architecture.top_k_names)
    clips = extract_evaluation_features(bundle_dir, bundle, index.train + index.test, features)
    windows = cut_windows(clips.representation.astype(np.float32), length, settings.stride)
    with torch.no_grad():
        delta = models.single.scores(torch.from_numpy(windows)).numpy()  # [W,T]
    candidates = build_candidates(models.global_, settings.threads)
    gamma = {name: np.stack([candidate.score(window, seed) for seed, window in enumerate(windows)])
             for name, candidate in candidates.items()}
    reference, reference_picks = gamma[BASELINE], top_sets(delta * gamma[BASELINE], budget)
    reference_gamma_picks = top_sets(reference, budget)
    seconds = paired_cpu_seconds(candidates, windows[:settings.timed_windows], settings.repeats)
    timed = min(settings.timed_windows, len(windows))
    paths = {}
    for name, values in gamma.items():
        paths[name] = {
            "cpu_speedup": round(paired_speedup(seconds, BASELINE, name), 2),
            "cpu_speedup_range": paired_spread(seconds, BASELINE, name),
            "cpu_ms_per_window": round(1000 * float(np.median(seconds[name])) / timed, 2),
            "pick_agreement": round(float(np.mean([ours == theirs for ours, theirs in zip(
                top_sets(delta * values, budget), reference_picks, strict=True)])), 4),
            "gamma_pick_agreement": round(float(np.mean([ours == theirs for ours, theirs in zip(
                top_sets(values, budget), reference_gamma_picks, strict=True)])), 4),
            "gamma_max_abs_diff": float(f"{np.abs(values - reference).max():.3g}"),
            "build_s": round(candidates[name].build_seconds, 2),
        }
    return {"bench": "gamma", "clips": len(clips.labels), "windows": len(windows), "T": length, "n": budget,
            "stride": settings.stride, "threads": settings.threads, "repeats": settings.repeats,
            "timed_windows": timed, "paths": paths}


def format_table(result: dict[str, Any]) -> list[str]:
    """The human-readable lines printed before the JSON line."""
    lines = [f"{result['windows']} windows of T={result['T']} from {result['clips']} clips (stride "
             f"{result['stride']}), picks n={result['n']}; CPU time at {result['threads']} thread(s), median of "
             f"{result['repeats']} paired turns over {result['timed_windows']} windows",
             f"{'path':<28} {'speed-up':>8} {'range':>11} {'ms/window':>9} {'picks':>6} {'gamma picks':>11} "
             f"{'max |d gamma|':>13} {'build s':>7}"]
    for name, path in result["paths"].items():
        low, high = path["cpu_speedup_range"]
        lines.append(f"{name:<28} {path['cpu_speedup']:>7.2f}x {low:>5.2f}-{high:<5.2f} "
                     f"{path['cpu_ms_per_window']:>9.2f} {path['pick_agreement']:>6.3f} "
                     f"{path['gamma_pick_agreement']:>11.3f} {path['gamma_max_abs_diff']:>13.2g} "
                     f"{path['build_s']:>7.1f}")
    lines.append("picks: windows whose top-n of delta * gamma (stage 2's choice) is torch fp32's; gamma picks: the "
                 "same for gamma alone")
    return lines
