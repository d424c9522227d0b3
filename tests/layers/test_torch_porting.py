"""README's recipe for porting an nn.LSTM, followed to the letter: the weights copied as it says,
torch's (h0, c0) handed over per layer as it says, and return_state's flat list read back in
torch's h_n/c_n order, with packed variable-length sequences."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.layers import stacked

torch = pytest.importorskip("torch", reason="PyTorch is the reference these tests compare against")
pytestmark = pytest.mark.torch


def test_readmes_recipe_ports_a_bidirectional_two_layer_lstm():
    B, T, F, H, L = 4, 6, 3, 5, 2
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    ours = stacked("lstm", H, L, bidirectional=True, bias="two", init="torch", return_state=True,
                   dtype=np.float64)
    ours.build((None, F))
    theirs = torch.nn.LSTM(F, H, L, bidirectional=True, batch_first=True).double()
    for l in range(L):
        for direction, suffix in (("forward", ""), ("backward", "_reverse")):
            p = ours.params
            for mine, name, transpose in (("W_x", "weight_ih", True), ("W_h", "weight_hh", True),
                                          ("b_x", "bias_ih", False), ("b_h", "bias_hh", False)):
                value = getattr(theirs, f"{name}_l{l}{suffix}").detach().numpy()
                p[f"{l}.{direction}.{mine}"][...] = value.T if transpose else value
    x = rng.normal(size=(B, T, F))
    lengths = np.array([6, 2, 4, 1])
    h0, c0 = rng.normal(size=(2, 2 * L, B, H))
    per_layer = [[h0[2 * l], c0[2 * l], h0[2 * l + 1], c0[2 * l + 1]] for l in range(L)]
    y, *final = ours.forward(x, lengths=lengths, initial_state=per_layer)[0]

    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out, (h_n, c_n) = theirs(packed, (torch.tensor(h0), torch.tensor(c0)))
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    np.testing.assert_allclose(y, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(np.stack(final[0::2]), h_n.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(np.stack(final[1::2]), c_n.detach().numpy(), atol=1e-12)
