"""Checkpoints: one schema, written atomically, checked when read, migrated from older formats.

A checkpoint is a dict saved with ``torch.save`` that ``torch.load(..., weights_only=True)`` reads:

    format      "pixelcnn_edu/2"
    name        the model's registry name (``models.MODELS``)
    config      its constructor arguments, normalised: every argument, defaults filled in
    model       its state dict (CPU tensors; masks are rebuilt, never stored)
    epoch, step finished epochs and optimizer steps
    history     per-epoch lists: train_bpd, test_bpd, images_per_s, seconds
    versions    {"pixelcnn_edu": ..., "torch": ...} that wrote the file
    training    where a run stands inside an epoch and the settings it was started with
                (``train.TrainingState``; absent in files that no run wrote)
    optimizer   Adam's state dict (absent in an exported file)
    ema         optional: {"decay", "model", "n_averaged"}, the averaged weights of a run with EMA
                (``load_model`` returns them; resuming continues both)
    ...         plain metadata next to these keys: command, profile, dataset, image_size ...

The files shipped with the package live in its folder ``checkpoints/``, found through
:mod:`importlib.resources`. Format 1 files (before the schema) are migrated when read, so they load,
resume and fine-tune. Every error a file can cause (missing, corrupt, unsafe, foreign, not fitting
its model, a full disk while writing) is a one-line ValueError or OSError naming the file.
"""

from __future__ import annotations

import importlib.resources
import os
import pickle
import re
import secrets
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel

from . import __version__, models

FORMAT = "pixelcnn_edu/2"
OLD_FORMATS = ("pixelcnn_edu/1",)
REQUIRED = {"format": str, "name": str, "config": dict, "model": dict, "epoch": int, "step": int, "history": dict, "versions": dict}
SCHEMA_KEYS = frozenset(REQUIRED) | {"training", "optimizer", "ema"}


def _bundled_folder() -> Any:
    """The package's folder of shipped checkpoints, as importlib.resources finds it (a Traversable)."""
    return importlib.resources.files("pixelcnn_edu") / "checkpoints"


BUNDLED_DIR = Path(str(_bundled_folder()))  # for listing; bundled_checkpoint asks importlib.resources each time


def check_metadata(metadata: dict[str, Any]) -> None:
    """Raise a ValueError (before anything is written) for metadata that a checkpoint cannot hold:
    a key of the schema, or a value ``torch.load(weights_only=True)`` would refuse to read back."""
    for key, value in metadata.items():
        if key in SCHEMA_KEYS or key == "format":
            raise ValueError(f"metadata key {key!r} is a checkpoint field of its own; choose another name")
        _check_plain(value, f"metadata[{key!r}]")


