"""Data-parallel training over several processes: ``torchrun`` and :class:`DistributedDataParallel`.

``torchrun --nproc_per_node=N -m pixelcnn_edu train ...`` starts N processes (ranks) with
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR/PORT`` in their environment. ``train.fit``
and ``train.evaluate`` notice them through :func:`current` (or a process group that the caller has
already set up) and then:

- split each global batch of ``batch_size`` images, drawn from the same seeded permutation as one
  process's, into equal shares (``batch_size`` must be divisible by the world size), so that N
  processes train the model one process trains, up to float rounding;
- scale each rank's loss so that DDP's gradient average is the gradient of the global batch's mean;
- agree at every batch boundary whether a rank got SIGINT/SIGTERM, so every rank stops at the same one;
- evaluate a contiguous share of the test set per rank and add the per-image scores up, so the
  bits/dim are the single-process figure.

Rank 0 alone writes checkpoints and prints. The process group has a timeout, so a rank that fails
makes the others fail in a collective instead of waiting for ever. gloo serves CPU tensors, NCCL
CUDA tensors. Without these variables (or with ``WORLD_SIZE=1``) nothing here is used.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import signal
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

TIMEOUT_ENV_VAR = "PIXELCNN_EDU_DIST_TIMEOUT"  # seconds a rank waits for the others in a collective
DEFAULT_TIMEOUT_S = 600.0


def in_torchrun() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def timeout() -> timedelta:
    """How long a collective waits for a missing rank before it raises (``$PIXELCNN_EDU_DIST_TIMEOUT`` s)."""
    return timedelta(seconds=float(os.environ.get(TIMEOUT_ENV_VAR, DEFAULT_TIMEOUT_S)))


def init_from_env() -> None:
    """Join torchrun's process group if this process is one of several and has not joined yet:
    gloo for CPU tensors and, where CUDA is present, NCCL for CUDA ones (each rank on
    ``cuda:LOCAL_RANK``). The group is destroyed when the process exits."""
    if not in_torchrun() or dist.is_initialized():
        return
    backend = "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backend = "cpu:gloo,cuda:nccl"
    dist.init_process_group(backend, timeout=timeout())
    atexit.register(lambda: dist.is_initialized() and dist.destroy_process_group())


def finish() -> None:
    """End a run that every rank finished: wait for the others, then leave the process group, so that
    no rank tears down its connections while another still uses them (gloo then aborts the process:
    "terminate called without an active exception"). After an error, ``atexit`` leaves the group."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def rank_device(device: torch.device) -> torch.device:
    """The device of this rank: ``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun. An explicit
    index under several ranks would put them all on one GPU, and is refused."""
    if not in_torchrun() or device.type != "cuda":
        return device
    if device.index is not None:
        raise ValueError(f"--device {device} names one GPU for every rank; under torchrun give --device cuda "
                         f"(each rank takes cuda:LOCAL_RANK)")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def is_main_process() -> bool:
    """True in a single process and on rank 0: the process that prints and writes files."""
    return not dist.is_available() or not dist.is_initialized() or dist.get_rank() == 0


