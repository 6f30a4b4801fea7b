"""Checkpoint files that cannot be written or read give one clear line naming the file, never a
traceback or torch's advice (issue 28): a full disk, a corrupt compression field, a missing weight,
a format-1 file without its model's name, a pickle that asks to run code. Two runs writing one path
never share a temporary file, and a bundled checkpoint is a plain name inside the package."""

from __future__ import annotations

import errno
import importlib.resources
import io
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch

from pixelcnn_edu import checkpoints, cli, models, train


def _tiny() -> models.PixelCNN:
    torch.manual_seed(0)
    return models.PixelCNN(1, 2, hidden=8, n_layers=1, input_kernel_size=3)


def _one_line(err: BaseException) -> str:
    message = str(err)
    assert "\n" not in message and message.strip() == message, message
    return message


def _cli_error(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``python -m pixelcnn_edu evaluate PATH`` prints: one line, exit code 2 (no traceback)."""
    assert cli.main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


# --- writing -----------------------------------------------------------------------------------


def _disk_full_after(written: int):
    """A torch.save whose disk fills up after ``written`` bytes of the file."""
    real_save = torch.save

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        buffer = io.BytesIO()
        real_save(obj, buffer)
        part = buffer.getvalue()[:written]
        f.write(part) if hasattr(f, "write") else Path(f).write_bytes(part)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return save


def test_a_full_disk_is_one_line_that_names_the_file_and_keeps_the_old_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", _tiny(), epoch=1)
    before = path.read_bytes()
    monkeypatch.setattr(checkpoints.torch, "save", _disk_full_after(100))
    with pytest.raises(OSError) as info:
        checkpoints.save_checkpoint(path, _tiny(), epoch=2)
    assert info.value.errno == errno.ENOSPC
    assert _one_line(info.value) == f"could not save the checkpoint {path}: No space left on device; the file there is unchanged"
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.pt"]


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="RLIMIT_FSIZE is POSIX")
def test_a_write_the_system_refuses_is_an_os_error_not_torchs_runtime_error(tmp_path: Path) -> None:
    """A real refused write (a file-size limit stands for a full disk): torch's own writer said
    "[enforce fail at inline_container.cc:672] . unexpected pos 2752 vs 2646", a RuntimeError that the
    command line printed as a traceback."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # otherwise the process is killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, hard))
    try:
        with pytest.raises(OSError, match="could not save the checkpoint .*m.pt: .*; nothing was written") as info:
            checkpoints.save_checkpoint(tmp_path / "m.pt", models.PixelCNN(1, 2, hidden=32, n_layers=2))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, ignored)
    _one_line(info.value)
    assert list(tmp_path.iterdir()) == []


def test_fit_stops_on_a_full_disk_with_that_line_and_does_not_write_again(
    make_pixelcnn, digit_crops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path, calls = tmp_path / "run.pt", []
    full = _disk_full_after(100)
    monkeypatch.setattr(checkpoints.torch, "save", lambda *a, **k: (calls.append(1), full(*a, **k)))
    with pytest.raises(OSError, match=f"could not save the checkpoint {path}: No space left on device; nothing was written"):
        train.fit(make_pixelcnn(), digit_crops.subset(64), epochs=1, batch_size=32, progress=False, checkpoint=path)
    assert len(calls) == 1 and list(tmp_path.iterdir()) == []


def test_two_runs_writing_one_path_use_temporary_files_of_their_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The defect: both wrote ``.m.pt.tmp``; the second renamed it away under the first, whose
    rename then failed (FileNotFoundError)."""
    path, seen, real_save = tmp_path / "m.pt", [], torch.save

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        real_save(obj, f, *args, **kwargs)
        seen.append({p.name for p in tmp_path.iterdir()} - {"m.pt"})  # the temporary files written so far
        if len(seen) == 1:  # the other run saves while this one is between its write and its rename
            checkpoints.save_checkpoint(path, _tiny(), epoch=2)

    monkeypatch.setattr(checkpoints.torch, "save", save)
    checkpoints.save_checkpoint(path, _tiny(), epoch=1)
    monkeypatch.undo()
    assert len(seen) == 2 and len(seen[1]) == 2 and seen[0] < seen[1]  # two files, each run its own
    assert checkpoints.load_checkpoint(path)["epoch"] == 1  # the last rename wins, whole
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


# --- reading -----------------------------------------------------------------------------------


def test_a_corrupt_compression_field_is_a_one_line_value_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The defect: zipfile's NotImplementedError ("That compression method is not supported") went through."""
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", _tiny())
    raw = bytearray(path.read_bytes())
    central = raw.index(b"PK\x01\x02")  # the first central-directory record; its compression method at offset 10
    raw[central + 10 : central + 12] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="is not a readable checkpoint \\(corrupt or truncated\\?\\)") as info:
        checkpoints.load_checkpoint(path)
    _one_line(info.value)
    _cli_error(path, capsys)