def _check_plain(value: Any, where: str) -> None:
    if type(value) in (type(None), bool, int, float, str) or isinstance(value, torch.Tensor):
        return  # exact types: a numpy float is a float subclass that weights_only refuses
    if type(value) in (list, tuple):
        for k, item in enumerate(value):
            _check_plain(item, f"{where}[{k}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise ValueError(f"{where} has a key of type {type(key).__name__}; use str keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    hint = {"PosixPath": "str(path)", "WindowsPath": "str(path)"}.get(type(value).__name__, "int(...), float(...), str(...) or a tensor")
    raise ValueError(
        f"{where} is a {type(value).__module__}.{type(value).__name__}, which torch.load(weights_only=True) "
        f"cannot read back; store {hint} instead"
    )


def normalized_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with every constructor argument, as the model built from it reports it (so a
    config written before an argument existed compares equal to one that spells out its default)."""
    try:
        return models.from_config(name, config).config()
    except TypeError as err:
        raise ValueError(f"the stored configuration of a {name!r} model does not fit its constructor: {err}") from err


def config_difference(stored: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{key: (stored value, current value)} for every key whose values differ."""
    return {k: (stored.get(k), current.get(k)) for k in sorted(set(stored) | set(current)) if stored.get(k) != current.get(k)}


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    training: dict[str, Any] | None = None,
    history: dict[str, list[float]] | None = None,
    epoch: int = 0,
    step: int = 0,
    ema: AveragedModel | None = None,
    **metadata: Any,
) -> Path:
    """Write ``model`` and what a run knows about it to ``path`` atomically; returns the path.

    ``ema``: the run's averaged copy (:func:`recipe.ema_model`), stored next to the raw weights.
    ``metadata`` holds plain values (str, numbers, bools, None, tensors, lists and dicts of them),
    checked before anything is written.
    """
    check_metadata(metadata)
    state: dict[str, Any] = {
        "format": FORMAT,
        "name": models.model_name(model),
        "config": model.config(),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "epoch": epoch,
        "step": step,
        "history": history if history is not None else {"train_bpd": [], "test_bpd": [], "images_per_s": [], "seconds": []},
        "versions": {"pixelcnn_edu": __version__, "torch": str(torch.__version__)},  # TorchVersion is a str subclass
        **metadata,
    }
    if training is not None:
        state["training"] = training
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if ema is not None:
        state["ema"] = {
            "decay": float(ema.decay), "n_averaged": ema.n_averaged.detach().cpu(),
            "model": {k: v.detach().cpu() for k, v in ema.module.state_dict().items()},
        }
    return _atomic_save(state, Path(path))


