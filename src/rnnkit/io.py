"""Model files: named NumPy arrays plus a JSON config in one standard safetensors file.

Layout of the safetensors header's ``__metadata__`` (a str -> str map) written by `save_file`::

    {"rnnkit": "<JSON object>"}

    JSON object = {"format_version": 1,              # FORMAT_VERSION, bumped on breaking changes
                   "rnnkit_version": "0.1.0",
                   "metadata": {...},                 # the caller's dict: config, training info
                   "sha256": "<hex>"}                 # see `_checksum`

Everything else is plain safetensors, so ``safetensors.numpy.load_file`` reads the tensors too.
Nothing is ever pickled.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.numpy

from rnnkit import __version__

__all__ = ["FORMAT_VERSION", "ModelFileError", "check_tensors", "load_file", "save_file"]

FORMAT_VERSION = 1
_KEY = "rnnkit"


class ModelFileError(ValueError):
    """A model file is missing, unreadable, corrupted, foreign, too new, or does not fit the model."""


def save_file(path: str | os.PathLike, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> None:
    """Write `tensors` and the JSON-serialisable `metadata` to `path`, atomically.

    The file is first written to a temporary sibling, flushed and fsync'ed, then moved over
    `path` with `os.replace`, so a crash at any point leaves either the old file or the new
    one, never a mix (a symbolic link at `path` is replaced by the file; its target is left as
    it was). The folder is then fsync'ed too, so that the rename survives a power cut (skipped
    where the file system cannot sync folders), and temporaries left by killed saves to the same
    path are removed. Missing parent directories are created. JSON turns tuples into lists and
    non-string keys into strings; `load_file` returns what JSON gives back.

    Raises TypeError if `metadata` is not JSON-serialisable, ValueError for a dtype safetensors
    cannot store, and OSError (naming `path`) if the destination cannot be written or its folder
    cannot be synced.
    """
    path = Path(path)
    if not path.name or path.name == "..":
        raise ValueError(f"cannot save a model file to {os.fspath(path)!r}: the path names no file")
    arrays = {name: _canonical(np.asarray(array)) for name, array in tensors.items()}
    try:
        record = {
            "format_version": FORMAT_VERSION,
            "rnnkit_version": __version__,
            "metadata": json.loads(json.dumps(dict(metadata))),
        }
    except (TypeError, ValueError) as error:  # ValueError: e.g. an int past Python's digit limit
        raise TypeError(f"model metadata is not JSON-serialisable: {error}") from None
    record["sha256"] = _checksum(record, arrays)
    try:
        data = safetensors.numpy.save(arrays, metadata={_KEY: json.dumps(record, sort_keys=True)})
    except safetensors.SafetensorError as error:
        raise ValueError(f"cannot save tensors to {path}: {error}") from None

    tmp = path.with_name(f"{_temporary_prefix(path)}{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as file:  # "x": never clobber; plain open (not mkstemp) honours the umask
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):  # a failed clean-up must not mask the real error
            tmp.unlink()
        if isinstance(error, OSError):
            blocking = _file_in_the_way(path.parent)
            reason = f"{blocking} is a file, not a folder" if blocking else error.strerror or error
            message = f"cannot save model file {path}: {reason}"
            # OSError(errno, ...) picks the matching subclass, e.g. PermissionError.
            raise (OSError(error.errno, message) if error.errno else OSError(message)) from error
        raise
    try:
        _fsync_directory(path.parent)
    except OSError as error:
        raise OSError(error.errno, f"model file {path} is written, but syncing its folder failed (a power cut "
                                   f"could still undo the save): {error.strerror or error}") from error
    _remove_stale_temporaries(path)


def _file_in_the_way(folder: Path) -> Path | None:
    """The first of `folder` and its parents that exists but is not a directory (mkdir's
    "File exists" would not say which), or None."""
    for candidate in reversed((folder, *folder.parents)):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def load_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by `save_file`: returns ``(tensors, metadata)``, arrays writable.

    Raises ModelFileError with a one-line message if the file is missing, is not a (complete)
    safetensors file, was not written by rnnkit, uses a newer file format, or fails its checksum.
    """
    path = Path(path)
    try:
        data = _read_regular_file(path)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read model file: {error.strerror or error}") from None
    except ValueError as error:  # e.g. a NUL byte in the path
        raise ModelFileError(f"{path!r}: cannot read model file: {error}") from None

    try:
        raw = safetensors.numpy.load(data)  # validates header, offsets and length (truncation)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len])
    except (safetensors.SafetensorError, ValueError, KeyError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelFileError(f"{path}: not a valid safetensors file, or truncated or corrupted ({reason})") from None
    arrays = {name: array.copy() for name, array in raw.items()}  # frombuffer views are read-only

    stored = (header.get("__metadata__") or {}).get(_KEY)
    if stored is None:
        raise ModelFileError(f"{path}: safetensors file was not written by rnnkit (no {_KEY!r} metadata)")
    try:
        record = json.loads(stored)
        version = record["format_version"]
        expected = record.pop("sha256")
        metadata = record["metadata"]
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):  # Recursion: absurdly nested JSON
        raise ModelFileError(f"{path}: model file is corrupted (unreadable rnnkit metadata)") from None
    if type(version) is not int or version < 1 or not isinstance(metadata, dict):  # no format before 1; not bool
        raise ModelFileError(f"{path}: model file is corrupted (unreadable rnnkit metadata)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: file format {version} (written by rnnkit {record.get('rnnkit_version', '?')}) is newer "
            f"than this rnnkit {__version__} supports (format {FORMAT_VERSION}); upgrade rnnkit"
        )
    if _checksum(record, arrays) != expected:
        raise ModelFileError(f"{path}: model file is corrupted (checksum mismatch)")
    return arrays, metadata