@dataclass(frozen=True)
class Group:
    """This process's place in a process group of ``world_size`` > 1 ranks; collectives on ``device``."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def check_batch_size(self, batch_size: int) -> None:
        """Refuse a global batch that the ranks cannot share equally (raised on every rank)."""
        if batch_size % self.world_size:
            raise ValueError(f"batch_size {batch_size} is the global batch and must be divisible by the world size "
                             f"{self.world_size} (the number of processes); give a multiple of {self.world_size}")

    def check_same(self, what: str, value: Any) -> None:
        """Raise the same ValueError on every rank unless every rank passes an equal ``value`` (compared
        through a hash of its repr, gathered from all ranks): ranks started differently would train
        different things, or wait for each other for ever."""
        digest = int.from_bytes(hashlib.sha256(repr(value).encode()).digest()[:7], "big")  # fits an int64
        mine = torch.tensor([digest], dtype=torch.int64, device=self.device)
        every = [torch.empty_like(mine) for _ in range(self.world_size)]
        dist.all_gather(every, mine)
        hashes = [int(h.item()) for h in every]
        if len(set(hashes)) > 1:
            differ = [r for r, h in enumerate(hashes) if h != hashes[0]]
            raise ValueError(f"the {self.world_size} ranks were started with different {what}: rank(s) "
                             f"{', '.join(map(str, differ))} differ from rank 0. Start every rank with the same command")

    def share(self, indices: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous part of a global batch's (or a test set's) ``indices``: equal parts,
        or parts that differ by one where the count is not divisible (the last, short batch)."""
        return indices.tensor_split(self.world_size)[self.rank]

    def data_parallel(self, model: torch.nn.Module) -> Callable[..., torch.Tensor]:
        """``model.log_prob`` through DDP: its parameters are broadcast from rank 0 now, and each
        backward pass averages their gradients over the ranks."""
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(_LogProb(model, self.rank, self.device), device_ids=ids)

    def batch_loss(self, per_image_bpd: torch.Tensor, n_global: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to back-propagate, the global batch's bits/dim): DDP averages the gradients over the
        ranks, so the loss is ``world_size * sum(this rank's bits/dim) / n_global``, whose average is
        the gradient of the global mean even where the shares differ in size."""
        local_sum = per_image_bpd.sum()
        loss = local_sum * (self.world_size / n_global)
        total = local_sum.detach().clone()
        dist.all_reduce(total)
        return loss, total / n_global

    def agree_stop(self, reason: str | None) -> str | None:
        """The stop request of any rank (the highest signal number), so that every rank stops at the
        same batch boundary; ``reason`` where this rank has one."""
        mine = torch.tensor([0 if reason is None else _signal_number(reason)], device=self.device)
        dist.all_reduce(mine, op=dist.ReduceOp.MAX)
        code = int(mine.item())
        return reason or (None if code == 0 else f"{signal.Signals(code).name} (on another rank)")

    def gather_scores(self, mine: torch.Tensor, start: int, total: int) -> torch.Tensor:
        """Every rank's per-image scores in one (total,) tensor: this rank's ``mine`` belong at
        ``start``; a sum of tensors that are zero elsewhere, so each value arrives exactly."""
        every = torch.zeros(total, dtype=mine.dtype, device=self.device)
        every[start : start + len(mine)] = mine.to(self.device)
        dist.all_reduce(every)
        return every.cpu()


def _signal_number(reason: str) -> int:
    try:
        return int(signal.Signals[reason.split()[0]])
    except KeyError:
        return int(signal.SIGTERM)


class _LogProb(torch.nn.Module):
    """DDP synchronises what runs through ``forward``; the models train through ``log_prob``.

    Each rank draws its random numbers (dropout) from a seed of its own: one draw from the random
    state that every rank shares (and a checkpoint stores), plus the rank. Without it, image k of
    every rank's share would get the same dropout mask."""

    def __init__(self, model: torch.nn.Module, rank: int, device: torch.device) -> None:
        super().__init__()
        self.model, self.rank, self.devices = model, rank, [device] if device.type == "cuda" else []

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        seed = int(torch.randint(2**62, ()))  # the same on every rank; the shared state moves on by one draw
        with torch.random.fork_rng(devices=self.devices):
            torch.manual_seed(seed + self.rank)
            return self.model.log_prob(x, y)


def current(device: torch.device) -> Group | None:
    """This process's :class:`Group` for collectives on ``device`` (a model's), joining torchrun's
    group first where needed; None in a single process (no group, or a group of one)."""
    if not dist.is_available():  # a PyTorch build without torch.distributed: always one process
        return None
    init_from_env()
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return None
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return Group(dist.get_rank(), dist.get_world_size(), device if device.type == "cuda" else torch.device("cpu"))