def check_writable(path: str | Path) -> Path:
    """``path`` as a Path if a checkpoint can be written there (missing folders above it are created
    when saving); otherwise an OSError naming what is in the way, before any training."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a checkpoint file name such as {path / 'model.pt'}")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(f"the checkpoint {path} cannot be written: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"the checkpoint {path} cannot be written: no permission to write in {folder}")
    return path


def _atomic_save(state: dict[str, Any], path: Path) -> Path:
    """torch.save to a temporary file of its own in the same folder, then rename: an interrupted or
    failed save never leaves half a file, and two runs writing one path never share a temporary file."""
    check_writable(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)  # mode as open() gives
        with os.fdopen(fd, "wb") as f:  # through Python, a full disk is mostly an OSError (ENOSPC)
            try:
                torch.save(state, f)
            except RuntimeError as err:  # torch's writer: "[enforce fail at inline_container.cc:...] unexpected pos ..."
                raise OSError(f"writing failed, is the disk full? ({_first_line(err)})") from None
        os.replace(tmp, path)  # atomic on POSIX and Windows: the old file stays until this line
    except OSError as err:
        kept = "the file there is unchanged" if path.exists() else "nothing was written"
        error = type(err)(f"could not save the checkpoint {path}: {err.strerror or err}; {kept}")
        error.errno = err.errno
        raise error from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``): check every byte against the archive's CRCs,
    migrate an older format, check the schema. Clear errors for missing, corrupt or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()  # reads every record and compares its CRC-32
    except Exception as err:  # BadZipFile, OSError, NotImplementedError (an unknown compression), zlib.error ...
        raise ValueError(f"{path} is not a readable checkpoint (corrupt or truncated?): {_first_line(err)}") from err
    if damaged is not None:
        raise ValueError(f"{path} is not a readable checkpoint (corrupt: the bytes of {damaged!r} fail their CRC check)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # torch's message goes on to suggest the unsafe load: never pass that on
        found = re.search(r"GLOBAL ([\w.]+)", str(err))
        what = f"it asks for {found.group(1)}" if found else "it holds objects other than tensors and plain values"
        raise ValueError(f"{path} is refused as unsafe and was not loaded: {what}, which no checkpoint needs and "
                         f"torch's safe loader does not run") from None
    except Exception as err:
        raise ValueError(f"{path} is not a readable checkpoint (corrupt or truncated?): {_first_line(err)}") from err
    if not isinstance(state, dict) or state.get("format") not in (FORMAT, *OLD_FORMATS):
        found = state.get("format") if isinstance(state, dict) else None
        newer = f" (it says {found!r}: written by a newer pixelcnn_edu?)" if isinstance(found, str) and found.startswith("pixelcnn_edu/") else ""
        raise ValueError(f"{path} is not a pixelcnn_edu checkpoint (expected format {FORMAT!r}){newer}")
    if state["format"] != FORMAT:
        _check_fields(state, path, ("name", "config", "model"))  # what the migration reads
        state = migrate(state)
    _check_schema(state, path)
    state["config"] = models.upgrade_config(state["name"], state["config"])  # today's argument names
    return state


def migrate(state: dict[str, Any]) -> dict[str, Any]:
    """A format-1 checkpoint in format 2: normalised config, versions, the in-epoch position as
    ``training`` (format 1 recorded no run settings, so a resume cannot check them)."""
    state = dict(state)
    state["config"] = normalized_config(state["name"], state["config"])
    state.setdefault("epoch", 0)
    state.setdefault("step", 0)
    state.setdefault("history", {"train_bpd": [], "test_bpd": [], "images_per_s": [], "seconds": []})
    state["versions"] = {"pixelcnn_edu": "before 0.2 (format 1)", "torch": "unknown"}
    in_epoch = state.pop("in_epoch", None)
    if isinstance(in_epoch, dict) and in_epoch:
        state["training"] = {
            "batch": int(in_epoch.get("batches", 0)), "seen": int(in_epoch.get("seen", 0)),
            "loss_sum": float(in_epoch.get("total", 0.0)), "seconds": float(in_epoch.get("seconds", 0.0)), "signature": None,
        }
    state["format"] = FORMAT
    return state


def _first_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _check_fields(state: dict[str, Any], path: Path, keys: Any) -> None:
    for key in keys:
        kind = REQUIRED[key]
        if key not in state:
            raise ValueError(f"{path} is missing the checkpoint field {key!r}")
        if not isinstance(state[key], kind) or (kind is int and isinstance(state[key], bool)):
            raise ValueError(f"{path}: field {key!r} should be a {kind.__name__}, got {type(state[key]).__name__}")
    if "name" in keys and state["name"] not in models.MODELS:
        raise ValueError(f"{path} holds an unknown model {state['name']!r}; known: {sorted(models.MODELS)}")


def _check_schema(state: dict[str, Any], path: Path) -> None:
    _check_fields(state, path, REQUIRED)
    ema = state.get("ema")
    if ema is not None and not (isinstance(ema, dict) and {"decay", "n_averaged", "model"} <= set(ema)):
        raise ValueError(f"{path}: field 'ema' should hold 'decay', 'n_averaged' and 'model'")


def load_weights(module: torch.nn.Module, weights: dict[str, Any], source: str | Path) -> None:
    """``module.load_state_dict(weights)``, or a one-line ValueError naming the weights that ``source``
    (a file, for the message) lacks, has in excess or holds in another shape."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in weights]
    extra = [k for k in weights if k not in expected]
    shapes = [k for k in expected if k in weights and (not isinstance(weights[k], torch.Tensor) or weights[k].shape != expected[k].shape)]
    problems = [f"{what} {', '.join(keys[:3])}{f' and {len(keys) - 3} more' if len(keys) > 3 else ''}"
                for what, keys in (("it lacks the weights", missing), ("it has unknown weights", extra), ("wrong shapes for", shapes)) if keys]
    if problems:
        raise ValueError(f"{source} does not fit its model ({type(module).__name__}): {'; '.join(problems)}")
    module.load_state_dict(weights)


