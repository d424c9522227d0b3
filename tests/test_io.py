"""Model files: round trips, corruption and truncation detection, atomic writes, shape checks."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import rnnkit
from rnnkit import io as model_io
from rnnkit.io import FORMAT_VERSION, ModelFileError, check_tensors, load_file, save_file

METADATA = {"arch": {"cell": "lstm", "sizes": [3, 5, 2], "bidirectional": False}, "train": {"loss": 0.25, "epochs": 3}}


def _tensors(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "cell.Wx": rng.standard_normal((3, 20)).astype(np.float32),
        "cell.b": rng.standard_normal(20),  # float64
        "vocab": rng.integers(-(2**40), 2**40, size=7),  # int64
    }


def _assert_same(loaded: dict[str, np.ndarray], original: dict[str, np.ndarray]) -> None:
    assert loaded.keys() == original.keys()
    for name, array in original.items():
        assert loaded[name].dtype == array.dtype, name
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file(path, _tensors(), METADATA)
    return path


def _header_end(data: bytes) -> int:
    return 8 + int.from_bytes(data[:8], "little")


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "tensors",
    [
        _tensors(),
        {},
        {"scalar": np.array(2.5, dtype=np.float32), "empty": np.zeros((4, 0)), "mask": np.array([True, False])},
        {"transposed": np.arange(12.0).reshape(3, 4).T, "big_endian": np.arange(5, dtype=">i8")},
    ],
    ids=["float32-float64-int64", "empty", "scalar-zero-size-bool", "non-contiguous-big-endian"],
)
def test_round_trip(tmp_path, tensors):
    path = tmp_path / "model.safetensors"
    save_file(path, tensors, METADATA)
    loaded, metadata = load_file(path)
    assert loaded.keys() == tensors.keys()
    for name, array in tensors.items():
        assert loaded[name].dtype == array.dtype.newbyteorder("<"), name
        np.testing.assert_array_equal(loaded[name], array, err_msg=name)
        assert loaded[name].flags.writeable, name
    assert metadata == METADATA


def test_random_shapes_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    tensors = {
        f"t{i}": rng.standard_normal(tuple(rng.integers(1, 10, size=rng.integers(0, 4)))).astype(dtype)
        for i, dtype in enumerate([np.float32, np.float64, np.int64, np.float16, np.uint8] * 3)
    }
    save_file(tmp_path / "m.safetensors", tensors, {})
    loaded, metadata = load_file(tmp_path / "m.safetensors")
    _assert_same(loaded, tensors)
    assert metadata == {}


def test_metadata_is_stored_with_versions_under_one_key(model_file):
    with safetensors.safe_open(model_file, framework="np") as f:
        stored = f.metadata()
    assert list(stored) == ["rnnkit"]
    record = json.loads(stored["rnnkit"])
    assert record["format_version"] == FORMAT_VERSION
    assert record["rnnkit_version"] == rnnkit.__version__
    assert record["metadata"] == METADATA
    assert len(record["sha256"]) == 64


def test_is_a_standard_safetensors_file(model_file):
    _assert_same(safetensors.numpy.load_file(model_file), _tensors())


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


def test_rejects_unserialisable_metadata_and_dtype(tmp_path):
    path = tmp_path / "model.safetensors"
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save_file(path, _tensors(), {"rng": np.random.default_rng()})
    with pytest.raises(ValueError, match="object"):
        save_file(path, {"x": np.array([None])}, {})
    assert not tmp_path.exists() or os.listdir(tmp_path) == []


# ---------------------------------------------------------------- damaged and foreign files


def test_every_flipped_header_byte_is_detected(model_file):
    data = model_file.read_bytes()
    for position in range(_header_end(data)):
        for mask in (0x01, 0x20, 0xFF):
            damaged = bytearray(data)
            damaged[position] ^= mask
            model_file.write_bytes(damaged)
            with pytest.raises(ModelFileError) as caught:
                load_file(model_file)
            assert "\n" not in str(caught.value), (position, mask)


def test_every_flipped_data_byte_is_detected_as_corruption(model_file):
    data = model_file.read_bytes()
    for position in range(_header_end(data), len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        model_file.write_bytes(damaged)
        with pytest.raises(ModelFileError, match="corrupted"):
            load_file(model_file)


def test_every_truncation_is_detected(model_file):
    data = model_file.read_bytes()
    for length in range(len(data)):
        model_file.write_bytes(data[:length])
        with pytest.raises(ModelFileError, match="model.safetensors"):
            load_file(model_file)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such model file"),
        (b"", "not a valid safetensors file"),
        (b"hello, this is a text file", "not a valid safetensors file"),
        (safetensors.numpy.save({"w": np.ones(3)}), "not written by rnnkit"),
        (safetensors.numpy.save({"w": np.ones(3)}, metadata={"format": "pt"}), "not written by rnnkit"),
        (safetensors.numpy.save({}, metadata={"rnnkit": "not json"}), "corrupted"),
        (safetensors.numpy.save({}, metadata={"rnnkit": json.dumps({"format_version": 1})}), "corrupted"),
    ],
    ids=["missing", "empty", "text", "foreign", "foreign-with-metadata", "bad-record", "incomplete-record"],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "model.safetensors"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as caught:
        load_file(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_newer_format_version_is_refused(tmp_path):
    record = {"format_version": FORMAT_VERSION + 1, "rnnkit_version": "99.0", "metadata": {}, "sha256": "?"}
    path = tmp_path / "model.safetensors"
    safetensors.numpy.save_file({"w": np.ones(3)}, path, metadata={"rnnkit": json.dumps(record)})
    with pytest.raises(ModelFileError, match=rf"format {FORMAT_VERSION + 1} \(written by rnnkit 99.0\) is newer"):
        load_file(path)


def _record_file(path, record_fields: dict | str, arrays=None) -> None:
    """A safetensors file whose rnnkit record is `record_fields` with a valid checksum (or raw text)."""
    arrays = {"w": np.ones(3)} if arrays is None else arrays
    if isinstance(record_fields, dict):
        record = {"rnnkit_version": "0.0.1", "metadata": {}, **record_fields}
        record["sha256"] = model_io._checksum(record, arrays)
        record_fields = json.dumps(record)
    safetensors.numpy.save_file(arrays, path, metadata={"rnnkit": record_fields})


@pytest.mark.parametrize("version", [0, -1, True], ids=["zero", "negative", "bool"])
def test_a_format_version_that_never_existed_is_refused(tmp_path, version):
    path = tmp_path / "model.safetensors"
    _record_file(path, {"format_version": version})
    with pytest.raises(ModelFileError, match="corrupted"):
        load_file(path)


def test_absurdly_nested_metadata_is_corruption_not_a_recursion_error(tmp_path):
    path = tmp_path / "model.safetensors"
    _record_file(path, "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelFileError, match="corrupted"):
        load_file(path)


def test_a_path_with_a_nul_byte_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="cannot read model file"):
        load_file(str(tmp_path / "a\0b.safetensors"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    """Reading a FIFO (or a device like /dev/zero) would block forever (or read until memory runs
    out); a subprocess keeps a regression from hanging the suite."""
    import subprocess
    import sys

    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    code = ("import sys; from rnnkit.io import load_file, ModelFileError\n"
            "try: load_file(sys.argv[1])\n"
            "except ModelFileError as e: print(e)")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(fifo)], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("load_file blocked on a FIFO")
    assert done.stdout.strip() == f"{fifo}: cannot read model file: not a regular file", done.stderr


def test_a_directory_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match=re.escape(f"{tmp_path}: cannot read model file: Is a directory")):
        load_file(tmp_path)


# ---------------------------------------------------------------- atomic writes


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


EXPECTED = {"cell.Wx": ((3, 20), np.float32), "cell.b": ((20,), np.float64), "vocab": ((7,), np.int64)}


def test_check_tensors_accepts_a_match():
    check_tensors(EXPECTED, _tensors())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.pop("cell.b"), "model file is missing tensor 'cell.b' (expected float64 of shape (20,))"),
        (lambda t: t.update(extra=np.zeros(2)), "model file has unexpected tensor 'extra' (float64 of shape (2,))"),
        (
            lambda t: t.update({"cell.Wx": np.zeros((4, 20), np.float32)}),
            "model tensor 'cell.Wx' is float32 of shape (4, 20), expected float32 of shape (3, 20)",
        ),
        (
            lambda t: t.update(vocab=np.zeros(7, np.int32)),
            "model tensor 'vocab' is int32 of shape (7,), expected int64 of shape (7,)",
        ),
    ],
    ids=["missing", "extra", "shape", "dtype"],
)
def test_check_tensors_names_the_first_problem(change, message):
    tensors = _tensors()
    change(tensors)
    with pytest.raises(ModelFileError) as caught:
        check_tensors(EXPECTED, tensors)
    assert str(caught.value) == message


def test_check_tensors_reports_missing_before_extra_and_uses_what():
    tensors = {"b": np.zeros(1), "z": np.zeros(1)}
    with pytest.raises(ModelFileError, match="^checkpoint file is missing tensor 'a'"):
        check_tensors({"a": ((1,), np.float64), "b": ((1,), np.float64)}, tensors, what="checkpoint")


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
