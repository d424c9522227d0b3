"""Model files: round trips, corruption and truncation detection, shape checks (atomic writes:
test_io_atomic.py)."""

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
from tests.io_files import METADATA, _assert_same, _header_end, _tensors, model_file  # noqa: F401  (a fixture)

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
