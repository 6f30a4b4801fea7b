"""Training by maximum likelihood, evaluation in bits/dim, and runs that survive interruption.

A run is a small state machine (:class:`TrainingState`): the state changes in one place at the end
of each batch and of each epoch, and a checkpoint is one atomic save of that state. Ctrl-C (SIGINT)
and SIGTERM only set a flag that the loop reads at the next batch boundary; a second Ctrl-C stops at
once, except inside the optimizer step, the end of an epoch and a save, which it never cuts short
(:mod:`pixelcnn_edu.interrupts`). Any other exception saves the last consistent state and is raised
again; a non-finite loss or gradient stops the run without saving it. Resuming checks that the run is
started with the same settings (batch size, seed, training data and its content, the step settings)
and continues after the last finished batch, so an interrupted and resumed run ends with the same
weights, optimizer state and histories as an uninterrupted one. Checkpoint files themselves are
:mod:`pixelcnn_edu.checkpoints`.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel

from .checkpoints import (  # noqa: F401  (re-exported: train.load_model(...) as before)
    bundled_checkpoint,
    check_metadata,
    check_writable,
    export_checkpoint,
    load_checkpoint,
    load_into,
    load_model,
    load_weights,
    save_checkpoint,
)
from . import distributed, recipe
from .checks import check_bool, check_int, check_positive_int, check_positive_number, device_and_dtype
from .data import ImageDataset
from .interrupts import StopRequests
from .likelihoods import bits_per_dim, bits_per_dim_per_image
from .progress import progress_bar


@dataclass
class History:
    """Per-epoch record of a training run."""

    train_bpd: list[float] = field(default_factory=list)
    test_bpd: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return asdict(self)

    def summary(self) -> str:
        """One plain line: epochs, training time, speed and the last test bits/dim."""
        if not self.seconds:
            return "no epoch finished yet"
        line = f"{len(self.seconds)} epochs in {sum(self.seconds):.0f} s ({self.images_per_s[-1]:.0f} images/s)"
        line += f", train bits/dim {self.train_bpd[-1]:.3f}"
        return line + ("" if math.isnan(self.test_bpd[-1]) else f", test bits/dim {self.test_bpd[-1]:.3f}")


def _labels(model: torch.nn.Module, labels: torch.Tensor) -> torch.Tensor | None:
    return labels if getattr(model, "n_classes", None) is not None else None


def check_dataset(name: str, value: Any) -> ImageDataset:
    """Return ``value`` if it is an :class:`ImageDataset` (a bare tensor of images has no levels or labels)."""
    if not isinstance(value, ImageDataset):
        raise TypeError(f"{name} must be a data.ImageDataset (data.load_dataset(...) returns one; wrap a tensor of "
                        f"images with data.ImageDataset(images, labels, levels, name)), got {type(value).__name__}")
    return value


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, dataset: ImageDataset, *, batch_size: int = 256, progress: bool = False, per_image: bool = False
) -> float | torch.Tensor:
    """Negative log-likelihood of ``dataset`` in bits per dimension (eval mode): the average over
    the images, or with ``per_image=True`` each image's own score, (N,) on the CPU. Under torchrun
    each rank scores its share and every rank returns the scores of all (:mod:`distributed`)."""
    check_dataset("dataset", dataset)
    check_positive_int("batch_size", batch_size)
    check_bool("progress", progress)
    check_bool("per_image", per_image)
    if len(dataset) == 0:
        raise ValueError(f"dataset {dataset.name!r} has no images to evaluate")
    (device, dtype), was_training = device_and_dtype(model), model.training
    ranks = distributed.current(device)
    mine = torch.arange(len(dataset)) if ranks is None else ranks.share(torch.arange(len(dataset)))
    first, last = (int(mine[0]), int(mine[-1]) + 1) if len(mine) else (0, 0)
    model.eval()
    scores = []
    try:
        bar = progress and (ranks is None or ranks.is_main)
        for start in progress_bar(range(first, last, batch_size), desc="evaluate", enabled=bar):
            end = min(start + batch_size, last)
            x = dataset.images[start:end].to(device, dtype)
            y = _labels(model, dataset.labels[start:end].to(device))
            scores.append(bits_per_dim_per_image(model.log_prob(x, y)).cpu())
    finally:
        model.train(was_training)
    per = torch.cat(scores) if scores else torch.zeros(0)
    if ranks is not None:
        per = ranks.gather_scores(per, first, len(dataset))
    return per if per_image else per.mean().item()


# --- the state of a run ----------------------------------------------------------------------


@dataclass
class TrainingState:
    """Where a run stands: finished epochs, finished batches of the next epoch, optimizer steps, the
    running sums of the unfinished epoch, the history, and the settings the run was started with
    (``signature``: a resumed run must use the same ones, or its batches would not line up)."""

    signature: dict[str, Any] | None
    epoch: int = 0
    batch: int = 0
    step: int = 0
    seen: int = 0  # images trained on in the unfinished epoch
    loss_sum: float = 0.0  # their bits/dim, summed over images
    seconds: float = 0.0  # training seconds of the unfinished epoch (evaluation not counted)
    history: History = field(default_factory=History)

    def finish_batch(self, images: int, loss_sum: float, seconds: float) -> None:
        """One optimizer step on ``images`` images with summed bits/dim ``loss_sum``."""
        self.batch, self.step, self.seen = self.batch + 1, self.step + 1, self.seen + images
        self.loss_sum, self.seconds = self.loss_sum + loss_sum, self.seconds + seconds

    def finish_epoch(self, test_bpd: float) -> None:
        """Record the epoch in the history and start the next one at its first batch."""
        h = self.history
        h.train_bpd.append(self.loss_sum / max(self.seen, 1))
        h.images_per_s.append(self.seen / self.seconds if self.seconds > 0 else math.nan)
        h.seconds.append(self.seconds)
        h.test_bpd.append(test_bpd)
        self.epoch, self.batch, self.seen, self.loss_sum, self.seconds = self.epoch + 1, 0, 0, 0.0, 0.0

    def training_dict(self) -> dict[str, Any]:
        """The part of a checkpoint that says where inside an epoch the run stands."""
        return dict(batch=self.batch, seen=self.seen, loss_sum=self.loss_sum, seconds=self.seconds, signature=self.signature)

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any]) -> "TrainingState":
        training = state.get("training") or {}
        return cls(
            signature=training.get("signature"), epoch=state["epoch"], batch=int(training.get("batch", 0)), step=state["step"],
            seen=int(training.get("seen", 0)), loss_sum=float(training.get("loss_sum", 0.0)),
            seconds=float(training.get("seconds", 0.0)), history=History(**state["history"]),
        )


SIGNATURE_NAMES = {
    "batch_size": "batch size (--batch-size)",
    "seed": "seed (--seed)",
    "dataset": "dataset (--dataset)",
    "n_train": "number of training images (--train-limit)",
}
# How each step is taken, and what the training images hold: files written before these were
# recorded lack them, and are compared on the settings above only.
SETTING_NAMES = {
    "lr": "learning rate (--lr)",
    "clip_grad": "gradient clipping (--clip-grad)",
    "schedule": "learning-rate schedule (--schedule)",
    "warmup": "warm-up (--warmup)",
    "ema": "EMA decay (--ema)",
    "mixed_precision": "mixed precision (--mixed-precision)",
    "data_hash": "training data whose images and labels hash to",  # data_hash(train): another set of the same name and size
}


def data_hash(dataset: ImageDataset) -> str:
    """The first 16 hex digits of the SHA-256 of the images (as float32) and labels, shapes included:
    tells apart two training sets with the same name and length (about 0.15 s for 60,000 digits)."""
    digest = hashlib.sha256()
    for values in (dataset.images.detach().float(), dataset.labels.detach().long()):
        values = values.cpu().contiguous()
        digest.update(repr(tuple(values.shape)).encode())
        digest.update(values.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()[:16]


def run_signature(train: ImageDataset, batch_size: int, seed: int, **settings: Any) -> dict[str, Any]:
    """The settings that decide which images make up batch b of epoch e, and ``settings`` (the keys of
    ``SETTING_NAMES``), which decide the step taken on it."""
    return {"batch_size": batch_size, "seed": seed, "dataset": train.name, "n_train": len(train), **settings}


def check_signature(stored: dict[str, Any] | None, current: dict[str, Any], path: str | Path, batch: int) -> None:
    """Refuse to resume with other settings, naming the first that differs."""
    if stored is None:
        if batch:
            warnings.warn(f"{path} does not record the settings of its run; resuming at batch {batch} assumes they are the same", stacklevel=3)
        return
    for key, label in {**SIGNATURE_NAMES, **{k: v for k, v in SETTING_NAMES.items() if k in stored}}.items():
        if stored.get(key) != current.get(key):
            raise ValueError(
                f"{path} was trained with {label} {stored.get(key)!r}, this run uses {current.get(key)!r}: resuming would "
                f"not continue the same run. Use the same setting, or start over (resume=False, --restart)"
            )


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped at a batch boundary after Ctrl-C or SIGTERM; the checkpoint (if any) holds
    every finished batch. ``history`` is the run's history so far."""

    def __init__(self, reason: str, checkpoint: Path | None, state: TrainingState) -> None:
        self.reason, self.checkpoint, self.epoch, self.batch, self.history = reason, checkpoint, state.epoch, state.batch, state.history
        where = f"after epoch {state.epoch}, batch {state.batch}"
        saved = f"saved to {checkpoint} {where}; run the same command to resume" if checkpoint else f"stopped {where} (no checkpoint file was given)"
        super().__init__(f"stopped by {reason}: {saved}")


