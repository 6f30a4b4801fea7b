"""Mixed precision only where it pays (issue 28): the recommended run of benchmarks/time_to_quality.py
always trained in bfloat16, measured on a CPU with AVX-512 BF16; on an AMD EPYC with AVX2 only it reached
1.267 bits/dim in 180 s against 1.179 in float32. ``timing.choose_precision`` decides by the hardware's
flags and a short measurement; the decision logic is tested here with faked timings (no timed assertion)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from pixelcnn_edu import models, timing

ROOT = Path(__file__).resolve().parents[1]

X86 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx avx2 fma {extra}\n\n"
       "processor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma {extra}\n")
ARM = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes {extra}\nCPU implementer\t: 0x41\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        (X86.format(extra=""), False),  # AVX2 only: torch converts around every operation
        (X86.format(extra="avx512f avx512bw avx512_vnni"), False),  # AVX-512 without its BF16 extension
        (X86.format(extra="avx512f avx512_bf16"), True),
        (X86.format(extra="amx_tile amx_bf16"), True),
        (ARM.format(extra="bf16 i8mm"), True),
        (ARM.format(extra="sve"), False),
        ("processor\t: 0\nmodel name\t: something\n", None),  # no flags listed: cannot tell
    ],
    ids=["avx2", "avx512-no-bf16", "avx512_bf16", "amx_bf16", "arm-bf16", "arm-no-bf16", "no-flags"],
)
def test_native_bfloat16_reads_the_cpu_flags(text: str, expected: bool | None, tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    assert timing.native_bfloat16("cpu", cpuinfo) is expected


def test_native_bfloat16_cannot_tell_without_the_file_or_on_other_devices(tmp_path: Path) -> None:
    assert timing.native_bfloat16("cpu", tmp_path / "missing") is None  # macOS, Windows
    assert timing.native_bfloat16(torch.device("meta"), tmp_path / "missing") is None


def fake_timings(monkeypatch: pytest.MonkeyPatch, float32: float, bfloat16: float) -> list[torch.nn.Module]:
    """Make a training pass take ``float32`` or ``bfloat16`` seconds; returns the models that were timed."""
    timed: list[torch.nn.Module] = []

    def precision_seconds(model, x, y=None, repeats=5) -> tuple[float, float]:
        timed.append(model)
        return float32, bfloat16

    monkeypatch.setattr(timing, "precision_seconds", precision_seconds)
    return timed


@pytest.mark.parametrize(
    "flags, float32, bfloat16, chosen",
    [
        ("avx512f avx512_bf16", 0.30, 0.20, True),  # native and 1.5x faster
        ("avx512f avx512_bf16", 0.30, 0.28, False),  # native but only 1.07x: not worth 8 significant bits
        ("avx512f avx512_bf16", 0.30, 0.45, False),  # native and slower
        ("", 0.30, 0.20, False),  # AVX2 only: emulated, whatever a noisy measurement says
        (None, 0.30, 0.20, True),  # flags unknown: the measurement decides
        (None, 0.30, 0.40, False),
    ],
)
def test_choose_precision_decides_by_the_flags_and_the_measured_speedup(
    flags: str | None, float32: float, bfloat16: float, chosen: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    if flags is not None:
        cpuinfo.write_text(X86.format(extra=flags))
    timed = fake_timings(monkeypatch, float32, bfloat16)
    model = models.PixelCNN(1, 2, hidden=4, n_layers=1)
    choice = timing.choose_precision(model, torch.zeros(2, 1, 4, 4), cpuinfo=cpuinfo)
    assert len(timed) == 1 and timed[0] is not model  # one measurement, on a copy
    assert choice.bfloat16 is chosen
    assert choice.speedup == pytest.approx(float32 / bfloat16)
    assert choice.native is (None if flags is None else "bf16" in flags)
    assert ("bfloat16:" if chosen else "float32:") in str(choice) and f"{float32 / bfloat16:.2f}x" in str(choice)


def test_the_threshold_is_an_argument(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_timings(monkeypatch, 0.30, 0.28)
    model = models.PixelCNN(1, 2, hidden=4, n_layers=1)
    assert timing.choose_precision(model, torch.zeros(2, 1, 4, 4), min_speedup=1.05, cpuinfo=tmp_path / "none").bfloat16


def test_choose_precision_leaves_the_model_and_the_random_state_alone(make_pixelcnn, make_images) -> None:
    """It times a copy: the caller's weights, gradients, norm statistics, mode and the global generator are
    as they were (the recommended run seeds its training afterwards and must draw the same batches)."""
    model = make_pixelcnn(levels=4, norm="batch").eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    choice = timing.choose_precision(model, make_images(n=4, size=(4, 4), levels=4), repeats=1)
    assert choice.float32_seconds > 0 and choice.bfloat16_seconds > 0 and choice.speedup > 0
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)


def test_step_seconds_can_time_the_network_in_bfloat16(make_pixelcnn, make_images) -> None:
    model = make_pixelcnn(levels=4)
    seen: list[torch.dtype] = []
    model.input_conv.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    x = make_images(n=2, size=(4, 4), levels=4)
    timing.step_seconds(model, x, repeats=1, mixed_precision=True)
    timing.step_seconds(model, x, repeats=1)
    assert seen == [torch.bfloat16] * 2 + [torch.float32] * 2  # warm-up and timed pass in each
    assert all(p.grad is None for p in model.parameters())


def test_precision_seconds_times_the_two_precisions_in_alternation(make_pixelcnn, make_images) -> None:
    """A load that comes and goes on a shared machine falls on both alike: float32, bfloat16, float32, ..."""
    model = make_pixelcnn(levels=4)
    seen: list[torch.dtype] = []
    model.input_conv.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    float32, bfloat16 = timing.precision_seconds(model, make_images(n=2, size=(4, 4), levels=4), repeats=2)
    assert float32 > 0 and bfloat16 > 0
    assert seen == [torch.float32, torch.bfloat16] * 3  # a warm-up round and two timed rounds
    assert all(p.grad is None for p in model.parameters())


def load_benchmark():
    spec = importlib.util.spec_from_file_location("time_to_quality", ROOT / "benchmarks" / "time_to_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("faster", [True, False])
def test_the_recommended_run_trains_in_bfloat16_only_where_the_measurement_says(
    faster: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    benchmark = load_benchmark()
    choice = timing.PrecisionChoice(faster, 1.5 if faster else 0.7, faster, 0.3, 0.2 if faster else 0.43)
    measured: list[tuple] = []
    def choose_precision(model, x, y=None, **kwargs):
        measured.append((model, x.shape))
        return choice

    monkeypatch.setattr(timing, "choose_precision", choose_precision, raising=False)  # the benchmark calls timing.choose_precision
    ran: list[bool] = []
    monkeypatch.setattr(benchmark, "measure", lambda name, kwargs, lr, args: ran.append(args.mixed_precision) or 1.5)
    threads = torch.get_num_threads()
    try:
        monkeypatch.setattr(sys, "argv", ["time_to_quality.py", "--threads", "1"])
        benchmark.main()
        assert len(measured) == 1 and measured[0][1] == (64, 1, 28, 28)  # one batch of the protocol's size
        assert ran == [faster]
        out = capsys.readouterr().out
        assert f"precision: {choice}" in out and ("1.50x" if faster else "0.70x") in out
        # an explicit flag decides without measuring, either way
        for flag, expected in (("--mixed-precision", True), ("--no-mixed-precision", False)):
            measured.clear()
            ran.clear()
            monkeypatch.setattr(sys, "argv", ["time_to_quality.py", "--threads", "1", flag])
            benchmark.main()
            assert measured == [] and ran == [expected]
    finally:
        torch.set_num_threads(threads)
