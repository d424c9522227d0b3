"""Model files are written atomically: a crash, a kill or a full disk mid-save leaves the
previous file; temporaries do not pile up; the data and the rename are synced."""

from __future__ import annotations

import os
import re

import pytest

from rnnkit import io as model_io
from rnnkit.io import load_file, save_file
from tests.io_files import METADATA, _assert_same, _tensors, model_file  # noqa: F401  (a fixture)


def test_overwrites_and_creates_parent_directories(tmp_path):
    path = tmp_path / "a" / "b" / "model.safetensors"
    save_file(path, _tensors(0), METADATA)
    save_file(path, _tensors(1), {"v": 2})
    loaded, metadata = load_file(path)
    _assert_same(loaded, _tensors(1))
    assert metadata == {"v": 2}
    assert os.listdir(path.parent) == ["model.safetensors"]


@pytest.mark.skipif(os.name != "posix", reason="processes are probed with os.kill(pid, 0)")
def test_a_save_removes_what_killed_saves_left_and_nothing_of_a_live_one(tmp_path):
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(gone.stdout)  # the process has exited: its temporary file is litter
    path = tmp_path / "model.safetensors"
    stale = tmp_path / f".model.safetensors.{dead_pid}-0badf00d.tmp"
    live = tmp_path / f".model.safetensors.{os.getpid()}-feedbeef.tmp"  # as if another thread were saving
    other = tmp_path / f".other.safetensors.{dead_pid}-0badf00d.tmp"  # another file's: not ours to judge
    for tmp in (stale, live, other):
        tmp.write_bytes(b"partial")
    save_file(path, _tensors(), METADATA)
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, live.name, other.name])


class _DiskFullFile:
    """Writes half of what it is given, then fails like a full disk."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[: len(data) // 2])
        self._file.flush()
        raise OSError(28, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


def _fail_mid_write(monkeypatch):
    monkeypatch.setattr(model_io, "open", lambda *args: _DiskFullFile(open(*args)), raising=False)


def _fail_replace(monkeypatch):
    def replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(model_io.os, "replace", replace)


@pytest.mark.parametrize("crash", [_fail_mid_write, _fail_replace], ids=["mid-write", "os.replace"])
def test_crash_leaves_previous_file_intact(model_file, monkeypatch, crash):
    before = model_file.read_bytes()
    crash(monkeypatch)
    with pytest.raises(OSError, match="cannot save model file .*model.safetensors"):
        save_file(model_file, _tensors(1), {"v": 2})
    monkeypatch.undo()
    assert model_file.read_bytes() == before
    assert os.listdir(model_file.parent) == ["model.safetensors"]
    _assert_same(load_file(model_file)[0], _tensors())


def test_data_is_fsynced_before_the_rename_and_the_folder_after(model_file, monkeypatch):
    """Power-loss safety needs both: the data on disk before the rename, the rename itself after."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync folder" if os.path.isdir(os.readlink(f"/proc/self/fd/{fd}")) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        real_replace(src, dst)

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to tell a folder's descriptor from a file's")
    monkeypatch.setattr(model_io.os, "fsync", fsync)
    monkeypatch.setattr(model_io.os, "replace", replace)
    save_file(model_file, _tensors(1), {})
    assert events == ["fsync file", "replace", "fsync folder"]


@pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(__import__("signal"), "SIGKILL"), reason="POSIX only")
@pytest.mark.parametrize("moment", ["write", "fsync", "replace"])
def test_a_process_killed_mid_save_leaves_the_previous_file(model_file, moment):
    """SIGKILL (no clean-up runs) at each step of a save; the old file survives whole and the
    next save still works beside the stray temporary file."""
    import subprocess
    import sys

    code = f"""
import os, signal, numpy as np
from rnnkit import io
die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if {moment!r} == "write":
    real_open = open
    class Half:
        def __init__(self, f): self.f = f
        def __enter__(self): return self
        def __exit__(self, *e): self.f.close()
        def write(self, data): self.f.write(data[: len(data) // 2]); self.f.flush(); die()
    io.open = lambda *a: Half(real_open(*a))
elif {moment!r} == "fsync":
    io.os.fsync = die
else:
    io.os.replace = die
io.save_file({str(model_file)!r}, {{"w": np.ones(100_000)}}, {{"v": 2}})
"""
    before = model_file.read_bytes()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr
    assert model_file.read_bytes() == before
    _assert_same(load_file(model_file)[0], _tensors())
    save_file(model_file, _tensors(1), {"v": 3})
    assert load_file(model_file)[1] == {"v": 3}
    assert "model.safetensors" in os.listdir(model_file.parent)


def test_unwritable_destination_names_the_path(tmp_path):
    (tmp_path / "not_a_dir").write_text("")
    path = tmp_path / "not_a_dir" / "deeper" / "model.safetensors"
    with pytest.raises(OSError, match=re.escape(f"cannot save model file {path}: {tmp_path / 'not_a_dir'} is a file")):
        save_file(path, _tensors(), {})


def test_odd_destinations(tmp_path):
    longest = tmp_path / ("m" * 243 + ".safetensors")  # 255 characters, the usual limit for a name
    save_file(longest, _tensors(), METADATA)
    assert load_file(longest)[1] == METADATA
    for nameless in ("", ".", tmp_path / ".."):
        with pytest.raises(ValueError, match="the path names no file"):
            save_file(nameless, _tensors(), {})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save_file(tmp_path / "big.safetensors", _tensors(), {"n": 10**5000})


# ---------------------------------------------------------------- check_tensors


@pytest.mark.parametrize("errno_name, raises", [("EINVAL", False), ("EIO", True)])
def test_a_folder_that_cannot_be_synced(tmp_path, monkeypatch, errno_name, raises):
    # the file is in place either way; a file system without folder fsync (EINVAL) is no error,
    # a failing one is, naming the file
    import errno

    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the first syncs the file, the second its folder
            raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = tmp_path / "m.safetensors"
    if raises:
        with pytest.raises(OSError, match=r"m\.safetensors is written, but syncing its folder failed"):
            save_file(path, _tensors(), METADATA)
    else:
        save_file(path, _tensors(), METADATA)
    _assert_same(load_file(path)[0], _tensors())
