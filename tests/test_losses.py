"""Losses: value and gradient against torch.nn.functional in float64 (masked per-step versions
compared on the real steps only), a central-difference check, stability at ±1e4, errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import losses

NAMES = ["mse", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]
LAYOUTS = ["last_step", "per_step", "per_step_masked"]


def make_case(name, layout, rng, scale=3.0):
    """pred, target, lengths; padded steps hold NaN logits and nonsense targets."""
    B, T, C = (int(n) for n in rng.integers(1, 10, size=3))
    if name == "categorical_crossentropy":
        C = max(C, 2)
    shape = (B, C) if layout == "last_step" else (B, T, C)
    pred = scale * rng.standard_normal(shape)
    if name == "sparse_categorical_crossentropy":
        target = rng.integers(0, C, size=shape[:-1])
    elif name == "categorical_crossentropy":
        target = np.eye(C)[rng.integers(0, C, size=shape[:-1])]
    elif name == "binary_crossentropy":
        target = rng.uniform(size=shape)  # probabilities, the general case of 0/1 labels
    else:
        target = rng.standard_normal(shape)
    lengths = None
    if layout == "per_step_masked":
        lengths = rng.integers(0, T + 1, size=B)
        lengths[rng.integers(B)] = T  # at least one real step
        pad = np.arange(T)[None, :] >= lengths[:, None]
        pred[pad] = np.nan
        target[pad] = -7
    return pred, target, lengths


def real_steps(a, lengths, per_step):
    """The real steps of a (B, T, ...) array stacked on axis 0; a last-step (B, ...) one as is."""
    if not per_step:
        return a
    if lengths is None:
        return a.reshape(-1, *a.shape[2:])
    return a[np.arange(a.shape[1])[None, :] < lengths[:, None]]


def torch_reference(torch, name, pred, target):
    """Value and gradient of torch's mean loss on (N, C) rows."""
    F = torch.nn.functional
    z = torch.tensor(pred, requires_grad=True)
    y = torch.tensor(target)
    loss = {
        "mse": lambda: F.mse_loss(z, y),
        "binary_crossentropy": lambda: F.binary_cross_entropy_with_logits(z, y),
        "categorical_crossentropy": lambda: F.cross_entropy(z, y),
        "sparse_categorical_crossentropy": lambda: F.cross_entropy(z, y),
    }[name]()
    loss.backward()
    return loss.item(), z.grad.numpy()


def compare(name, pred, target, lengths, value, d):
    torch = pytest.importorskip("torch", reason="torch.nn.functional is the reference")
    per_step = pred.ndim == 3
    want_value, want_d = torch_reference(torch, name, real_steps(pred, lengths, per_step),
                                         real_steps(target, lengths, per_step))
    assert value == pytest.approx(want_value, rel=1e-12, abs=1e-300), f"mine {value} vs theirs {want_value}"
    np.testing.assert_allclose(real_steps(d, lengths, per_step), want_d, rtol=1e-10, atol=1e-15,
                               err_msg="d_pred: mine vs theirs")


@pytest.mark.torch
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", range(3))
def test_matches_torch(name, layout, seed):
    pred, target, lengths = make_case(name, layout, np.random.default_rng(seed))
    value, d = losses.get(name)(pred, target, lengths)
    assert isinstance(value, float) and d.shape == pred.shape and d.dtype == pred.dtype
    compare(name, pred, target, lengths, value, d)
    if lengths is not None:
        pad = np.arange(pred.shape[1])[None, :] >= lengths[:, None]
        assert np.all(d[pad] == 0.0), "padded steps must get exactly zero gradient"


@pytest.mark.torch
def test_soft_categorical_targets_match_torch():
    rng = np.random.default_rng(5)
    pred = rng.standard_normal((4, 3, 5))
    target = rng.dirichlet(np.ones(5), size=(4, 3))
    compare("categorical_crossentropy", pred, target, None,
            *losses.CategoricalCrossentropy()(pred, target))


@pytest.mark.torch
@pytest.mark.parametrize("name", NAMES)
def test_stable_at_huge_logits(name):
    rng = np.random.default_rng(6)
    pred, target, _ = make_case(name, "per_step", rng)
    pred = np.where(rng.uniform(size=pred.shape) < 0.5, -1e4, 1e4)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, d = losses.get(name)(pred, target)
    assert np.isfinite(value) and np.all(np.isfinite(d))
    compare(name, pred, target, None, value, d)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", NAMES)
