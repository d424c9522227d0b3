"""rnnkit equals torch.nn.RNN / LSTM / GRU with copied weights, in float64: outputs, final
states and every gradient (inputs, initial states, parameters), for 1–3 layers, both
directions and variable lengths through pack_padded_sequence. Shapes are drawn from 1..9 under
fixed seeds, so batch 1 and T 1 come up."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import rnnkit
from tests.layers.torch_reference import make_pair, split_state, torch_grad_as_ours

torch = pytest.importorskip("torch", reason="PyTorch is the reference these tests compare against")
pytestmark = pytest.mark.torch

TOL = 1e-9
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def run_torch(module, x, lengths, h0, c0, family):
    xt = torch.tensor(x, requires_grad=True)
    state = None
    if h0 is not None:
        h0t = torch.tensor(h0, requires_grad=True)
        c0t = torch.tensor(c0, requires_grad=True) if family == "lstm" else None
        state = (h0t, c0t) if family == "lstm" else h0t
    if lengths is None:
        out, final = module(xt, state)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                         enforce_sorted=False)
        out, final = module(packed, state)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    h_n, c_n = final if family == "lstm" else (final, None)
    return xt, state, out, h_n, c_n


def ours_finals_order(num_layers, D, family):
    """Index pairs (which, k) describing our flat final states: which = 'h' or 'c', k = l·D + d."""
    order = []
    for layer in range(num_layers):
        for d in range(D):
            order.append(("h", layer * D + d))
            if family == "lstm":
                order.append(("c", layer * D + d))
    return order


@pytest.mark.parametrize("backend", ["reference", "auto"])
@pytest.mark.parametrize("family,activation", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("variable", [False, True])
@pytest.mark.parametrize("given_state", [False, True])
def test_equals_torch(backend, family, activation, num_layers, bidirectional, variable, given_state):
    with rnnkit.backend(backend):
        check_equals_torch(family, activation, num_layers, bidirectional, variable, given_state)


def check_equals_torch(family, activation, num_layers, bidirectional, variable, given_state):
    seed = zlib.crc32(repr((family, activation, num_layers, bidirectional, variable, given_state)).encode())
    rng = np.random.default_rng(seed)
    B, T, F, H = (int(v) for v in rng.integers(1, 10, size=4))
    D = 2 if bidirectional else 1
    module, ours = make_pair(torch, family, F, H, num_layers, bidirectional, activation, seed=seed % 1000)
    x = rng.normal(size=(B, T, F))
    lengths = rng.integers(1, T + 1, size=B) if variable else None
    if variable and B > 1:
        lengths[0] = T  # torch's padded output is only T long if some sequence is
    h0 = rng.normal(size=(num_layers * D, B, H)) if given_state else None
    c0 = rng.normal(size=(num_layers * D, B, H)) if given_state else None

    xt, state_t, out_t, h_n, c_n = run_torch(module, x, lengths, h0, c0, family)
    R_out = rng.normal(size=out_t.shape)
    R_h = rng.normal(size=h_n.shape)
    loss = (out_t * torch.tensor(R_out)).sum() + (h_n * torch.tensor(R_h)).sum()
    R_c = None
    if family == "lstm":
        R_c = rng.normal(size=c_n.shape)
        loss = loss + (c_n * torch.tensor(R_c)).sum()
    loss.backward()

    initial = None
    if given_state:
        hs = split_state(h0, num_layers, D)
        if family == "lstm":
            cs = split_state(c0, num_layers, D)
            initial = [tuple(zip(h, c)) if D == 2 else (h, c) for h, c in zip(hs, cs)]
        else:
            initial = hs
    (y, *finals), cache = ours.forward(x, lengths=lengths, initial_state=initial)
    np.testing.assert_allclose(y, out_t.detach().numpy(), atol=TOL, rtol=0, err_msg="outputs")
    order = ours_finals_order(num_layers, D, family)
    torch_final = {"h": h_n.detach().numpy(), "c": None if c_n is None else c_n.detach().numpy()}
    for (which, k), mine in zip(order, finals):
        np.testing.assert_allclose(mine, torch_final[which][k], atol=TOL, rtol=0, err_msg=f"final {which}[{k}]")

    R = {"h": R_h, "c": R_c}
    g = ours.backward((R_out, *[R[which][k] for which, k in order]), cache)
    np.testing.assert_allclose(g.dx, xt.grad.numpy(), atol=TOL, rtol=0, err_msg="input gradient")
    expected = torch_grad_as_ours(module, ours)
    assert set(expected) == set(g.params)
    for name, value in expected.items():
        np.testing.assert_allclose(g.params[name], value, atol=TOL, rtol=0, err_msg=f"gradient of {name}")
    if given_state:
        h0_grad = state_t[0].grad.numpy() if family == "lstm" else state_t.grad.numpy()
        for layer, d_state in enumerate(g.initial_state):
            per_direction = d_state if D == 2 else (d_state,)
            for d, d_dir in enumerate(per_direction):
                d_h = d_dir[0] if isinstance(d_dir, tuple) else d_dir
                np.testing.assert_allclose(d_h, h0_grad[layer * D + d], atol=TOL, rtol=0, err_msg="dh0")
                if family == "lstm":
                    np.testing.assert_allclose(d_dir[1], state_t[1].grad.numpy()[layer * D + d], atol=TOL,
                                               rtol=0, err_msg="dc0")