class TrainingDiverged(ValueError):
    """The loss or the gradient of a batch is not finite (NaN or infinite). Its step was not taken and
    nothing after the last save was saved, so the checkpoint keeps the last finite state."""


def _adam_steps(optimizer: torch.optim.Optimizer) -> list[int]:
    """Each parameter's own step counter (0 before its first step): after an error inside the step,
    unchanged counters say that no parameter was updated."""
    states = (optimizer.state.get(p, {}) for group in optimizer.param_groups for p in group["params"])
    return [int(s["step"]) if "step" in s else 0 for s in states]


def _clip_and_check(model: torch.nn.Module, loss: torch.Tensor, clip_grad: float | None, state: TrainingState, lr: float) -> float:
    """Clip the gradient norm to ``clip_grad``; return the batch's bits/dim after checking that it and
    the gradient norm are finite (one synchronisation for both), or raise :class:`TrainingDiverged`."""
    if clip_grad is not None:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    else:
        grads = [p.grad.detach() for p in model.parameters() if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])) if grads else loss.new_zeros(())
    bpd, norm_value = torch.stack([loss.detach().float(), norm.detach().float().to(loss.device)]).tolist()
    if math.isfinite(bpd) and math.isfinite(norm_value):
        return bpd
    what = f"its loss is {bpd}" if not math.isfinite(bpd) else f"its gradient norm is {norm_value}"
    clip = "gradient clipping (clip_grad=1.0, --clip-grad 1)" if clip_grad is None else f"a smaller clip_grad (this run: {clip_grad:g})"
    raise TrainingDiverged(
        f"training diverged in epoch {state.epoch + 1}, batch {state.batch + 1}: {what}, so its step was not taken. "
        f"Try a lower lr (this run: {lr:g}) or {clip}, and start over (resume=False, --restart)"
    )


