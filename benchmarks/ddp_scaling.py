"""Data-parallel scaling: training images/s of ``train.fit`` in 1 and 2 CPU processes (gloo) and,
where more than one GPU is present, in 1, 2, 4 ... GPU processes (NCCL).

    python benchmarks/ddp_scaling.py [--train-images 512] [--batch-size 64] [--epochs 2]

Every run trains the quick profile's PixelCNN (hidden 32, 4 layers) on binarised 28x28 digits with
the same global batch; N processes each take batch/N images a step and average their gradients
(:mod:`pixelcnn_edu.distributed`). The figure is ``History.images_per_s`` of the last epoch (training
time only, evaluation and the first epoch's warm-up excluded), as rank 0 measures it. On the CPU each
process runs one thread, as under torchrun (OMP_NUM_THREADS=1): 2 processes use 2 cores where 1 uses
one, and gain only where both cores are free. On a machine whose 2 cores are shared with other work
expect no speed-up (and a single process with 2 threads can be slower still: OpenMP threads that
wait on busy cores).
Prints what it measured; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pixelcnn_edu import data, models, train


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _images_per_s(rank: int, world: int, port: int, device_type: str, args: argparse.Namespace, out: str) -> None:
    """One rank: train as ``args`` say on ``device_type`` (rank r on cuda:r); rank 0 writes images/s to ``out``."""
    torch.set_num_threads(1)
    device = torch.device("cuda", rank) if device_type == "cuda" else torch.device("cpu")
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world,
                                timeout=timedelta(minutes=5))
    try:
        digits = data.load_dataset(data.EMBEDDED, "train", levels=2).subset(args.train_images)
        torch.manual_seed(0)
        model = models.PixelCNN(in_channels=1, levels=2, hidden=32, n_layers=4, kernel_size=3).to(device)
        history = train.fit(model, digits, epochs=args.epochs, batch_size=args.batch_size, progress=False)
        if rank == 0:
            Path(out).write_text(str(history.images_per_s[-1]))
    finally:
        if world > 1:
            dist.destroy_process_group()


def measure(world: int, device_type: str, args: argparse.Namespace) -> float:
    """Training images/s of ``world`` processes (1: this process alone, as a single-process user runs)."""
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "images_per_s")
        if world == 1:
            threads = torch.get_num_threads()
            try:
                _images_per_s(0, 1, 0, device_type, args, out)
            finally:
                torch.set_num_threads(threads)
        else:
            mp.spawn(_images_per_s, args=(world, _free_port(), device_type, args, out), nprocs=world, join=True)
        return float(Path(out).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-images", type=int, default=512, help="training images per epoch (default: 512)")
    parser.add_argument("--batch-size", type=int, default=64, help="global batch (default: 64)")
    parser.add_argument("--epochs", type=int, default=2, help="the last one is measured (default: 2)")
    args = parser.parse_args()
    cores = _cores()
    print(f"PixelCNN hidden 32 x 4 layers, {args.train_images} binarised 28x28 digits, global batch {args.batch_size}, "
          f"{args.epochs} epoch(s); torch {torch.__version__}")
    print(f"CPU, gloo, one thread per process, {cores} cores visible:")
    cpu = {world: measure(world, "cpu", args) for world in (1, 2)}
    for world, ips in cpu.items():
        print(f"  {f'{world} process' + ('es' if world > 1 else '') + ':':13s}{ips:7.0f} images/s  (x{ips / cpu[1]:.2f})")
    if cores <= 2:
        print(f"  on {cores} cores shared with other work no speed-up is expected from 2 processes: the second process "
              f"competes for a busy core and the gradient all-reduce adds to each step; the figures move with the other load")
    gpus = torch.cuda.device_count()
    if gpus > 1:
        worlds = [w for w in (1, 2, 4, 8, 16) if w <= gpus]
        print(f"CUDA, NCCL, {gpus} x {torch.cuda.get_device_name(0)}:")
        gpu = {world: measure(world, "cuda", args) for world in worlds}
        for world, ips in gpu.items():
            print(f"  {f'{world} GPU' + ('s' if world > 1 else '') + ':':9s}{ips:9.0f} images/s  (x{ips / gpu[1]:.2f}, "
                  f"efficiency {ips / gpu[1] / world:.0%})")
    else:
        print(f"CUDA: {gpus} GPU(s) present; the GPU scaling needs at least 2")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
