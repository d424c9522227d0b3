import numpy as np

from rnnkit.datasets import binary_subtraction as bs


def test_all_136_pairs_lsb_first():
    x, y = bs.generate()
    assert x.shape == (136, 4, 2) and y.shape == (136, 4) and x.dtype == y.dtype == np.uint8
    a, b = bs.from_bits(x[..., 0]), bs.from_bits(x[..., 1])
    assert np.all(b <= a) and np.all(a <= 15)
    assert len(set(zip(a.tolist(), b.tolist()))) == 136
    np.testing.assert_array_equal(bs.from_bits(y), a - b)


def test_the_notes_example_13_minus_6():
    x, y = bs.generate()
    (k,) = np.flatnonzero((bs.from_bits(x[..., 0]) == 13) & (bs.from_bits(x[..., 1]) == 6))
    assert x[k, :, 0].tolist() == [1, 0, 1, 1]
    assert x[k, :, 1].tolist() == [0, 1, 1, 0]
    assert y[k].tolist() == [1, 1, 1, 0]


def test_equals_the_ai_edu_file(shared_data):
    x, y = bs.generate()
    for name in ("ch19.train_minus.npz", "ch19.test_minus.npz"):
        with np.load(shared_data / "binary_subtraction" / name, allow_pickle=False) as f:
            np.testing.assert_array_equal(x, f["data"])
            np.testing.assert_array_equal(y, f["label"])
