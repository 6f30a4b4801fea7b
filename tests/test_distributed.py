"""Data-parallel training (issue 31): 2 processes on the CPU (gloo) train and evaluate what 1 process
does. Each scenario runs in 2 processes started by ``torch.multiprocessing.spawn`` (each on one
thread); one torchrun test goes through the command line. Small models and 200 8x8 digit crops keep
the file to a few seconds of work per launch.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pixelcnn_edu import cli, data, models, train

TIMEOUT_S = 4  # the launch in which a rank fails: how long the other waits for it
CLI_TRAIN = ["train", "--dataset", "mnist-embedded", "--train-limit", "64", "--epochs", "1", "--batch-size", "32",
             "--hidden", "4", "--n-layers", "1", "--device", "cpu", "--no-progress"]
FIT = dict(epochs=2, batch_size=64, lr=1e-2, seed=3, progress=False)  # 200 crops: 4 batches, the last of 8 images
ROOT = Path(__file__).resolve().parents[1]


def _crops() -> data.ImageDataset:
    """200 binarised 8x8 crops of embedded training digits (as conftest's ``digit_crops``)."""
    digits = data.load_dataset(data.EMBEDDED, "train", levels=2)
    return data.ImageDataset(digits.images[:200, :, 10:18, 10:18].contiguous(), digits.labels[:200], 2, "digit-crops")


def _model(seed: int = 0) -> models.PixelCNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return models.PixelCNN(in_channels=1, levels=2, hidden=8, n_layers=2, kernel_size=3, input_kernel_size=3)


# --- what each rank does ---------------------------------------------------------------------


def _sigterm() -> None:
    signal.raise_signal(signal.SIGTERM)


def _fail() -> None:
    raise RuntimeError("this rank fails")


def _counted(model: models.PixelCNN, at: int | None = None, action: Callable[[], None] = _sigterm) -> dict[str, int]:
    """Count the images ``model.log_prob`` sees in training and in eval mode; with ``at``, run
    ``action`` (SIGTERM) inside the ``at``-th training call."""
    original, seen = model.log_prob, {"train": 0, "eval": 0, "calls": 0}

    def log_prob(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        seen["train" if model.training else "eval"] += x.shape[0]
        seen["calls"] += model.training
        if seen["calls"] == at and model.training:
            action()
        return original(x, y)

    model.log_prob = log_prob  # type: ignore[method-assign]
    return seen


def _fit(rank: int, path: str, stop_at: int | None = None) -> dict[str, Any]:
    """Train with FIT into ``path``; with ``stop_at``, rank 1 alone gets SIGTERM inside its
    ``stop_at``-th training batch."""
    model, crops = _model(), _crops()
    seen = _counted(model, stop_at if rank == 1 else None)
    try:
        history = train.fit(model, crops, crops.subset(40), checkpoint=path, **FIT)
    except train.TrainingInterrupted as stop:
        return {"stopped": (stop.epoch, stop.batch, stop.reason)}
    return {"history": history.as_dict(), "model": model.state_dict(), "seen": seen}


def _evaluate(rank: int) -> dict[str, Any]:
    """Evaluate on 40, 41 (not divisible by 2) and 1 image, averaged and per image; and the number
    of images this rank scored."""
    model, crops = _model(), _crops()
    seen = _counted(model)
    scores = {n: (train.evaluate(model, crops.subset(n), batch_size=16), train.evaluate(model, crops.subset(n), per_image=True))
              for n in (40, 41, 1)}
    return {"scores": scores, "seen": seen["eval"]}


def _errors(rank: int, path: str) -> dict[str, str]:
    """The error each rank raises for a batch that 2 does not divide, and for ranks with different seeds."""
    errors = {}
    for name, changes in (("batch", dict(batch_size=63)), ("seed", dict(seed=rank))):
        try:
            train.fit(_model(), _crops(), checkpoint=path, **{**FIT, **changes})
        except ValueError as err:
            errors[name] = str(err)
    return errors


def _cli_refusal(rank: int, path: str) -> tuple[int, str]:
    """The command line's exit code and stderr when the ranks are given different seeds."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = cli.main([*CLI_TRAIN, "--out", path, "--seed", str(rank)])
    return code, stderr.getvalue()


def _checks_then_fit(rank: int, path: str) -> dict[str, Any]:
    """The errors, the evaluations and the uninterrupted run, in one launch (each launch costs seconds)."""
    return {"errors": _errors(rank, path + ".refused"), "cli": _cli_refusal(rank, path + ".refused"),
            "evaluate": _evaluate(rank), **_fit(rank, path)}


def _stop_resume_fail(rank: int, path: str) -> dict[str, Any]:
    """The run stopped by SIGTERM on rank 1 (with the batch its file holds), the same call again, then
    a run in which rank 1 fails in its second batch: how long rank 0 waited for it, and what it raised."""
    stopped = _fit(rank, path, stop_at=3)
    dist.barrier()  # as if the first command had ended: rank 0's file is written
    stopped["saved_batch"] = train.load_checkpoint(path)["training"]["batch"]
    resumed = _fit(rank, path)
    model, crops = _model(), _crops()
    _counted(model, 2 if rank == 1 else None, _fail)
    start, rank0_done, failed = time.monotonic(), Path(path + ".rank0-done"), None
    try:
        train.fit(model, crops, checkpoint=path + ".failed", **FIT)
    except Exception as err:
        failed = (type(err).__name__, str(err).splitlines()[0], time.monotonic() - start)
    if rank == 0:
        rank0_done.touch()
    while rank == 1 and not rank0_done.exists() and time.monotonic() - start < 60:  # alive, as a hung rank would be
        time.sleep(0.1)
    return {**stopped, "resumed": resumed, "failed": failed}


TASKS = {"checks_then_fit": _checks_then_fit, "stop_resume_fail": _stop_resume_fail}


def _worker(rank: int, world: int, port: int, task: str, out: str, kwargs: dict[str, Any], timeout_s: float) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=timedelta(seconds=timeout_s))
    try:
        torch.save(TASKS[task](rank, **kwargs), Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(task: str, out: Path, timeout_s: float = 60, **kwargs: Any) -> list[Any]:
    """Run ``task`` in 2 processes whose collectives wait ``timeout_s`` at most; what each rank returned."""
    out.mkdir(parents=True, exist_ok=True)
    mp.spawn(_worker, args=(2, _free_port(), task, str(out), kwargs, timeout_s), nprocs=2, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


# --- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The errors, the evaluations and the uninterrupted run in 2 processes: (the run's folder, what
    each rank returned)."""
    folder = tmp_path_factory.mktemp("ddp")
    return folder, _spawn("checks_then_fit", folder / "out", path=str(folder / "run.pt"))


def test_two_processes_train_the_model_one_process_trains(two_processes, tmp_path: Path) -> None:
    folder, ranks = two_processes
    one = _model()
    crops = _crops()
    history = train.fit(one, crops, crops.subset(40), checkpoint=tmp_path / "one.pt", **FIT).as_dict()
    for result in ranks:  # every rank ends with the same weights, equal to one process's up to rounding
        assert _max_difference(result["model"], one.state_dict()) < 1e-5
        for key in ("train_bpd", "test_bpd"):
            assert result["history"][key] == pytest.approx(history[key], abs=1e-6)
    assert all(torch.equal(ranks[0]["model"][k], ranks[1]["model"][k]) for k in ranks[0]["model"])
    # each rank trained on its half of every global batch (64, 64, 64, 8): 100 images an epoch
    assert [r["seen"]["train"] for r in ranks] == [2 * 100, 2 * 100]
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["run.pt"]  # rank 0's file, no temporary left
    saved = train.load_checkpoint(folder / "run.pt")
    assert saved["epoch"] == 2 and saved["step"] == 8
    assert _max_difference(saved["model"], one.state_dict()) < 1e-5


def test_evaluation_in_two_processes_is_the_single_process_figure(two_processes) -> None:
    model, crops = _model(), _crops()
    ranks = two_processes[1]
    assert [r["evaluate"]["seen"] for r in ranks] == [2 * (20 + 21 + 1), 2 * (20 + 20 + 0)]  # each scored its share
    for result in ranks:
        for n, (bpd, per_image) in result["evaluate"]["scores"].items():
            assert per_image.shape == (n,)
            assert torch.equal(per_image, train.evaluate(model, crops.subset(n), per_image=True))
            assert bpd == pytest.approx(train.evaluate(model, crops.subset(n), batch_size=16), abs=1e-6)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The launch of ``_stop_resume_fail`` (collectives wait TIMEOUT_S): (the stopped run's file, what
    each rank returned)."""
    folder = tmp_path_factory.mktemp("stopped")
    return folder / "run.pt", _spawn("stop_resume_fail", folder / "out", timeout_s=TIMEOUT_S, path=str(folder / "run.pt"))


def test_a_sigterm_on_one_rank_stops_both_and_the_same_command_resumes(two_processes, stopped) -> None:
    """Rank 1 alone gets SIGTERM inside batch 3 of epoch 1; both stop after it, one file is saved,
    and the same call again ends with the uninterrupted run's weights and histories, bit for bit."""
    path, ranks = stopped
    assert [r["stopped"][:2] for r in ranks] == [(0, 3), (0, 3)]
    assert ranks[1]["stopped"][2] == "SIGTERM" and ranks[0]["stopped"][2] == "SIGTERM (on another rank)"
    assert [r["saved_batch"] for r in ranks] == [3, 3]
    _, uninterrupted = two_processes
    for r in range(2):
        resumed = ranks[r]["resumed"]
        assert all(torch.equal(resumed["model"][k], uninterrupted[r]["model"][k]) for k in resumed["model"])
        for key in ("train_bpd", "test_bpd"):
            assert resumed["history"][key] == uninterrupted[r]["history"][key]


def test_a_rank_that_fails_makes_the_other_fail_within_the_timeout(stopped) -> None:
    """Rank 1 raises in its second batch and stays alive; rank 0, waiting for it in a collective,
    raises after the process group's timeout (instead of waiting for ever) and saves the run after
    its first batch."""
    path, ranks = stopped
    assert ranks[1]["failed"][:2] == ("RuntimeError", "this rank fails")
    kind, message, seconds = ranks[0]["failed"]
    assert "timed out" in message.lower() and TIMEOUT_S * 0.9 < seconds < 4 * TIMEOUT_S, (kind, message, seconds)
    saved = train.load_checkpoint(path.with_name("run.pt.failed"))
    assert (saved["epoch"], saved["training"]["batch"]) == (0, 1)


def test_every_rank_refuses_an_indivisible_batch_and_different_arguments(two_processes) -> None:
    """Both errors come before any training: no checkpoint is written."""
    folder, ranks = two_processes
    assert not (folder / "run.pt.refused").exists()
    for result in ranks:
        assert "batch_size 63 is the global batch and must be divisible by the world size 2" in result["errors"]["batch"]
        assert "ranks were started with different arguments to fit" in result["errors"]["seed"]
    for rank, result in enumerate(ranks):  # the command line, before it loads any data
        code, stderr = result["cli"]
        assert code == 2 and stderr.startswith(f"rank {rank}: error: the 2 ranks were started with different arguments")


def test_torchrun_trains_through_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PIXELCNN_EDU_DIST_TIMEOUT": "60"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}"]
    done = subprocess.run([*torchrun, "-m", "pixelcnn_edu", *CLI_TRAIN, "--out", "run.pt"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("saved run.pt") == 1  # rank 0 alone prints
    assert train.load_checkpoint(tmp_path / "run.pt")["step"] == 2  # 64 images in global batches of 32