def test_a_missing_weight_is_named_on_one_line(make_pixelcnn, digit_crops, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The defect: load_state_dict's multi-line RuntimeError ("Error(s) in loading state_dict ...")."""
    path = tmp_path / "m.pt"
    train.fit(make_pixelcnn(), digit_crops.subset(32), epochs=1, batch_size=32, progress=False, checkpoint=path)
    state = torch.load(path, weights_only=True)
    key = next(iter(state["model"]))
    del state["model"][key]
    torch.save(state, path)
    message = f"{path} does not fit its model (PixelCNN): it lacks the weights {key}"
    for load in (lambda: checkpoints.load_model(path), lambda: checkpoints.load_into(make_pixelcnn(), path),
                 lambda: train.fit(make_pixelcnn(), digit_crops.subset(32), epochs=2, batch_size=32, progress=False, checkpoint=path)):
        with pytest.raises(ValueError) as info:
            load()
        assert _one_line(info.value) == message
    assert _cli_error(path, capsys) == f"error: {message}\n"


def test_a_format_1_file_without_its_model_name_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The defect: the migration read state["name"] and raised a KeyError."""
    model = _tiny()
    torch.save({"format": "pixelcnn_edu/1", "config": model.config(), "model": model.state_dict()}, tmp_path / "old.pt")
    with pytest.raises(ValueError) as info:
        checkpoints.load_checkpoint(tmp_path / "old.pt")
    assert _one_line(info.value) == f"{tmp_path / 'old.pt'} is missing the checkpoint field 'name'"
    _cli_error(tmp_path / "old.pt", capsys)


class _RunsACommand:
    """What a malicious file would hold: unpickling it calls os.system."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def test_a_pickle_that_asks_to_run_code_is_refused_as_unsafe(digit_crops, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The defect: "not a readable checkpoint (corrupt or truncated?)" followed by torch's advice to
    load it with weights_only=False, which would have run the command."""
    marker, path = tmp_path / "ran", tmp_path / "evil.pt"
    torch.save({"format": checkpoints.FORMAT, "payload": _RunsACommand(f"touch {marker}")}, path)
    assert b"system" in path.read_bytes()  # the pickle names os.system (posix.system)
    with pytest.raises(ValueError) as info:
        checkpoints.load_checkpoint(path)
    message = _one_line(info.value)
    assert message.startswith(f"{path} is refused as unsafe and was not loaded: it asks for ") and "system" in message
    assert "weights_only=False" not in message and "corrupt" not in message and info.value.__cause__ is None
    with pytest.raises(ValueError, match="refused as unsafe"):
        train.fit(models.PixelCNN(1, 2, hidden=4, n_layers=1), digit_crops, epochs=1, progress=False, checkpoint=path)
    err = _cli_error(path, capsys)
    assert "refused as unsafe" in err and "weights_only" not in err
    assert not marker.exists()


# --- bundled checkpoints -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../classifier/digit_classifier", "/etc/passwd", "..", "pixelcnn_mnist/../gated_mnist", ""])
def test_a_bundled_checkpoint_is_a_plain_name(name: str) -> None:
    """The defect: "../classifier/digit_classifier" returned the classifier's weights, outside the folder."""
    with pytest.raises(ValueError, match="plain name") as info:
        checkpoints.bundled_checkpoint(name)
    assert "pixelcnn_mnist" in _one_line(info.value)  # the names that exist


def test_bundled_checkpoints_are_found_through_importlib_resources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Where the package's resources are is importlib.resources' to say (a path computed from
    ``__file__`` is wrong for some installs)."""
    (tmp_path / "checkpoints").mkdir()
    checkpoints.save_checkpoint(tmp_path / "checkpoints" / "only_here.pt", _tiny())
    real = importlib.resources.files
    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path if package == "pixelcnn_edu" else real(package))
    assert checkpoints.bundled_checkpoint("only_here") == tmp_path / "checkpoints" / "only_here.pt"
    with pytest.raises(FileNotFoundError, match="bundled: \\['only_here'\\]"):
        checkpoints.bundled_checkpoint("pixelcnn_mnist")
    monkeypatch.undo()
    assert checkpoints.bundled_checkpoint("pixelcnn_mnist").is_file()
