"""rnnkit equals torch.nn.RNN / LSTM / GRU with copied weights, in float64: outputs, final
states and every gradient (inputs, initial states, parameters), for 1–3 layers, both
directions and variable lengths through pack_padded_sequence. Shapes are drawn from 1..9 under
fixed seeds, so batch 1 and T 1 come up. Then the public layers as built with their defaults
(one bias, go_backwards, return_sequences=False, no_grad), Embedding(mask_zero) against
padding_idx, Dense against nn.Linear, and parameter counts against torch's."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import rnnkit
from rnnkit.layers import (GRU, LSTM, Bidirectional, CellSpec, Dense, Embedding, SimpleRNN, reverse_within_lengths,
                           stacked)
from tests.layers.torch_reference import TORCH_CLASS, copy_to_torch, make_pair, split_state, torch_grad_as_ours

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


# --- the public layers, as a user builds them ---------------------------------------------------
# The test above goes through stacked(..., bias="two"). These build SimpleRNN / LSTM / GRU /
# Bidirectional directly with their defaults (Keras' one-bias layout for SimpleRNN and LSTM,
# which torch computes with bias_hh = 0), and cover what only the single layer offers:
# return_sequences=False with variable lengths (the last real step), go_backwards (torch on each
# sequence reversed within its length; outputs in reading order), and the no_grad() pass.
PUBLIC_CELLS = {
    "rnn-tanh": (lambda H, **kw: SimpleRNN(H, **kw), "rnn", "tanh"),
    "rnn-relu": (lambda H, **kw: SimpleRNN(H, "relu", **kw), "rnn", "relu"),
    "lstm": (lambda H, **kw: LSTM(H, **kw), "lstm", "tanh"),
    "gru": (lambda H, **kw: GRU(H, **kw), "gru", "tanh"),
}


@pytest.mark.parametrize("backend", ["reference", "fast"])
@pytest.mark.parametrize("cell", sorted(PUBLIC_CELLS))
@pytest.mark.parametrize("direction", ["forward", "go_backwards", "bidirectional"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("given_state", [False, True])
def test_public_layer_equals_torch(backend, cell, direction, return_sequences, given_state):
    factory, family, activation = PUBLIC_CELLS[cell]
    seed = zlib.crc32(repr((cell, direction, return_sequences, given_state)).encode())
    rng = np.random.default_rng(seed)
    B, T, F, H = (int(v) for v in rng.integers(1, 10, size=4))
    D = 2 if direction == "bidirectional" else 1
    layer = factory(H, return_sequences=return_sequences, return_state=True,
                    go_backwards=direction == "go_backwards", dtype=np.float64)
    if D == 2:
        layer = Bidirectional(layer)
    layer.build((None, F), rng)
    for p in layer.params.values():  # non-zero biases, weights of either sign
        p[...] = 0.5 * rng.normal(size=p.shape)
    module = getattr(torch.nn, TORCH_CLASS[family])(
        F, H, bidirectional=D == 2, batch_first=True,
        **({"nonlinearity": activation} if family == "rnn" else {})).double()
    copy_to_torch(torch, layer, module)

    x = rng.normal(size=(B, T, F))
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    h0 = rng.normal(size=(D, B, H)) if given_state else None
    c0 = rng.normal(size=(D, B, H)) if given_state else None
    x_read = reverse_within_lengths(x, lengths) if direction == "go_backwards" else x
    xt, state_t, out_t, h_n, c_n = run_torch(module, x_read, lengths, h0, c0, family)
    expected_y = out_t if return_sequences else torch.cat(list(h_n), dim=-1)  # last real step
    expected_states = [s[d] for d in range(D) for s in ((h_n, c_n) if family == "lstm" else (h_n,))]

    initial = None
    if given_state:
        per_direction = [(h0[d], c0[d]) if family == "lstm" else h0[d] for d in range(D)]
        initial = tuple(per_direction) if D == 2 else per_direction[0]
    with rnnkit.backend(backend):
        with rnnkit.no_grad():
            (y_infer, *_), _ = layer.forward(x, lengths=lengths, initial_state=initial)
        (y, *states), cache = layer.forward(x, lengths=lengths, initial_state=initial)
    for got, want, what in [(y_infer, expected_y, "no_grad output"), (y, expected_y, "output"),
                            *[(s, e, f"final state {i}") for i, (s, e) in enumerate(zip(states, expected_states))]]:
        np.testing.assert_allclose(got, want.detach().numpy(), atol=TOL, rtol=0, err_msg=what)
    assert len(states) == len(expected_states)

    R = [rng.normal(size=y.shape), *[rng.normal(size=s.shape) for s in states]]
    loss = sum((t * torch.tensor(r)).sum() for t, r in zip([expected_y, *expected_states], R))
    loss.backward()
    with rnnkit.backend(backend):
        g = layer.backward(tuple(R), cache)
    dx = xt.grad.numpy()
    np.testing.assert_allclose(g.dx, reverse_within_lengths(dx, lengths) if direction == "go_backwards" else dx,
                               atol=TOL, rtol=0, err_msg="input gradient")
    expected = torch_grad_as_ours(module, layer)
    assert set(expected) == set(g.params)
    for name, value in expected.items():
        np.testing.assert_allclose(g.params[name], value, atol=TOL, rtol=0, err_msg=f"gradient of {name}")
    if given_state:
        d_initial = g.initial_state if D == 2 else (g.initial_state,)
        for d, d_dir in enumerate(d_initial):
            d_dir = d_dir if family == "lstm" else (d_dir,)
            torch_state = state_t if family == "lstm" else (state_t,)
            for k, (mine, theirs) in enumerate(zip(d_dir, torch_state, strict=True)):
                np.testing.assert_allclose(mine, theirs.grad.numpy()[d], atol=TOL, rtol=0,
                                           err_msg=f"initial state {k} gradient, direction {d}")


@pytest.mark.parametrize("backend", ["reference", "fast"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_embedding_mask_zero_equals_torch_padding_idx(backend, bidirectional):
    """Embedding(mask_zero) -> LSTM on the lengths it reports equals nn.Embedding(padding_idx=0)
    -> packed LSTM: same outputs, same ∂L/∂E, and no gradient reaches row 0 (the padding id), as
    torch's padding_idx guarantees. (torch also starts row 0 at zero; Keras and rnnkit do not,
    and need not: with mask_zero it is never read by a real step.)"""
    rng = np.random.default_rng(8 + bidirectional)
    V, E, H, B, T = 9, 4, 3, 6, 7
    embedding = Embedding(V, E, mask_zero=True, dtype=np.float64)
    embedding.build((None,), rng)
    recurrent = LSTM(H, return_sequences=True, dtype=np.float64)
    recurrent = Bidirectional(recurrent) if bidirectional else recurrent
    recurrent.build((None, E), rng)
    ids = rng.integers(1, V, size=(B, T))
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    ids[np.arange(T)[None, :] >= lengths[:, None]] = 0

    torch_embedding = torch.nn.Embedding(V, E, padding_idx=0).double()
    with torch.no_grad():
        torch_embedding.weight.copy_(torch.from_numpy(embedding.params["E"]))
    module = torch.nn.LSTM(E, H, bidirectional=bidirectional, batch_first=True).double()
    copy_to_torch(torch, recurrent, module)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch_embedding(torch.tensor(ids)), torch.tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(module(packed)[0], batch_first=True, total_length=T)
    R = rng.normal(size=out_t.shape)
    (out_t * torch.tensor(R)).sum().backward()

    with rnnkit.backend(backend):
        found = embedding.output_lengths(ids, None)
        vectors, cache_e = embedding.forward(ids)
        y, cache_r = recurrent.forward(vectors, lengths=found)
        dE = embedding.backward(recurrent.backward(R, cache_r).dx, cache_e).params["E"]
    np.testing.assert_array_equal(found, lengths)
    np.testing.assert_allclose(y, out_t.detach().numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(dE, torch_embedding.weight.grad.numpy(), atol=TOL, rtol=0)
    assert not dE[0].any()


TORCH_ACTIVATIONS = {"linear": lambda a: a, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
                     "softmax": lambda a: torch.softmax(a, dim=-1)}


@pytest.mark.parametrize("activation", sorted(TORCH_ACTIVATIONS))
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3)])
def test_dense_equals_torch_linear(activation, shape):
    """Dense (one step or every step of a sequence) equals torch.nn.Linear plus the activation."""
    rng = np.random.default_rng(len(shape))
    layer = Dense(4, activation, dtype=np.float64)
    layer.build(shape[1:], rng)
    layer.params["b"][:] = rng.normal(size=4)
    layer.params["b"][:2] = 0.0
    x = rng.normal(size=shape)
    x[0] = 0.0  # pre-activations exactly 0: relu's derivative there is 0, as torch's
    linear = torch.nn.Linear(shape[-1], 4).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.params["W"].T))
        linear.bias.copy_(torch.from_numpy(layer.params["b"]))
    xt = torch.tensor(x, requires_grad=True)
    yt = TORCH_ACTIVATIONS[activation](linear(xt))
    R = rng.normal(size=yt.shape)
    (yt * torch.tensor(R)).sum().backward()
    y, cache = layer.forward(x)
    g = layer.backward(R, cache)
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(g.dx, xt.grad.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(g.params["W"], linear.weight.grad.numpy().T, atol=TOL, rtol=0)
    np.testing.assert_allclose(g.params["b"], linear.bias.grad.numpy(), atol=TOL, rtol=0)


@pytest.mark.parametrize("make, torch_module, one_bias_gates", [
    (lambda: SimpleRNN(5, bias="two"), lambda: torch.nn.RNN(7, 5), 0),
    (lambda: SimpleRNN(5), lambda: torch.nn.RNN(7, 5), 1),  # Keras: no bias_hh
    (lambda: LSTM(5, bias="two"), lambda: torch.nn.LSTM(7, 5), 0),
    (lambda: LSTM(5), lambda: torch.nn.LSTM(7, 5), 4),
    (lambda: GRU(5), lambda: torch.nn.GRU(7, 5), 0),  # reset_after: Keras' count is torch's
    (lambda: Bidirectional(GRU(5)), lambda: torch.nn.GRU(7, 5, bidirectional=True), 0),
    (lambda: stacked("lstm", 5, 3, bidirectional=True, bias="two"),
     lambda: torch.nn.LSTM(7, 5, 3, bidirectional=True), 0),
    (lambda: stacked(CellSpec("rnn", activation="relu"), 5, 2, bidirectional=True),
     lambda: torch.nn.RNN(7, 5, 2, nonlinearity="relu", bidirectional=True), 2 * 2 * 1),
    (lambda: stacked("gru", 5, 2), lambda: torch.nn.GRU(7, 5, 2), 0),
    (lambda: Dense(3), lambda: torch.nn.Linear(7, 3), 0),
    (lambda: Embedding(7, 4), lambda: torch.nn.Embedding(7, 4), 0),
])
def test_parameter_counts_equal_torch(make, torch_module, one_bias_gates):
    """count_params() (what model.summary() prints) equals torch's sum of numel, less one H-sized
    bias block per gate and direction where our layer has Keras' single bias."""
    layer = make()
    layer.build((None,) if isinstance(layer, Embedding) else (None, 7))
    torch_count = sum(p.numel() for p in torch_module().parameters())
    assert layer.count_params() == torch_count - one_bias_gates * 5
    assert layer.count_params() == sum(p.size for p in layer.params.values())
