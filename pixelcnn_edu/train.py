"""Training, evaluation in bits/dim, and checkpoints that survive interruption.

A checkpoint is a plain dict of tensors and Python values (model name and constructor
config, state dicts, epoch, history), written to a temporary file and renamed into place,
so a crash or Ctrl-C mid-save never corrupts the last good checkpoint. It loads with
``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from . import models
from .data import ImageDataset
from .likelihoods import bits_per_dim, bits_per_dim_per_image

CHECKPOINT_FORMAT = "pixelcnn_edu/1"
BUNDLED_DIR = Path(__file__).parent / "checkpoints"


@dataclass
class History:
    """Per-epoch record of a training run."""

    train_bpd: list[float] = field(default_factory=list)
    test_bpd: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return asdict(self)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _labels(model: torch.nn.Module, labels: torch.Tensor) -> torch.Tensor | None:
    return labels if getattr(model, "n_classes", None) is not None else None


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, dataset: ImageDataset, *, batch_size: int = 256, progress: bool = False, per_image: bool = False
) -> float | torch.Tensor:
    """Negative log-likelihood of ``dataset`` in bits per dimension (eval mode): the average over
    the images, or with ``per_image=True`` each image's own score, (N,) on the CPU."""
    device, was_training = _device(model), model.training
    model.eval()
    scores = []
    try:
        for start in tqdm(range(0, len(dataset), batch_size), desc="evaluate", disable=not progress, leave=False):
            x = dataset.images[start : start + batch_size].to(device)
            y = _labels(model, dataset.labels[start : start + batch_size].to(device))
            scores.append(bits_per_dim_per_image(model.log_prob(x, y)).cpu())
    finally:
        model.train(was_training)
    per = torch.cat(scores)
    return per if per_image else per.mean().item()


