"""Optimizers: torch.optim parity in float64 for every shared option combination, bit-identical
resume through state_dict (and safetensors), the factory, and the error messages."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from rnnkit import optim
from rnnkit.optim import schedules

STEPS = 6
KEYS = ("0.W_x", "0.W_h", "0.b_h", "1.forward.b_h")


def make_params(rng, dtype=np.float64):
    shapes = {"0.W_x": (rng.integers(1, 10), 3), "0.W_h": (3, 3), "0.b_h": (3,),
              "1.forward.b_h": (rng.integers(1, 10),)}
    return {k: rng.standard_normal(shapes[k]).astype(dtype) for k in KEYS}


def make_grads(rng, params, steps=STEPS):
    return [{k: rng.standard_normal(p.shape).astype(p.dtype) for k, p in params.items()}
            for _ in range(steps)]


def combos(**options):
    names = list(options)
    return [dict(zip(names, values)) for values in itertools.product(*options.values())]


CASES = (
    [("sgd", "SGD", c) for c in combos(lr=[0.1], momentum=[0.0, 0.9], nesterov=[False, True],
                                        weight_decay=[0.0, 0.1]) if c["momentum"] or not c["nesterov"]]
    + [("rmsprop", "RMSprop", c) for c in combos(lr=[0.01], alpha=[0.99, 0.5], eps=[1e-8, 0.1],
                                                  momentum=[0.0, 0.5], centered=[False, True],
                                                  weight_decay=[0.0, 0.1])]
    + [("adam", "Adam", c) for c in combos(lr=[0.01], betas=[(0.9, 0.999), (0.3, 0.5)],
                                            eps=[1e-8, 0.1], weight_decay=[0.0, 0.1],
                                            amsgrad=[False, True])]
    + [("adamw", "AdamW", c) for c in combos(lr=[0.01], betas=[(0.9, 0.999), (0.3, 0.5)],
                                              eps=[1e-8], weight_decay=[0.0, 0.01, 0.5],
                                              amsgrad=[False, True])]
)


def run_torch(torch, torch_name, options, params, grad_steps, lrs=None):
    tensors = {k: torch.tensor(p.copy()) for k, p in params.items()}
    opt = getattr(torch.optim, torch_name)(list(tensors.values()), foreach=False, **options)
    for i, grads in enumerate(grad_steps):
        if lrs is not None:
            opt.param_groups[0]["lr"] = lrs[i]
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k]) if k in grads else None
        opt.step()
    return {k: t.numpy() for k, t in tensors.items()}


def assert_close(mine, theirs, atol=1e-12):
    """Within atol, relative to the size of the weights where they grow past 1 (SGD on gradients
    of 1e3 takes them there, and rounding with them)."""
    for k in theirs:
        diff = np.max(np.abs(mine[k] - theirs[k]), initial=0.0)
        scale = max(1.0, np.max(np.abs(theirs[k]), initial=0.0))
        assert diff <= atol * scale, f"{k}: max |mine - theirs| = {diff:.3g}\nmine\n{mine[k]}\ntheirs\n{theirs[k]}"


@pytest.mark.torch
@pytest.mark.parametrize("name, torch_name, options", CASES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in o.items())}" for n, _, o in CASES])
def test_matches_torch(name, torch_name, options):
    torch = pytest.importorskip("torch", reason="torch.optim is the reference")
    rng = np.random.default_rng(0)
    params = make_params(rng)
    # 30 steps, gradients from 1e-3 to 1e3 in size: the moving averages forget their start, eps
    # matters on some steps and not others, and amsgrad's running max is overtaken and not.
    steps = 30
    grad_steps = [{k: g * 10.0 ** rng.uniform(-3, 3) for k, g in grads.items()}
                  for grads in make_grads(rng, params, steps)]
    # Two parameters miss a gradient once: torch skips them and their step counts stay behind.
    del grad_steps[2]["0.b_h"]
    del grad_steps[17]["0.W_x"]
    expected = run_torch(torch, torch_name, options, params, grad_steps)
    mine = {k: p.copy() for k, p in params.items()}
    opt = optim.get(name, **options)
    for grads in grad_steps:
        opt.step(mine, grads)
    assert_close(mine, expected)
    assert opt.iterations == steps and int(opt.state["0.b_h"]["step"]) == steps - 1


# The rate enters each rule in its own place (AdamW's decoupled decay p·(1 − lr·λ), RMSprop's
# momentum buffer kept without lr, Nesterov's look-ahead), so a changing rate is checked for each.
SCHEDULED = [("sgd", "SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
             ("rmsprop", "RMSprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.1}),
             ("adam", "Adam", {"weight_decay": 0.1, "amsgrad": True}),
             ("adamw", "AdamW", {"weight_decay": 0.5})]


@pytest.mark.torch
@pytest.mark.parametrize("name, torch_name, options", SCHEDULED, ids=[n for n, _, _ in SCHEDULED])
def test_schedule_matches_torch_with_lr_set_per_epoch(name, torch_name, options):
    torch = pytest.importorskip("torch", reason="torch.optim is the reference")
    rng = np.random.default_rng(1)
    params = make_params(rng)
    grad_steps = make_grads(rng, params)
    sched = schedules.StepDecay(0.05, drop_every=2, factor=0.5)
    epochs = [0, 0, 1, 2, 2, 5]
    expected = run_torch(torch, torch_name, {"lr": 0.05, **options}, params, grad_steps,
                         lrs=[sched(e) for e in epochs])
    mine = {k: p.copy() for k, p in params.items()}
    opt = optim.get(name, lr=sched, **options)
    for epoch, grads in zip(epochs, grad_steps):
        opt.set_epoch(epoch)
        opt.step(mine, grads)
    assert_close(mine, expected)


@pytest.mark.parametrize("name, _, options", CASES[::3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_state_dict_round_trip_continues_bit_for_bit(name, _, options, dtype):
    from safetensors.numpy import load, save

    rng = np.random.default_rng(2)
    params = make_params(rng, dtype)
    grad_steps = make_grads(rng, params)
    lr = schedules.ExponentialDecay(options["lr"], 0.9)
    a = optim.get(name, **{**options, "lr": lr})
    for epoch, grads in enumerate(grad_steps[:3]):
        a.set_epoch(epoch)
        a.step(params, grads)
    config, blob = json.dumps(a.config()), save(a.state_dict())
    resumed = {k: p.copy() for k, p in params.items()}
    b = optim.from_config(json.loads(config))
    b.load_state_dict(load(blob))
    assert b.epoch == 2 and b.iterations == 3
    for epoch, grads in enumerate(grad_steps[3:], start=3):
        for opt, ps in ((a, params), (b, resumed)):
            opt.set_epoch(epoch)
            opt.step(ps, grads)
    for k in params:
        assert resumed[k].dtype == dtype
        np.testing.assert_array_equal(resumed[k], params[k], err_msg=k)
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v, err_msg=k)


def test_state_dict_is_a_flat_copy():
    params = {"0.W_x": np.ones((2, 2))}
    opt = optim.Adam(lr=0.1)
    opt.step(params, {"0.W_x": np.ones((2, 2))})
    sd = opt.state_dict()
    assert set(sd) == {"iterations", "epoch", "state/0.W_x/step", "state/0.W_x/exp_avg",
                       "state/0.W_x/exp_avg_sq"}
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["state/0.W_x/exp_avg"][:] = 99.0
    assert opt.state["0.W_x"]["exp_avg"][0, 0] != 99.0


def test_step_is_in_place_and_leaves_grads_alone():
    p = np.array([1.0, -2.0], dtype=np.float32)
    g = np.array([0.5, 0.5], dtype=np.float32)
    params, grads = {"w": p}, {"w": g}
    optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.5).step(params, grads)
    assert params["w"] is p and p.dtype == np.float32
    np.testing.assert_allclose(p, [1.0 - 0.1 * (0.5 + 0.5), -2.0 - 0.1 * (0.5 - 1.0)], rtol=1e-6)
    np.testing.assert_array_equal(g, [0.5, 0.5])


def test_plain_sgd_golden_values():
    params = {"w": np.array([1.0, 2.0])}
    opt = optim.SGD(lr=0.5, momentum=0.5)
    for _ in range(2):
        opt.step(params, {"w": np.array([1.0, -1.0])})
    # b₁ = g, b₂ = 0.5 g + g = 1.5 g; w = w₀ − 0.5 (1 + 1.5) g
    np.testing.assert_array_equal(params["w"], [1.0 - 1.25, 2.0 + 1.25])


def test_get_and_config():
    opt = optim.get("AdamW", lr=0.01)
    assert isinstance(opt, optim.AdamW) and opt.weight_decay == 0.01
    assert optim.get(opt) is opt
    assert optim.get(opt.config()).config() == opt.config()
    cfg = optim.RMSprop(lr=schedules.Piecewise([30, 50, 70], [0.01, 0.008, 0.005, 0.002])).config()
    assert json.loads(json.dumps(cfg)) == cfg
    assert optim.from_config(cfg).lr(60) == 0.005


@pytest.mark.parametrize("call, error, match", [
    (lambda: optim.get("adagrad"), ValueError, r"unknown optimizer 'adagrad'; known: \['adam', 'adamw', 'rmsprop', 'sgd'\]"),
    (lambda: optim.get(3), ValueError, "optimizer must be a name"),
    (lambda: optim.get(optim.SGD(), lr=1.0), ValueError, "kwargs can only be given with an optimizer name"),
    (lambda: optim.SGD(lr=-1.0), ValueError, r"lr must be a finite number in \[0.0, inf\], got -1.0"),
    (lambda: optim.SGD(lr="fast"), ValueError, "lr must be a finite number"),
    (lambda: optim.SGD(nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
    (lambda: optim.SGD(momentum=-0.1), ValueError, "momentum must be"),
    (lambda: optim.RMSprop(alpha=1.5), ValueError, r"alpha must be a finite number in \[0.0, 1.0\]"),
    (lambda: optim.Adam(betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be a finite number in \[0.0, 1.0\)"),
    (lambda: optim.Adam(betas=0.9), ValueError, "betas must be a pair"),
    (lambda: optim.Adam(eps=float("nan")), ValueError, "eps must be a finite number"),
    (lambda: optim.Adam(amsgrad=1), ValueError, "amsgrad must be a bool"),
    (lambda: optim.AdamW(weight_decay=-1), ValueError, "weight_decay must be"),
    (lambda: optim.from_config({"lr": 0.1}), ValueError, "config must be a dict with a 'name'"),
    (lambda: optim.Adam.from_config({"name": "sgd"}), ValueError, "config is for optimizer 'sgd', not 'adam'"),
    (lambda: optim.SGD(lr=lambda e: 0.1).config(), ValueError, "lr is a plain callable"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("params, grads, match", [
    ({"w": np.zeros(2)}, {"v": np.zeros(2)}, r"grads has keys that are not in params: \['v'\]"),
    ({"w": np.zeros(2)}, {"w": np.zeros(3)}, r"grads\['w'\] must be a floating-point np.ndarray of shape \(2,\)"),
    ({"w": np.zeros(2)}, {"w": [0.0, 0.0]}, r"grads\['w'\] must be"),
    ({"w": np.zeros(2, dtype=int)}, {"w": np.zeros(2)}, r"params\['w'\] must be a writeable floating-point"),
    ([np.zeros(2)], {"w": np.zeros(2)}, r"params must be a dict"),
])
def test_bad_step_arguments(params, grads, match):
    with pytest.raises((ValueError, TypeError), match=match):
        optim.Adam().step(params, grads)


def test_bad_epoch_and_schedule_value():
    opt = optim.SGD(lr=lambda epoch: -1.0)
    with pytest.raises(ValueError, match="epoch must be an integer >= 0, got -1"):
        opt.set_epoch(-1)
    with pytest.raises(ValueError, match="lr schedule value at epoch 0 must be"):
        opt.step({"w": np.zeros(1)}, {"w": np.zeros(1)})


def test_load_state_dict_rejects_foreign_state():
    params = {"w": np.zeros(3)}
    sgd = optim.SGD(momentum=0.9)
    sgd.step(params, {"w": np.ones(3)})
    with pytest.raises(ValueError, match=r"unexpected entry 'state/w/momentum_buffer'.*slot in \['step', 'exp_avg', 'exp_avg_sq'\]"):
        optim.Adam().load_state_dict(sgd.state_dict())
    adam = optim.Adam()
    adam.step(params, {"w": np.ones(3)})
    with pytest.raises(ValueError, match=r"lacks \['max_exp_avg_sq'\] for parameter 'w'"):
        optim.Adam(amsgrad=True).load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match=r"state_dict lacks \['iterations', 'epoch'\]"):
        adam.load_state_dict({})
    other = optim.Adam()
    other.load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match=r"params\['w'\] has shape \(4,\) but the optimizer state 'exp_avg' has shape \(3,\)"):
        other.step({"w": np.zeros(4)}, {"w": np.zeros(4)})


def test_centered_rmsprop_stays_finite_on_constant_gradients():
    params = {"w": np.zeros(5)}
    opt = optim.RMSprop(lr=1e-3, alpha=0.5, centered=True)
    for _ in range(200):
        opt.step(params, {"w": np.full(5, 0.3)})
    assert np.all(np.isfinite(params["w"]))


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_ema_averages_the_iterates_without_changing_them(name):
    beta = 0.8
    rng = np.random.default_rng(3)
    params = make_params(rng)
    grad_steps = make_grads(rng, params)
    del grad_steps[2]["0.b_h"]  # its average counts its own updates only
    plain, averaged = {k: p.copy() for k, p in params.items()}, {k: p.copy() for k, p in params.items()}
    a, b = optim.get(name, lr=0.01), optim.get(name, lr=0.01, ema=beta)
    iterates = {k: [] for k in params}
    for grads in grad_steps:
        a.step(plain, grads)
        b.step(averaged, grads)
        for k in grads:
            iterates[k].append(plain[k].copy())
    for k in params:  # the live weights follow the same path, bit for bit
        np.testing.assert_array_equal(averaged[k], plain[k], err_msg=k)
    mean = b.averaged_weights(averaged)
    for k, seen in iterates.items():
        t = len(seen)
        weights = [(1 - beta) * beta ** (t - 1 - i) for i in range(t)]
        expected = sum(w * p for w, p in zip(weights, seen)) / (1 - beta**t)
        np.testing.assert_allclose(mean[k], expected, rtol=0, atol=1e-13, err_msg=k)
        assert mean[k] is not averaged[k]
    untouched = b.averaged_weights({**averaged, "new": np.ones(2)})["new"]
    np.testing.assert_array_equal(untouched, np.ones(2))  # no update yet: its value


def test_ema_state_round_trips_and_is_checked():
    from safetensors.numpy import load, save

    params = {"w": np.arange(3.0, dtype=np.float32)}
    a = optim.Adam(lr=0.1, ema=0.9)
    a.step(params, {"w": np.ones(3, np.float32)})
    b = optim.from_config(json.loads(json.dumps(a.config())))
    b.load_state_dict(load(save(a.state_dict())))
    assert b.ema == 0.9 and "state/w/average" in a.state_dict()
    resumed = {"w": params["w"].copy()}
    for opt, ps in ((a, params), (b, resumed)):
        opt.step(ps, {"w": np.full(3, -2.0, np.float32)})
    np.testing.assert_array_equal(b.averaged_weights(resumed)["w"], a.averaged_weights(params)["w"])
    assert b.averaged_weights(resumed)["w"].dtype == np.float32

    no_average = optim.Adam()
    no_average.step({"w": np.zeros(3)}, {"w": np.ones(3)})
    with pytest.raises(ValueError, match=r"lacks \['average'\] for parameter 'w'"):
        optim.Adam(ema=0.9).load_state_dict(no_average.state_dict())
    with pytest.raises(ValueError, match=r"ema must be a finite number in \[0.0, 1.0\), got 1.0"):
        optim.SGD(ema=1.0)
    with pytest.raises(ValueError, match=r"averaged_weights\(\) needs an optimizer created with ema"):
        optim.SGD().averaged_weights(params)


@pytest.mark.torch
def test_ema_against_torch_averaged_model():
    """torch's EMA (AveragedModel + get_ema_multi_avg_fn, like Keras' use_ema) starts at the first
    iterate, a_t = β^(t−1) p₁ + Σ_{i≥2} (1 − β) β^(t−i) p_i; ours is bias-corrected from zero
    (optim/base.py). They differ by exactly the start: ours = (a_t − βᵗ p₁) / (1 − βᵗ)."""
    torch = pytest.importorskip("torch", reason="torch.optim.swa_utils is the reference")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    beta, rng = 0.9, np.random.default_rng(4)
    params = make_params(rng)
    grad_steps = make_grads(rng, params, 30)
    tensors = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(params[k].copy())) for k in KEYS])
    averaged = AveragedModel(tensors, multi_avg_fn=get_ema_multi_avg_fn(beta))
    torch_opt = torch.optim.Adam(tensors, lr=0.01, foreach=False)
    mine, opt = {k: p.copy() for k, p in params.items()}, optim.Adam(lr=0.01, ema=beta)
    for t, grads in enumerate(grad_steps, start=1):
        for k, p in zip(KEYS, tensors):
            p.grad = torch.tensor(grads[k])
        torch_opt.step()
        averaged.update_parameters(tensors)
        opt.step(mine, grads)
        if t == 1:
            first = {k: p.detach().numpy().copy() for k, p in zip(KEYS, tensors)}
        ours = opt.averaged_weights(mine)
        for k, a in zip(KEYS, averaged.module):
            expected = (a.detach().numpy() - beta**t * first[k]) / (1 - beta**t)
            np.testing.assert_allclose(ours[k], expected, rtol=0, atol=1e-12, err_msg=f"{k} at step {t}")


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_in_place_update_is_the_formula_bit_for_bit(amsgrad):
    # the update runs through one scratch array (a big embedding's step held 3x its size in
    # temporaries): the same operations in the same order, so the same bits as written out
    import math

    rng = np.random.default_rng(0)
    p = rng.normal(size=(40, 8)).astype(np.float32)
    expected, m, v, v_max = p.copy(), np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    opt = optim.Adam(lr=0.01, amsgrad=amsgrad)
    for t in range(1, 6):
        g = rng.normal(size=p.shape).astype(np.float32)
        opt.step({"w": p}, {"w": g})
        m += (1 - 0.9) * (g - m)
        v *= 0.999
        v += (1 - 0.999) * (g * g)
        v_max = np.maximum(v_max, v)
        denom = np.sqrt(v_max if amsgrad else v) / math.sqrt(1 - 0.999**t) + 1e-8
        expected -= (0.01 / (1 - 0.9**t)) * (m / denom)
        np.testing.assert_array_equal(p, expected)