# --- fit ---------------------------------------------------------------------------------------


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
    checkpoint_every_batches: int | None = None,
    checkpoint_every_seconds: float | None = 300.0,
    schedule: str = "constant",
    warmup: float = 0.0,
    ema: float | None = None,
    mixed_precision: bool = False,
    marginal_bias: bool = False,
) -> History:
    """Train ``model`` by maximum likelihood with Adam, evaluating bits/dim after each epoch.

    Args:
        train, test: datasets whose ``levels`` match the model's (batches take the model's dtype).
        epochs: total epochs (a resumed run continues up to this number).
        clip_grad: clip the gradient norm to this value (None: no clipping).
        checkpoint: file saved after every epoch, every ``checkpoint_every_batches`` batches or
            ``checkpoint_every_seconds`` seconds, on Ctrl-C/SIGTERM and on any error. If it exists
            and ``resume`` is true, training continues from it after its last finished batch; it
            must belong to the same model and run settings (batch size, seed, training data, and the
            step settings lr, clip_grad, schedule, warmup, ema, mixed_precision), or the resume is
            refused by name. A file that already holds ``epochs`` epochs trains nothing and warns.
        seed: seeds the shuffling of epoch e with ``seed + e`` so a resumed run sees the
            same batches as an uninterrupted one.
        metadata: extra plain values stored in the checkpoint (e.g. the command that trained it).
        schedule, warmup: the learning rate rises linearly over the first ``warmup`` fraction of
            all ``epochs`` and then stays at ``lr`` ("constant", the default) or decays to 0 along
            a cosine ("cosine"); :mod:`recipe` gives the measurements.
        progress: show a bar per epoch and, at the end, print one line with ``History.summary()``.
        ema: keep an exponential moving average of the weights with this decay (e.g. 0.999; None:
            off). The test bits/dim are then the average's, the checkpoint holds both, and when
            ``fit`` returns (or is interrupted) ``model`` holds the averaged weights.
        mixed_precision: run the network's forward and backward passes in bfloat16 under
            :func:`recipe.mixed_precision` (faster where the hardware computes in bfloat16: CPUs
            with AVX-512 BF16 or AMX, recent GPUs; elsewhere not measured, possibly slower). The
            weights, the likelihood, the loss and the test bits/dim stay in float32; :mod:`recipe`
            gives the measurements.
        marginal_bias: first set a categorical model's output bias to the training images' level
            histogram (:func:`recipe.start_at_marginal`; a resumed run then loads its checkpoint).

    Returns the :class:`History` of all epochs so far (including resumed ones). Ctrl-C or SIGTERM
    stops at the next batch boundary and raises :class:`TrainingInterrupted` (a KeyboardInterrupt); a
    second Ctrl-C raises KeyboardInterrupt at once, or right after the optimizer step or save it came
    in, with every finished batch saved. A NaN or infinite loss or gradient raises
    :class:`TrainingDiverged` (a ValueError) before its step, and nothing after the last save is saved.
    An empty test set or a checkpoint path that cannot be written is refused before training.

    Under ``torchrun`` (or in a process group set up by the caller) every rank calls ``fit`` with the
    same arguments and the model on its own device: ``batch_size`` is the global batch, shared
    equally by the ranks (:mod:`distributed`), the result equals one process's up to float rounding,
    and rank 0 alone writes the checkpoint and prints.
    """
    check_dataset("train", train)
    if test is not None:
        check_dataset("test", test)
    for ds in (train, test):
        if ds is not None and ds.levels != model.levels:
            raise ValueError(f"dataset {ds.name!r} has {ds.levels} levels but the model has {model.levels}")
    if len(train) == 0:
        raise ValueError(f"training set {train.name!r} has no images")
    if test is not None and len(test) == 0:
        raise ValueError(f"test set {test.name!r} has no images to evaluate; give test=None to train without one")
    check_int("epochs", epochs, 0)
    check_positive_int("batch_size", batch_size)
    check_int("seed", seed, 0)
    if checkpoint_every_batches is not None:
        check_positive_int("checkpoint_every_batches", checkpoint_every_batches)
    if checkpoint_every_seconds is not None:
        check_positive_number("checkpoint_every_seconds", checkpoint_every_seconds, " (None: no saves by time)")
    check_positive_number("lr", lr)
    if clip_grad is not None:  # 0 would clip every gradient to nothing, a negative norm turns it around
        check_positive_number("clip_grad", clip_grad, " (None: no clipping)")
    check_bool("resume", resume)
    check_bool("progress", progress)
    check_metadata(metadata or {})
    recipe.check_schedule(schedule, warmup)
    check_bool("mixed_precision", mixed_precision)
    check_bool("marginal_bias", marginal_bias)
    path = None if checkpoint is None else check_writable(checkpoint)  # before an epoch of training, not after it
    device, dtype = device_and_dtype(model)
    ranks = distributed.current(device)  # None: one process, as before
    if ranks is not None:
        ranks.check_batch_size(batch_size)
        progress = progress and ranks.is_main
    if marginal_bias:
        recipe.start_at_marginal(model, train.images)  # before the EMA copy; a resumed run loads its weights over it
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    averaged = None if ema is None else recipe.ema_model(model, ema)
    content = {} if path is None else {"data_hash": data_hash(train)}  # only a checkpoint compares it
    state = TrainingState(run_signature(train, batch_size, seed, lr=lr, clip_grad=clip_grad, schedule=schedule, warmup=warmup,
                                        ema=ema, mixed_precision=mixed_precision, **content))
    saved_at: tuple[int, int] | None = None  # (epoch, batch) that the file holds, None: nothing saved yet
    if ranks is not None:  # before anything that one rank could refuse alone
        ranks.check_same("arguments to fit", _arguments(
            state.signature, model, train, test, epochs=epochs, checkpoint=str(path), resume=resume,
            resuming=path is not None and resume and path.exists(), every=checkpoint_every_batches,
            marginal_bias=marginal_bias, metadata=metadata))
    if path is not None and resume and path.exists():
        state = _resume(model, optimizer, path, state.signature, device, averaged)
        saved_at = (state.epoch, state.batch)
        if state.epoch >= epochs:
            warnings.warn(
                f"{path} holds a finished run of {state.epoch} epoch(s) (asked for {epochs}): nothing was trained, and the "
                f"history returned is the stored one. To train again, give another checkpoint path or resume=False "
                f"(--restart); to train longer, ask for more epochs", stacklevel=2)
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] = lr  # the lr argument wins over the one stored in a resumed optimizer
    starts = range(0, len(train), batch_size)
    scheduler = recipe.lr_scheduler(optimizer, epochs * len(starts), schedule=schedule, warmup=warmup, first_step=state.step)
    evaluated = model if averaged is None else averaged.module
    extra = {"dataset": train.name, "image_size": list(train.image_size), **(metadata or {})}
    rng, last_save, save_failed, half_applied = _rng_state(device), time.monotonic(), False, False
    parallel = None  # under torchrun: model.log_prob through DistributedDataParallel
    if ranks is not None:
        ranks.check_same("weights (seed the model's construction alike on every rank; a resumed checkpoint must be "
                         "one file that every rank reads)", _weights_hash(model))
        parallel = ranks.data_parallel(model)  # after the resume: rank 0's weights are broadcast

    def save() -> None:  # the state as of the last batch boundary, with the random state drawn from there on
        nonlocal saved_at, last_save, save_failed
        if path is not None and (ranks is None or ranks.is_main):
            try:
                save_checkpoint(
                    path, model, optimizer=optimizer, training=dict(state.training_dict(), **rng),
                    history=state.history.as_dict(), epoch=state.epoch, step=state.step, ema=averaged, **extra,
                )
            except OSError:  # a full disk, say: not tried again on the way out
                save_failed = True
                raise
        saved_at, last_save = (state.epoch, state.batch), time.monotonic()

    stop = StopRequests()

    def stopping() -> bool:  # under torchrun: whether any rank was asked to stop, so that all stop here
        if ranks is not None:
            stop.reason = ranks.agree_stop(stop.reason)
        return stop.reason is not None

    with stop.installed():  # also around the saves after an error or a stop, which a second Ctrl-C must not cut short
        try:
            for epoch in range(state.epoch, epochs):
                model.train()
                order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed + epoch))
                bar = progress_bar(total=len(starts), initial=state.batch, desc=f"epoch {epoch + 1}/{epochs}", enabled=progress)
                for start in starts[state.batch :]:
                    if stopping():
                        break
                    t0 = time.perf_counter()
                    idx = order[start : start + batch_size]
                    n = len(idx)  # the global batch; under torchrun this rank trains on its share
                    if ranks is not None:
                        idx = ranks.share(idx)
                    x = train.images[idx].to(device, dtype)
                    y = _labels(model, train.labels[idx].to(device))
                    with recipe.mixed_precision(device.type, mixed_precision):
                        log_p = model.log_prob(x, y) if parallel is None else parallel(x, y)
                    if ranks is None:
                        loss = batch_bpd = bits_per_dim(log_p)  # minimising bits/dim = maximising likelihood
                    else:
                        loss, batch_bpd = ranks.batch_loss(bits_per_dim_per_image(log_p), n)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    bpd = _clip_and_check(model, batch_bpd, clip_grad, state, lr)
                    counters = _adam_steps(optimizer)
                    with stop.critical():  # the step reaches every parameter and the average, and is recorded, or none of it
                        try:
                            optimizer.step()
                            if averaged is not None:
                                recipe.update_ema(averaged, model)
                        except BaseException:
                            half_applied = _adam_steps(optimizer) != counters
                            raise
                        state.finish_batch(n, bpd * n, time.perf_counter() - t0)
                        rng = _rng_state(device)
                        scheduler.step()
                    bar.update()
                    bar.set_postfix(bpd=f"{bpd:.4f}")
                    if _due(state, checkpoint_every_batches, checkpoint_every_seconds, last_save):
                        with stop.critical():
                            save()
                bar.close()
                if stopping():
                    break
                test_bpd = evaluate(evaluated, test, batch_size=2 * batch_size) if test is not None else math.nan
                with stop.critical():
                    state.finish_epoch(test_bpd)
                    rng = _rng_state(device)
                    save()
                if stopping():
                    break
        except TrainingDiverged as err:  # nothing is saved: the file keeps the last finite state
            err.args = (f"{err}; {_kept(path, saved_at)}",)
            raise
        except BaseException as err:
            if half_applied:  # an error (not a signal: those wait) inside the step; no state to save
                err.add_note(f"the step of epoch {state.epoch + 1}, batch {state.batch + 1} reached only some parameters "
                             f"when this was raised, so the weights were not saved; {_kept(path, saved_at)}")
            elif (state.epoch, state.batch) != saved_at and not save_failed:
                with stop.critical(then_raise=False):  # raised anyway, right after
                    save()
            raise
        if stop.reason:
            if (state.epoch, state.batch) != saved_at:
                with stop.critical(then_raise=False):  # TrainingInterrupted follows
                    save()
            _use_average(model, averaged)
            raise TrainingInterrupted(stop.reason, path, state)
    _use_average(model, averaged)
    if progress:  # the bars vanish when they close; this line stays, also in a static copy of a notebook
        print(f"trained: {state.history.summary()}")
    return state.history


