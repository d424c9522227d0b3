import gzip

import numpy as np
import pytest

from rnnkit.datasets import mnist
from rnnkit.datasets._files import read_bytes

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # data/mnist/SOURCE.md


@pytest.fixture(scope="module")
def offline():
    return mnist.load_offline()


def test_offline_shapes_counts_and_range(offline):
    (x_train, y_train), (x_test, y_test) = offline
    assert x_train.shape == (5000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == y_test.dtype == np.int64
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert np.bincount(y_train).tolist() == [500] * 10 and np.all(np.diff(y_train) >= 0)  # sorted by digit
    for x in (x_train, x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-4)


def test_training_images_are_not_test_images(offline):
    (x_train, _), (x_test, _) = offline
    to_bytes = lambda x: {row.tobytes() for row in np.round(x * 255).astype(np.uint8).reshape(len(x), -1)}  # noqa: E731
    train, test = to_bytes(x_train), to_bytes(x_test)
    assert len(train) == 5000 and not train & test


def _idx(magic, array):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def small_files(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28))
    labels = np.array([3, 1, 4, 1, 5])
    paths = {
        "images": tmp_path / "x-images-idx3-ubyte",
        "labels": tmp_path / "x-labels-idx1-ubyte",
        "images.gz": tmp_path / "x-images-idx3-ubyte.gz",
        "labels.gz": tmp_path / "x-labels-idx1-ubyte.gz",
    }
    paths["images"].write_bytes(_idx(2051, images))
    paths["labels"].write_bytes(_idx(2049, labels))
    paths["images.gz"].write_bytes(gzip.compress(_idx(2051, images)))
    paths["labels.gz"].write_bytes(gzip.compress(_idx(2049, labels)))
    return paths, images, labels


def test_load_idx_reads_plain_and_gzip(small_files):
    paths, images, labels = small_files
    for im, lb in (("images", "labels"), ("images.gz", "labels.gz"), ("images.gz", "labels")):
        x, y = mnist.load_idx(paths[im], paths[lb])
        assert x.shape == (5, 28, 28) and x.dtype == np.float32
        np.testing.assert_allclose(x * 255, images, atol=1e-4)
        np.testing.assert_array_equal(y, labels)


def test_load_idx_errors(small_files, tmp_path):
    paths, images, labels = small_files
    with pytest.raises(ValueError, match=r"magic number 2049 .*labels file.*expected 2051"):
        mnist.load_idx(paths["labels"], paths["images"])  # swapped
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x00\x08\x04" + b"\x00" * 20)
    with pytest.raises(ValueError, match="magic number 2052"):
        mnist.load_idx(bad, paths["labels"])
    bad.write_bytes(_idx(2051, images)[:-10])
    with pytest.raises(ValueError, match="the file has"):
        mnist.load_idx(bad, paths["labels"])
    bad.write_bytes(_idx(2049, labels[:4]))
    with pytest.raises(ValueError, match="5 images but"):
        mnist.load_idx(paths["images"], bad)
    bad.write_bytes(gzip.compress(_idx(2051, images))[:-30])
    with pytest.raises(ValueError, match="gzip"):
        mnist.load_idx(bad, paths["labels"])
    damaged = bytearray(gzip.compress(_idx(2051, images)))
    damaged[len(damaged) // 2] ^= 0xFF  # inside the deflate stream: zlib's own error
    bad.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="damaged gzip data"):
        mnist.load_idx(bad, paths["labels"])
    bad.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="too short"):
        mnist.load_idx(bad, paths["labels"])
    with pytest.raises(FileNotFoundError):
        mnist.load_idx(tmp_path / "missing", paths["labels"])


def test_load_idx_on_the_shipped_test_files(offline, tmp_path):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(read_bytes("mnist", name))
    x, y = mnist.load_idx(tmp_path / "t10k-images-idx3-ubyte.gz", tmp_path / "t10k-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(x, offline[1][0])
    np.testing.assert_array_equal(y, offline[1][1])