def _temporary_prefix(path: Path) -> str:
    # the name cut so that a file name at the system's limit (255) still leaves room for the suffix
    return f".{path.name[:200]}."


def _remove_stale_temporaries(path: Path) -> None:
    """Delete the temporary files of saves to `path` whose process is gone (killed mid-save: a
    save that fails otherwise removes its own). A live process's file is never touched."""
    if os.name != "posix":  # os.kill(pid, 0) only probes a process on POSIX
        return
    prefix = _temporary_prefix(path)
    for tmp in path.parent.glob(glob.escape(prefix) + "*-*.tmp"):
        pid = tmp.name[len(prefix):].partition("-")[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, under another user
        return True
    return True


def _read_regular_file(path: Path) -> bytes:
    """The whole of a regular file. Anything else is refused before reading: a FIFO would block
    forever and a device such as /dev/zero would be read until memory runs out."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with open(fd, "rb", closefd=False) as file:
            return file.read()
    finally:
        os.close(fd)


def check_tensors(
    expected: Mapping[str, tuple[tuple[int, ...], Any]],
    tensors: Mapping[str, np.ndarray],
    *,
    what: str = "model",
) -> None:
    """Raise ModelFileError naming the first tensor that is missing, unexpected, or mis-shaped.

    `expected` maps each name to ``(shape, dtype)``; names are checked in sorted order, missing
    ones first, then extra ones, then shapes and dtypes. `what` names the thing being loaded.
    """
    for name in sorted(expected.keys() - tensors.keys()):
        shape, dtype = expected[name]
        raise ModelFileError(f"{what} file is missing tensor {name!r} (expected {_describe(shape, dtype)})")
    for name in sorted(tensors.keys() - expected.keys()):
        array = tensors[name]
        raise ModelFileError(f"{what} file has unexpected tensor {name!r} ({_describe(array.shape, array.dtype)})")
    for name in sorted(expected):
        shape, dtype = expected[name]
        array = tensors[name]
        if tuple(array.shape) != tuple(shape) or array.dtype != np.dtype(dtype):
            raise ModelFileError(
                f"{what} tensor {name!r} is {_describe(array.shape, array.dtype)}, "
                f"expected {_describe(shape, dtype)}"
            )


def _canonical(array: np.ndarray) -> np.ndarray:
    """C-contiguous and little-endian: exactly the bytes safetensors stores (it reads raw memory)."""
    # np.require, unlike np.ascontiguousarray, keeps 0-d arrays 0-d
    return np.require(np.asarray(array, dtype=array.dtype.newbyteorder("<")), requirements="C")


def _checksum(record: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over the record (sans checksum) and each tensor's name, dtype, shape and bytes.

    safetensors checks only the header's structure, so a flipped bit in tensor data or in the
    metadata would otherwise load silently.
    """
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode())
    for name in sorted(arrays):
        array = _canonical(arrays[name])
        digest.update(json.dumps([name, array.dtype.name, list(array.shape)]).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _describe(shape: tuple[int, ...], dtype: Any) -> str:
    return f"{np.dtype(dtype).name} of shape {tuple(shape)}"


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself; without it a power cut can bring the old directory entry back."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP):  # a file system that cannot sync folders
            raise
    finally:
        os.close(fd)