def fit(
    model: torch.nn.Module,
    train: ImageDataset,
    test: ImageDataset | None = None,
    *,
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 1e-3,
    clip_grad: float | None = 1.0,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    seed: int = 0,
    progress: bool = True,
    metadata: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` by maximum likelihood with Adam, evaluating bits/dim after each epoch.

    Args:
        train, test: datasets whose ``levels`` match the model's.
        epochs: total epochs (a resumed run continues up to this number).
        clip_grad: clip the gradient norm to this value (None: no clipping).
        checkpoint: file saved after every epoch and on Ctrl-C (mid-epoch, with the position in
            the epoch); if it exists and ``resume`` is true, training continues from it (it must
            belong to the same model), after the last finished batch.
        seed: seeds the shuffling of epoch e with ``seed + e`` so a resumed run sees the
            same batches as an uninterrupted one.
        metadata: extra plain values stored in the checkpoint (e.g. the command that trained it).

    Returns the :class:`History` of all epochs so far (including resumed ones).
    """
    for ds in (train, test):
        if ds is not None and ds.levels != model.levels:
            raise ValueError(f"dataset {ds.name!r} has {ds.levels} levels but the model has {model.levels}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    device = _device(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history, start_epoch, step, in_epoch = History(), 0, 0, None
    if checkpoint is not None and resume and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        load_into(model, state)
        optimizer.load_state_dict(state["optimizer"])
        history = History(**state["history"])
        start_epoch, step, in_epoch = state["epoch"], state["step"], state.get("in_epoch")
    for group in optimizer.param_groups:
        group["lr"] = lr  # the lr argument wins over the one stored in a resumed optimizer

    def save(progress_in_epoch: dict[str, float] | None = None) -> None:
        if checkpoint is not None:
            save_checkpoint(
                checkpoint, model, optimizer=optimizer, epoch=epoch_done, step=step, history=history.as_dict(),
                in_epoch=progress_in_epoch, dataset=train.name, image_size=list(train.image_size), **(metadata or {}),
            )

    epoch_done, batches_done, seen, total, elapsed, t0 = start_epoch, 0, 0, 0.0, 0.0, time.perf_counter()
    try:
        for epoch in range(start_epoch, epochs):
            model.train()
            # An epoch interrupted by Ctrl-C resumes after its last finished batch.
            resumed = in_epoch if (epoch == start_epoch and in_epoch) else {}
            batches_done = int(resumed.get("batches", 0))
            seen, total, elapsed = int(resumed.get("seen", 0)), resumed.get("total", 0.0), resumed.get("seconds", 0.0)
            order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed + epoch))
            starts = range(0, len(train), batch_size)
            bar = tqdm(total=len(starts), initial=batches_done, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False)
            t0 = time.perf_counter()
            for start in starts[batches_done:]:
                idx = order[start : start + batch_size]
                x = train.images[idx].to(device)
                y = _labels(model, train.labels[idx].to(device))
                loss = bits_per_dim(model.log_prob(x, y))  # minimising bits/dim = maximising likelihood
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if clip_grad is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                optimizer.step()
                step += 1
                batches_done += 1
                seen += x.shape[0]
                total += loss.item() * x.shape[0]
                bar.update()
                bar.set_postfix(bpd=f"{loss.item():.4f}")
            bar.close()
            seconds = elapsed + time.perf_counter() - t0
            history.train_bpd.append(total / max(seen, 1))
            history.images_per_s.append(seen / seconds)
            history.seconds.append(seconds)
            history.test_bpd.append(evaluate(model, test, batch_size=2 * batch_size) if test is not None else math.nan)
            epoch_done = epoch + 1
            save()
    except KeyboardInterrupt:
        # Keep every finished batch: the checkpoint records where in the epoch we stopped.
        save({"batches": batches_done, "seen": seen, "total": total, "seconds": elapsed + time.perf_counter() - t0})
        raise
    return history


def save_checkpoint(path: str | Path, model: torch.nn.Module, **extra: Any) -> Path:
    """Write ``{"model": state_dict, "name", "config", **extra}`` atomically to ``path``.

    ``extra`` may hold an ``optimizer`` (its state dict is stored) and plain Python values.
    """
    path = Path(path)
    state: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "name": models.model_name(model),
        "config": model.config(),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    for key, value in extra.items():
        state[key] = value.state_dict() if isinstance(value, torch.optim.Optimizer) else value
    return _atomic_save(state, path)


def _atomic_save(state: dict[str, Any], path: Path) -> Path:
    """torch.save to a temporary file, then rename: an interrupted save never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)  # atomic on POSIX and Windows: the old file stays until this line
    finally:
        tmp.unlink(missing_ok=True)
    return path


def export_checkpoint(path: str | Path, destination: str | Path) -> Path:
    """Copy a finished checkpoint without its optimizer state (a third of the size), e.g. to ship it.

    The model, its configuration, the history and the training command are kept, so the copy loads
    with ``load_model`` and says how it was made; resuming training needs the original.
    """
    state = load_checkpoint(path)
    if state.get("in_epoch") is not None:
        raise ValueError(f"{path} was saved in the middle of an epoch; finish the run before exporting it")
    state.pop("optimizer", None)
    return _atomic_save(state, Path(destination))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint dict safely (``weights_only=True``), with clear errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{path} is not a readable checkpoint (corrupt or truncated?): {err}") from err
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a pixelcnn_edu checkpoint (expected format {CHECKPOINT_FORMAT!r})")
    return state


def load_into(model: torch.nn.Module, state: dict[str, Any] | str | Path) -> dict[str, Any]:
    """Load a checkpoint into an existing model after checking that it belongs to it."""
    if not isinstance(state, dict):
        state = load_checkpoint(state)
    name, config = models.model_name(model), model.config()
    if state["name"] != name or state["config"] != config:
        diff = {k: (state["config"].get(k), v) for k, v in config.items() if state["config"].get(k) != v}
        raise ValueError(
            f"checkpoint belongs to another model: it holds a {state['name']!r} with a different configuration "
            f"(checkpoint vs model: {diff or state['config']}), this model is a {name!r}"
        )
    model.load_state_dict(state["model"])
    return state


def load_model(path: str | Path) -> tuple[models.AutoregressiveModel, dict[str, Any]]:
    """Rebuild the model saved in a checkpoint; returns ``(model, checkpoint_dict)`` (model on CPU, eval mode)."""
    state = load_checkpoint(path)
    model = models.from_config(state["name"], state["config"])
    model.load_state_dict(state["model"])
    return model.eval(), state


def bundled_checkpoint(name: str) -> Path:
    """Path of a checkpoint shipped with the package (e.g. ``"pixelcnn_mnist"``)."""
    path = BUNDLED_DIR / f"{name}.pt"
    if not path.is_file():
        known = sorted(p.stem for p in BUNDLED_DIR.glob("*.pt"))
        raise FileNotFoundError(f"no bundled checkpoint {name!r}; bundled: {known}")
    return path