def _arguments(signature: dict[str, Any], model: torch.nn.Module, train: ImageDataset, test: ImageDataset | None,
               **others: Any) -> tuple[Any, ...]:
    """What every rank of a distributed run must agree on before training: the run's settings, the
    model's class and configuration, both data sets' content, and ``others`` (the other arguments)."""
    config = model.config() if hasattr(model, "config") else None
    tested = None if test is None else (test.name, len(test), data_hash(test))
    return signature, type(model).__name__, config, data_hash(train), tested, sorted(others.items())


def _weights_hash(model: torch.nn.Module) -> str:
    """SHA-256 of the weights (CPU bytes), to compare across ranks after a resume."""
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _kept(path: Path | None, saved_at: tuple[int, int] | None) -> str:
    """What the checkpoint file holds after a stop that saves nothing."""
    if path is None:
        return "no checkpoint file was given"
    if saved_at is None:
        return f"nothing was saved to {path}"
    return f"{path} holds the run after epoch {saved_at[0]}, batch {saved_at[1]}"


def _use_average(model: torch.nn.Module, averaged: AveragedModel | None) -> None:
    if averaged is not None:
        model.load_state_dict(averaged.module.state_dict())


def _due(state: TrainingState, every_batches: int | None, every_seconds: float | None, last_save: float) -> bool:
    """Whether a mid-epoch save is due after the batch just finished."""
    if every_batches is not None and state.batch % every_batches == 0:
        return True
    return every_seconds is not None and time.monotonic() - last_save >= every_seconds