def test_central_differences(name, layout):
    pred, target, lengths = make_case(name, layout, np.random.default_rng(7), scale=1.0)
    loss = losses.get(name)
    _, d = loss(pred, target, lengths)
    real = np.argwhere(np.isfinite(pred))
    h = 1e-6
    for idx in map(tuple, real[:: max(1, len(real) // 15)]):
        up, down = pred.copy(), pred.copy()
        up[idx] += h
        down[idx] -= h
        numeric = (loss(up, target, lengths)[0] - loss(down, target, lengths)[0]) / (2 * h)
        assert d[idx] == pytest.approx(numeric, rel=1e-5, abs=1e-9), f"at {idx}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_crossentropy_keeps_the_tiny_loss_of_a_confident_right_answer(dtype):
    # Exactly: ℓ = log1p(e^−|z|) and ∂ℓ/∂z = ∓σ(−|z|) when sign(z) agrees with the 0/1 label.
    # log(1 + eᶻ) − y z loses it to cancellation (40 − 40 = 0, 1.3 % off at z = 30 in float64),
    # where torch is exact for y = 1 (4.25e-18 at z = 40)
    z = np.array([[20.0], [30.0], [40.0], [80.0], [-20.0], [-30.0], [-40.0], [-80.0]], dtype=dtype)
    y = (z > 0).astype(dtype)
    small = np.exp(-np.abs(z.astype(np.float64)))
    value, d = losses.BinaryCrossentropy()(z, y)
    assert value == pytest.approx(np.log1p(small).mean(), rel=1e-6 if dtype == np.float32 else 1e-14)
    want = np.where(z > 0, -1.0, 1.0) * small / (1 + small) / len(z)
    np.testing.assert_allclose(d, want, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0)
    assert d.dtype == dtype


def test_float32_stays_float32():
    pred = np.zeros((2, 3, 4), dtype=np.float32)
    value, d = losses.SparseCategoricalCrossentropy()(pred, np.zeros((2, 3), dtype=int))
    assert d.dtype == np.float32 and value == pytest.approx(np.log(4))


def test_golden_values():
    value, d = losses.MeanSquaredError()(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    assert value == 2.5 and d.tolist() == [[1.0, 2.0]]
    value, d = losses.BinaryCrossentropy()(np.zeros((1, 2)), np.array([[1.0, 0.0]]))
    assert value == pytest.approx(np.log(2)) and d.tolist() == [[-0.25, 0.25]]
    # Only step 0 of sequence 0 is real: the mean runs over 1 step, not over B·T = 4.
    pred = np.zeros((2, 2, 3))
    value, d = losses.SparseCategoricalCrossentropy()(pred, np.array([[1, 9], [9, 9]]), np.array([1, 0]))
    assert value == pytest.approx(np.log(3))
    np.testing.assert_allclose(d[0, 0], [1 / 3, -2 / 3, 1 / 3])
    assert not d[0, 1:].any() and not d[1].any()


def test_integral_float_labels_are_accepted():
    pred = np.random.default_rng(0).standard_normal((3, 4))
    loss = losses.SparseCategoricalCrossentropy()
    assert loss(pred, np.array([0.0, 3.0, 1.0]))[0] == loss(pred, np.array([0, 3, 1]))[0]


def test_non_finite_pred_gives_nan_without_warning():
    pred = np.array([[np.inf, 0.0], [0.0, 1.0]])
    for name in NAMES:
        target = np.array([0, 1]) if name.startswith("sparse") else np.array([[1.0, 0.0], [0.0, 1.0]])
        value, d = losses.get(name)(pred, target)
        assert np.isnan(value) and np.all(np.isnan(d))


def test_overflow_gives_inf_without_warning():
    value, d = losses.MeanSquaredError()(np.array([[1e200]]), np.array([[-1e200]]))
    assert value == np.inf and d.tolist() == [[4e200]]


def test_get():
    assert isinstance(losses.get("MSE"), losses.MeanSquaredError)
    assert isinstance(losses.get("mean_squared_error"), losses.MeanSquaredError)
    assert isinstance(losses.get("SparseCategoricalCrossentropy"), losses.SparseCategoricalCrossentropy)
    bce = losses.BinaryCrossentropy()
    assert losses.get(bce) is bce
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'; known: \['binary_crossentropy', "
                                         r"'categorical_crossentropy', 'mean_squared_error', 'mse', "
                                         r"'sparse_categorical_crossentropy'\]"):
        losses.get("hinge")


Z2, Z3 = np.zeros((2, 3)), np.zeros((2, 4, 3))
SPARSE, CAT = losses.SparseCategoricalCrossentropy(), losses.CategoricalCrossentropy()


@pytest.mark.parametrize("call, match", [
    (lambda: SPARSE(Z2, np.array([0, 3])), r"target labels must lie in \[0, C\) = \[0, 3\), got \[3\]"),
    (lambda: SPARSE(Z2, np.array([-1, 0])), r"target labels must lie in \[0, C\) = \[0, 3\), got \[-1\]"),
    (lambda: SPARSE(Z2, np.array([0.0, 1.5])), r"target must hold integer class labels .*non-integer values such as \[1.5\]"),
    (lambda: SPARSE(Z2, np.array([0.0, np.inf])), r"target must hold integer class labels .*non-integer values such as \[inf\]"),
    (lambda: SPARSE(Z2, np.array(["a", "b"])), r"target must hold integer class labels .*dtype <U1"),
    (lambda: SPARSE(Z3, np.array([["a"] * 4] * 2), np.array([1, 2])), r"target must hold integer .*dtype <U1"),
    (lambda: SPARSE(Z2, np.zeros((2, 4), dtype=int)),
     r"target must hold integer class labels of shape \(B\) = \(2,\) for pred of shape \(2, 3\), got \(2, 4\); "
     r"pred has one output per sequence \(B, C\), so the target is the last step's only"),
    (lambda: SPARSE(Z3, np.zeros(2, dtype=int)), r"shape \(B, T\) = \(2, 4\) for pred of shape \(2, 4, 3\), got \(2,\)"),
    (lambda: SPARSE(Z2, np.zeros((2, 1), dtype=int)), r"got \(2, 1\); drop the trailing axis of size 1 \(e.g. y.reshape"),
    (lambda: SPARSE(Z3, np.zeros((2, 4, 1), dtype=int)), r"got \(2, 4, 1\); drop the trailing axis of size 1"),
    (lambda: CAT(Z2, np.zeros((2, 4, 3))),
     r"target must hold targets of shape \(B, C\) = \(2, 3\) for pred of shape \(2, 3\), got \(2, 4, 3\); "
     r"pred has one output per sequence"),
    (lambda: CAT(Z3, np.zeros((2, 4, 2))), r"shape \(B, T, C\) = \(2, 4, 3\) .* got \(2, 4, 2\)"),
    (lambda: losses.BinaryCrossentropy()(Z2, np.full((2, 3), 2.0)), r"target must lie in \[0, 1\]"),
    (lambda: losses.MeanSquaredError()(Z2, np.full((2, 3), np.nan)), "target must be finite"),
    (lambda: losses.MeanSquaredError()(np.zeros((2, 3), dtype=int), Z2), r"pred must be a floating-point np.ndarray of shape \(B, C\) or \(B, T, C\)"),
    (lambda: losses.MeanSquaredError()(np.zeros(3), np.zeros(3)), "pred must be a floating-point"),
    (lambda: losses.MeanSquaredError()(Z3, Z3, np.array([1, 5])), r"lengths must be an integer array of shape \(B,\) = \(2,\) with 0 <= lengths\[b\] <= T = 4"),
    (lambda: losses.MeanSquaredError()(Z3, Z3, np.array([1.0, 2.0])), "lengths must be an integer array"),
    (lambda: losses.MeanSquaredError()(Z3, Z3, np.array([0, 0])), "the batch has no real step"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("last, loss", [("softmax", "sparse_categorical_crossentropy"),
                                        ("softmax", "categorical_crossentropy"),
                                        ("sigmoid", "binary_crossentropy")])
def test_compile_refuses_an_output_activation_the_loss_applies_again(last, loss):
    # Keras's Dense(C, activation="softmax") + cross-entropy idiom would train through softmax twice
    from rnnkit import Sequential
    from rnnkit.layers import LSTM, Activation, Dense

    for output in (Dense(3, activation=last), Activation(last)):
        model = Sequential([LSTM(4), output], input_shape=(5, 2))
        with pytest.raises(ValueError, match=f"takes logits and applies {last} itself.*remove that activation"):
            model.compile("adam", loss=loss)
    Sequential([LSTM(4), Dense(3, activation=last)], input_shape=(5, 2)).compile("adam", loss="mse")
