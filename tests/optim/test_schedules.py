"""Learning-rate schedules: golden values, torch.optim.lr_scheduler parity, config, errors."""

from __future__ import annotations

import json

import pytest

from rnnkit.optim import schedules
from rnnkit.optim.schedules import ExponentialDecay, Piecewise, StepDecay


def test_ai_edu_mnist_piecewise():
    sched = Piecewise([30, 50, 70], [0.01, 0.008, 0.005, 0.002])
    got = {e: sched(e) for e in (0, 29, 30, 49, 50, 69, 70, 500)}
    assert got == {0: 0.01, 29: 0.01, 30: 0.008, 49: 0.008, 50: 0.005, 69: 0.005, 70: 0.002, 500: 0.002}


def test_step_decay_golden_values():
    every = StepDecay(1.0, drop_every=3, factor=0.5)
    assert [every(e) for e in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    at = StepDecay(1.0, milestones=[2, 5], factor=0.1)
    assert [at(e) for e in range(7)] == [1.0, 1.0, 0.1, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1]


def test_exponential_decay_golden_values():
    sched = ExponentialDecay(0.5, rate=0.5)
    assert [sched(e) for e in range(4)] == [0.5, 0.25, 0.125, 0.0625]


@pytest.mark.torch
@pytest.mark.parametrize("mine, theirs", [
    (StepDecay(0.1, drop_every=3, factor=0.7), ("StepLR", {"step_size": 3, "gamma": 0.7})),
    (StepDecay(0.1, milestones=[2, 5, 6], factor=0.3), ("MultiStepLR", {"milestones": [2, 5, 6], "gamma": 0.3})),
    (ExponentialDecay(0.1, rate=0.9), ("ExponentialLR", {"gamma": 0.9})),
])
def test_matches_torch_schedulers(mine, theirs):
    torch = pytest.importorskip("torch", reason="torch.optim.lr_scheduler is the reference")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = getattr(torch.optim.lr_scheduler, theirs[0])(opt, **theirs[1])
    for epoch in range(12):
        assert mine(epoch) == pytest.approx(sched.get_last_lr()[0], rel=1e-12), f"epoch {epoch}"
        opt.step()
        sched.step()


@pytest.mark.parametrize("sched", [
    StepDecay(0.1, drop_every=3), StepDecay(0.1, milestones=[1, 4], factor=0.5),
    Piecewise([10], [0.1, 0.0]), ExponentialDecay(0.1, 0.99),
])
def test_config_round_trip(sched):
    cfg = json.loads(json.dumps(sched.config()))
    rebuilt = schedules.from_config(cfg)
    assert rebuilt == sched and [rebuilt(e) for e in range(20)] == [sched(e) for e in range(20)]


@pytest.mark.parametrize("call, match", [
    (lambda: StepDecay(0.1), "exactly one of drop_every or milestones"),
    (lambda: StepDecay(0.1, drop_every=2, milestones=[3]), "exactly one of drop_every or milestones"),
    (lambda: StepDecay(0.1, drop_every=0), "drop_every must be an integer >= 1, got 0"),
    (lambda: StepDecay(0.1, milestones=[5, 3]), "milestones must be a non-empty, strictly increasing"),
    (lambda: StepDecay(0.1, milestones=[1.5]), "milestones must be"),
    (lambda: StepDecay(0.1, milestones=(m for m in [1.5, 2.7])), r"milestones must be.*got \[1.5, 2.7\]"),
    (lambda: StepDecay(0.1, milestones=[3, float("inf")]), "milestones must be"),
    (lambda: Piecewise((b for b in [True, 2]), [1, 2, 3]), "boundaries must be"),
    (lambda: StepDecay(-0.1, drop_every=1), "initial must be a finite number > 0"),
    (lambda: Piecewise([30, 50], [0.1, 0.01]), r"values must hold len\(boundaries\) \+ 1 = 3 rates, got 2"),
    (lambda: Piecewise([], [0.1]), "boundaries must be a non-empty"),
    (lambda: Piecewise([10], [0.1, -0.01]), r"values\[1\] must be a finite number >= 0, got -0.01"),
    (lambda: ExponentialDecay(0.1, rate=0), "rate must be a finite number > 0"),
    (lambda: ExponentialDecay(0.1, 0.9)(-1), "epoch must be an integer >= 0, got -1"),
    (lambda: ExponentialDecay(0.1, 0.9)(1.5), "epoch must be an integer >= 0, got 1.5"),
    (lambda: schedules.from_config({"class_name": "Cosine"}), r"class_name one of \['ExponentialDecay', 'Piecewise', 'StepDecay'\]"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_a_rate_that_overflows_is_refused_by_the_optimizer_naming_the_epoch():
    # 1.5^2000 overflows a float: Python raises OverflowError, torch would give inf
    from rnnkit import optim

    for sched in (ExponentialDecay(0.1, rate=1.5), StepDecay(0.1, drop_every=1, factor=1.5)):
        assert sched(2000) == float("inf")
        opt = optim.SGD(lr=sched)
        opt.set_epoch(2000)
        with pytest.raises(ValueError, match="lr schedule value at epoch 2000 must be a finite number"):
            opt.current_lr