def _resume(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, path: Path, signature: dict[str, Any], device: torch.device,
    averaged: AveragedModel | None,
) -> TrainingState:
    """Load a checkpoint into ``model`` and ``optimizer``; the run's state to continue from."""
    saved = load_checkpoint(path)
    state = TrainingState.from_checkpoint(saved)
    check_signature(state.signature, signature, path, state.batch)
    load_into(model, saved, source=path)
    if "optimizer" in saved:
        optimizer.load_state_dict(saved["optimizer"])
    else:
        warnings.warn(f"{path} holds no optimizer state (an exported checkpoint): Adam starts afresh", stacklevel=3)
    if averaged is not None:
        if "ema" in saved:
            load_weights(averaged.module, saved["ema"]["model"], f"{path} (its EMA weights)")
            averaged.n_averaged.copy_(saved["ema"]["n_averaged"])
        else:
            warnings.warn(f"{path} holds no EMA weights: the average starts from the current weights", stacklevel=3)
    _set_rng_state(saved.get("training") or {}, device)
    state.signature = signature
    return state


def _rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The random-number state that dropout draws from, so a resumed run draws what an
    uninterrupted one would."""
    rng = {"rng": torch.get_rng_state()}
    if device.type == "cuda":
        rng["cuda_rng"] = torch.cuda.get_rng_state(device)
    return rng


def _set_rng_state(training: dict[str, Any], device: torch.device) -> None:
    if isinstance(training.get("rng"), torch.Tensor):
        torch.set_rng_state(training["rng"])
    if device.type == "cuda" and isinstance(training.get("cuda_rng"), torch.Tensor):
        torch.cuda.set_rng_state(training["cuda_rng"], device)