def load_into(model: torch.nn.Module, state: dict[str, Any] | str | Path, *, source: str | Path | None = None) -> dict[str, Any]:
    """Load a checkpoint's weights into an existing model after checking that it belongs to it
    (same class, same normalised configuration; the differing arguments are named). ``source``: the
    file a dict ``state`` was read from, for the messages."""
    if not isinstance(state, dict):
        state, source = load_checkpoint(state), state
    name, config = models.model_name(model), model.config()
    if state["name"] != name:
        raise ValueError(f"checkpoint belongs to another model: it holds a {state['name']!r}, this model is a {name!r}")
    stored = normalized_config(state["name"], state["config"])
    if stored != config:
        diff = ", ".join(f"{k}: checkpoint {a!r}, this model {b!r}" for k, (a, b) in config_difference(stored, config).items())
        raise ValueError(f"checkpoint belongs to another model: a {name!r} with a different configuration ({diff})")
    load_weights(model, state["model"], source or "the checkpoint")
    return state


def load_model(path: str | Path, *, weights: str = "ema") -> tuple[models.AutoregressiveModel, dict[str, Any]]:
    """Rebuild the model saved in a checkpoint; returns ``(model, checkpoint_dict)`` (CPU, eval mode).

    ``weights="ema"`` loads the averaged weights of a run trained with EMA (the ones its test
    bits/dim were measured with) and the raw weights otherwise; ``"raw"`` always the raw ones.
    """
    if weights not in ("ema", "raw"):
        raise ValueError(f'weights must be "ema" or "raw", got {weights!r}')
    state = load_checkpoint(path)
    model = models.from_config(state["name"], state["config"])
    if weights == "ema" and "ema" in state:
        load_weights(model, state["ema"]["model"], f"{path} (its EMA weights)")
    else:
        load_weights(model, state["model"], path)
    return model.eval(), state


def export_checkpoint(path: str | Path, destination: str | Path, *, weights: str = "both") -> Path:
    """Copy a finished checkpoint without its optimizer state (a third of the size), e.g. to ship it.

    The model, its configuration, the history and the training command are kept, so the copy loads
    with ``load_model`` and says how it was made; training it further starts Adam afresh.

    ``weights``: for a run trained with EMA, keep both sets ("both"), or only the raw weights ("raw")
    or only the average ("ema"), which then become the file's model. The choice is recorded in the
    field ``exported_weights``; the history stays as the run measured it (with EMA its test scores
    are the average's).
    """
    if weights not in ("both", "raw", "ema"):
        raise ValueError(f'weights must be "both", "raw" or "ema", got {weights!r}')
    state = load_checkpoint(path)
    if state.get("training") and state["training"].get("batch", 0):
        raise ValueError(f"{path} was saved in the middle of an epoch; finish the run before exporting it")
    state.pop("optimizer", None)
    if weights != "both":
        if "ema" not in state:
            raise ValueError(f"{path} holds no EMA weights (its run had no ema), so there is nothing to choose; use weights='both'")
        average = state.pop("ema")
        if weights == "ema":
            state["model"] = average["model"]
            state["exported_weights"] = f"ema (decay {average['decay']}; the run's raw weights were dropped on export)"
        else:
            state["exported_weights"] = f"raw (the run also kept an EMA of decay {average['decay']}, dropped on export)"
    return _atomic_save(state, Path(destination))


def upgrade(path: str | Path) -> Path:
    """Rewrite an older checkpoint in place in the current format (weights unchanged)."""
    return _atomic_save(load_checkpoint(path), Path(path))


def bundled_checkpoint(name: str) -> Path:
    """Path of a checkpoint shipped with the package (e.g. ``"pixelcnn_mnist"``): a plain name, never
    a path that could lead out of the package's folder of checkpoints."""
    folder = _bundled_folder()
    known = sorted(entry.name.removesuffix(".pt") for entry in folder.iterdir() if entry.name.endswith(".pt"))
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise ValueError(f"a bundled checkpoint is named by a plain name (letters, digits, _ and -), got {name!r}; bundled: {known}")
    path = folder / f"{name}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no bundled checkpoint {name!r}; bundled: {known}")
    if not isinstance(path, Path):
        raise OSError(f"the bundled checkpoints are inside an archive ({folder}); install pixelcnn_edu as files to load them")
    return path
