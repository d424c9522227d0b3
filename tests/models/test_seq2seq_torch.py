"""The encoder–decoder's teacher-forced loss and every gradient equal an equivalent PyTorch model
in float64: torch.nn.RNN/LSTM/GRU encoder over packed variable-length sources, the bridge, the
decoder, Bahdanau's additive attention with padded source steps masked, Luong's tanh([h; c] W_c)
and the output layer, under a masked mean cross-entropy."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit.losses import SparseCategoricalCrossentropy
from rnnkit.models.seq2seq import EncoderDecoder
from tests.layers.torch_reference import TORCH_CLASS, copy_to_torch, torch_grad_as_ours

torch = pytest.importorskip("torch", reason="PyTorch is the reference these tests compare against")
pytestmark = pytest.mark.torch

SOURCES = [[1, 2, 3, 4, 5], [4, 5], [3], [2, 2, 1]]
TARGETS = [[3, 4], [5, 6, 3, 4, 5], [], [6]]


def torch_loss(m, x, y, P):
    """The masked mean cross-entropy of `m`'s architecture written in torch; P: parameter tensors
    of the non-recurrent parts by rnnkit name."""
    family, layers, bi = m.spec.family, m.layers_count, m.bidirectional
    rnn = getattr(torch.nn, TORCH_CLASS[family])
    encoder = rnn(m.embedding, m.units, num_layers=layers, bidirectional=bi, batch_first=True).double()
    decoder = rnn(m.embedding, m.decoder_units, num_layers=layers, batch_first=True).double()
    for i in range(layers):
        copy_to_torch(torch, m.encoder.layers[i], encoder, i)
        copy_to_torch(torch, m.decoder.layers[i], decoder, i)
    src, dec_in = torch.tensor(x[..., 0]), torch.tensor(x[..., 1])
    src_len, tgt_len = (src != 0).sum(1), (dec_in != 0).sum(1)
    S, L = int(src_len.max()), int(tgt_len.max())
    packed = torch.nn.utils.rnn.pack_padded_sequence(P["source_embedding.E"][src[:, :S]], src_len, batch_first=True,
                                                     enforce_sorted=False)
    out, finals = encoder(packed)
    keys, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=S)
    initial = []
    for j, final in enumerate(finals if family == "lstm" else (finals,)):  # (layers · directions, B, H)
        if bi:  # per layer [forward; backward]
            final = final.view(layers, 2, -1, m.units).permute(0, 2, 1, 3).reshape(layers, -1, 2 * m.units)
        if m.bridge == "project":
            act = torch.tanh if j == 0 else (lambda a: a)
            final = torch.stack([act(final[l] @ P[f"bridge_{l}_{'hc'[j]}.W"] + P[f"bridge_{l}_{'hc'[j]}.b"])
                                 for l in range(layers)])
        initial.append(final.contiguous())
    h, _ = decoder(P["target_embedding.E"][dec_in[:, :L]], tuple(initial) if family == "lstm" else initial[0])
    if m.attention is not None:
        u = torch.tanh((h @ P["attention.W_q"] + P["attention.b"])[:, :, None] + (keys @ P["attention.W_k"])[:, None])
        scores = (u @ P["attention.v"]).masked_fill(~(torch.arange(S)[None, None] < src_len[:, None, None]), -torch.inf)
        context = torch.softmax(scores, dim=-1) @ keys
        h = torch.tanh(torch.cat([h, context], dim=-1) @ P["combine.W"] + P["combine.b"])
    logits = h @ P["output.W"] + P["output.b"]
    real = torch.arange(L)[None] < tgt_len[:, None]
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), torch.tensor(y[:, :L]), reduction="none")
    return (ce * real).sum() / real.sum(), encoder, decoder


@pytest.mark.parametrize("backend", ["reference", "fast"])
@pytest.mark.parametrize("cell,bidirectional,bridge,attention,layers", [
    ("gru", True, "project", 3, 2), ("lstm", False, "concat", 3, 2), ("lstm", True, "project", 0, 1),
    ("rnn", True, "concat", 3, 1)])
def test_loss_and_gradients_equal_torch(cell, bidirectional, bridge, attention, layers, backend):
    m = EncoderDecoder(6, 7, cell=cell, units=3, embedding=4, layers=layers, bidirectional=bidirectional,
                       bridge=bridge, attention=attention, dtype=np.float64, seed=0)
    m.build()
    rng = np.random.default_rng(1)
    for p in m.params.values():
        p[...] = rng.uniform(-1, 1, size=p.shape)
    x, y = m.pack(SOURCES, TARGETS)
    with rnnkit.backend(backend):
        out, lengths, cache = m.forward(x)
        value, d = SparseCategoricalCrossentropy()(out, y, lengths)
        grads = m.backward(d, cache)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in m.params.items()
         if not k.startswith(("encoder.", "decoder."))}
    loss, encoder, decoder = torch_loss(m, x, y, P)
    loss.backward()
    assert value == pytest.approx(loss.item(), rel=1e-12)
    expected = {k: t.grad.numpy() for k, t in P.items()}
    expected.update({f"encoder.{k}": g for k, g in torch_grad_as_ours(encoder, m.encoder).items()})
    expected.update({f"decoder.{k}": g for k, g in torch_grad_as_ours(decoder, m.decoder).items()})
    assert expected.keys() == grads.keys()
    for k in grads:
        np.testing.assert_allclose(grads[k], expected[k], rtol=1e-9, atol=1e-12, err_msg=k)
