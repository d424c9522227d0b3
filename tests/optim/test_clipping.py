"""Gradient clipping: parity with torch.nn.utils.clip_grad_value_ / clip_grad_norm_."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.optim import clip_by_global_norm, clip_by_value


def random_grads(rng, scale=1.0, dtype=np.float64):
    shapes = {"0.W_x": (rng.integers(1, 10), 4), "0.W_h": (4, 4), "1.forward.b_h": (rng.integers(1, 10),)}
    return {k: (scale * rng.standard_normal(s)).astype(dtype) for k, s in shapes.items()}


@pytest.mark.torch
@pytest.mark.parametrize("clip_value", [0.0, 0.3, 10.0])
def test_clip_by_value_matches_torch(clip_value):
    torch = pytest.importorskip("torch", reason="torch.nn.utils is the reference")
    grads = random_grads(np.random.default_rng(0))
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(tensors, clip_value)
    assert clip_by_value(grads, clip_value) is None
    for t, (k, g) in zip(tensors, grads.items()):
        np.testing.assert_array_equal(g, t.grad.numpy(), err_msg=k)


@pytest.mark.torch
@pytest.mark.parametrize("scale, max_norm", [(1.0, 0.5), (1.0, 100.0), (1e-3, 1.0), (0.0, 1.0), (50.0, 5.0)])
def test_clip_by_global_norm_matches_torch(scale, max_norm):
    torch = pytest.importorskip("torch", reason="torch.nn.utils is the reference")
    grads = random_grads(np.random.default_rng(1), scale)
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    expected_norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm, foreach=False).item()
    total = clip_by_global_norm(grads, max_norm)
    assert isinstance(total, float)
    assert total == pytest.approx(expected_norm, rel=1e-14, abs=0)
    for t, (k, g) in zip(tensors, grads.items()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-14, atol=1e-300, err_msg=k)


def test_clip_by_global_norm_hand_computed():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]], dtype=np.float32)}
    total = clip_by_global_norm(grads, 1.0)
    assert total == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_array_equal(grads["a"], [3.0 * coef, 0.0])
    assert grads["b"].dtype == np.float32
    np.testing.assert_allclose(grads["b"], [[4.0 * coef]], rtol=1e-7)
    assert np.sqrt(np.sum(grads["a"] ** 2) + float(grads["b"][0, 0]) ** 2) < 1.0


def test_below_the_limit_nothing_changes():
    grads = random_grads(np.random.default_rng(2))
    before = {k: g.copy() for k, g in grads.items()}
    clip_by_global_norm(grads, 1e6)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])


def test_huge_float32_grads_do_not_overflow():
    grads = {"w": np.full(4, 1e30, dtype=np.float32)}
    assert clip_by_global_norm(grads, 1.0) == pytest.approx(2e30)
    np.testing.assert_allclose(grads["w"], 0.5, rtol=1e-6)


def test_non_finite_norm_leaves_grads_alone():
    grads = {"w": np.array([1.0, np.inf]), "v": np.array([2.0])}
    assert clip_by_global_norm(grads, 1.0) == np.inf
    np.testing.assert_array_equal(grads["v"], [2.0])


@pytest.mark.parametrize("call, error, match", [
    (lambda: clip_by_value({"w": np.ones(2)}, -1.0), ValueError, "clip_value must be a finite number"),
    (lambda: clip_by_global_norm({"w": np.ones(2)}, None), ValueError, "max_norm must be a finite number"),
    (lambda: clip_by_global_norm([np.ones(2)], 1.0), TypeError, "grads must be a dict"),
    (lambda: clip_by_global_norm({"w": np.ones(2, dtype=int)}, 1.0), ValueError, r"grads\['w'\] must be a writeable floating-point"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.torch
@pytest.mark.parametrize("optimizer, options", [("sgd", {"momentum": 0.9}), ("adam", {}), ("adamw", {})])
@pytest.mark.parametrize("clip", [{"clipnorm": 0.05}, {"clipvalue": 0.01}])
def test_fit_clips_the_loss_gradient_before_the_optimizer_adds_weight_decay(optimizer, options, clip):
    """As with torch: clip_grad_*_ on .grad, then the optimizer's step adds weight_decay · p (or
    decays p, AdamW): the decay term is neither clipped nor counted in the norm."""
    torch = pytest.importorskip("torch", reason="torch.optim is the reference")
    import rnnkit
    from rnnkit.layers import Dense, SimpleRNN
    from rnnkit.training.data import SequenceData
    from rnnkit.training.loop import train_step

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 5, 3)), 10 * rng.normal(size=(6, 2))
    model = rnnkit.Sequential([SimpleRNN(4), Dense(2)], dtype=np.float64, seed=0)
    model.build((None, 3))
    model.compile(optimizer, loss="mse", lr=0.1, weight_decay=0.5, **options, **clip)
    before = {k: v.copy() for k, v in model.params.items()}
    out, _, cache = model.forward(x, training=True)
    grads = model.backward(model.compiled.loss(out, y)[1], cache)
    tensors = [torch.tensor(before[k], requires_grad=True) for k in grads]
    for t, k in zip(tensors, grads):
        t.grad = torch.tensor(grads[k])
    if "clipnorm" in clip:
        norm = torch.nn.utils.clip_grad_norm_(tensors, clip["clipnorm"], foreach=False)
        assert norm > 10 * clip["clipnorm"]  # the clipping acts
    else:
        torch.nn.utils.clip_grad_value_(tensors, clip["clipvalue"])
    torch_class = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[optimizer]
    torch_class(tensors, lr=0.1, weight_decay=0.5, **options).step()

    train_step(model, SequenceData.from_user(x, y).take(np.arange(6)), model.compiled, rng, 0, 0)
    for t, k in zip(tensors, grads):
        np.testing.assert_allclose(model.params[k], t.detach().numpy(), rtol=0, atol=1e-13, err_msg=k)
