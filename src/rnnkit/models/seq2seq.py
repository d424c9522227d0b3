"""The encoder–decoder (seq2seq, seed 000/002/004): many-to-many with different lengths.

    source ids ─ Embedding ─ encoder (any cell, stacked, maybe bidirectional) ─┬─ outputs k_1..k_S
                                                                  final states │
                                                      bridge (concat or project)
                                                                               ▼
    BOS y_1 … y_{L-1} ─ Embedding ─ decoder (same cell, stacked), starting from the bridged states
                        ─ h_t ─ [additive attention over k_1..k_S: c_t; tanh([h_t; c_t] W_c)] ─ Dense(V) ─ logits

Training uses teacher forcing: the decoder reads BOS followed by the true target, and learns to
predict the target followed by EOS; a masked loss skips the padding of both sequences.

Bridge. Decoder layer l starts from encoder layer l's final state (h, and c for LSTM). A
bidirectional encoder has two per layer, [forward; backward]: ``bridge="concat"`` gives them
to a decoder twice as wide (2H), ``bridge="project"`` maps them through a learned layer to H
(tanh for h, linear for c; also usable with a unidirectional encoder).

Attention (``attention=A`` units, 0 for none) is additive (rnnkit.layers.attention), scored with
the decoder's state h_t as the query, and its output enters the prediction through
tanh([h_t; c_t] W_c + b_c) (Luong et al. 2015's attentional layer, which keeps the recurrence
free of the context so the decoder trains as one sequence). Its weights α (L, S) come back from
decoding, for plotting.

Vocabularies: id 0 is padding in both; in the target vocabulary 1 is BOS (the decoder's first
input) and 2 is EOS (the end of every target); other ids are the tokens.

Data on the model protocol (so compile / fit / evaluate / predict / save / rnnkit.load are the
ones of every model): ``x`` (N, T, 2) integer ids, ``x[..., 0]`` the source and ``x[..., 1]``
the decoder input (BOS + target), each padded with 0; ``y`` (N, T) the target + EOS, padded.
``pack(sources, targets)`` builds them. forward reads the lengths from the padding, runs each
batch cut to its longest source and target, and pads the logits back to T (the padded steps get
no loss). Decoding: ``greedy_decode`` and ``beam_search`` (width, length normalisation), in
rnnkit.models.decoding.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit import _checks as checks
from rnnkit.grad_mode import no_grad
from rnnkit.layers.attention import AdditiveAttention
from rnnkit.layers.base import as_generator
from rnnkit.layers.cell_spec import CellSpec
from rnnkit.layers.dense import Dense
from rnnkit.layers.embedding import Embedding
from rnnkit.layers.stack import stacked
from rnnkit.models import decoding
from rnnkit.models.base import Model
from rnnkit.models.decoding import BOS, EOS, PAD, Hypothesis, log_softmax, select_rows
from rnnkit.models.ids import as_ids, check_ids, lengths_from_padding, pad_ids

__all__ = ["BOS", "EOS", "PAD", "EncoderDecoder", "Hypothesis"]
BRIDGES = ("concat", "project")


class _Encoded(NamedTuple):
    keys: np.ndarray  # (B, S, K) encoder outputs
    projected: np.ndarray | None  # (B, S, A) keys W_k, when attending
    lengths: np.ndarray  # (B,)
    state: list  # the decoder's initial state, one tuple per layer

    def rows(self, index) -> "_Encoded":
        return _Encoded(self.keys[index], None if self.projected is None else self.projected[index],
                        self.lengths[index], select_rows(self.state, index))


class EncoderDecoder(Model):
    """Sequence to sequence (see the module docstring): source ids -> encoder -> bridge -> decoder
    (teacher-forced in training) -> logits over the target vocabulary; greedy_decode and
    beam_search for inference. Data from pack(sources, targets)."""

    kind = "EncoderDecoder"

    def __init__(self, source_vocab: int, target_vocab: int, *, cell: str | CellSpec | dict = "gru",
                 units: int = 64, embedding: int = 32, layers: int = 1, bidirectional: bool = False,
                 bridge: str = "concat", attention: int = 0, dropout: float = 0.0, init: str = "keras",
                 max_target_length: int = 100, dtype=np.float32, seed: int | None = None,
                 name: str | None = None):
        super().__init__(seed=seed, name=name or "encoder_decoder")
        for arg, value, least in (("source_vocab", source_vocab, 2), ("target_vocab", target_vocab, 4),
                                  ("units", units, 1), ("embedding", embedding, 1), ("layers", layers, 1),
                                  ("attention", attention, 0), ("max_target_length", max_target_length, 1)):
            checks.integer(arg, value, least)
        if bridge not in BRIDGES:
            raise ValueError(f"bridge must be one of {BRIDGES}, got {bridge!r}")
        spec = cell if isinstance(cell, CellSpec) else CellSpec(**cell) if isinstance(cell, dict) else CellSpec(cell)
        self.spec, self.dtype = spec, np.dtype(dtype)
        self.source_vocab, self.target_vocab = int(source_vocab), int(target_vocab)
        self.units, self.embedding, self.layers_count = int(units), int(embedding), int(layers)
        self.bidirectional, self.bridge, self.attention_units = bool(bidirectional), bridge, int(attention)
        self.dropout, self.init, self.max_target_length = float(dropout), init, int(max_target_length)

        H = self.units
        self.key_width = 2 * H if self.bidirectional else H  # K: the encoder's output width
        self.decoder_units = 2 * H if self.bidirectional and bridge == "concat" else H
        common = dict(dtype=self.dtype)
        self.source_embedding = Embedding(self.source_vocab, self.embedding, **common)
        self.encoder = stacked(spec, H, self.layers_count, bidirectional=self.bidirectional, dropout=self.dropout,
                               return_sequences=True, return_state=True, init=init, **common)
        self.bridge_layers = None
        if bridge == "project":
            self.bridge_layers = [[Dense(self.decoder_units, activation="tanh" if j == 0 else None, **common)
                                   for j in range(spec.state_size)] for _ in range(self.layers_count)]
        self.target_embedding = Embedding(self.target_vocab, self.embedding, **common)
        self.decoder = stacked(spec, self.decoder_units, self.layers_count, dropout=self.dropout,
                               return_sequences=True, init=init, **common)
        self.attention = AdditiveAttention(self.attention_units, **common) if self.attention_units else None
        self.combine = Dense(self.decoder_units, activation="tanh", **common) if self.attention_units else None
        self.output = Dense(self.target_vocab, **common)

    # -- parts and parameters --------------------------------------------------------------
    def parts(self) -> dict:
        """name -> layer, in the order they run; parameter keys are 'name.param'."""
        parts = {"source_embedding": self.source_embedding, "encoder": self.encoder}
        if self.bridge_layers is not None:
            for l, row in enumerate(self.bridge_layers):
                parts.update({f"bridge_{l}_{'hc'[j]}": layer for j, layer in enumerate(row)})
        parts.update({"target_embedding": self.target_embedding, "decoder": self.decoder})
        if self.attention is not None:
            parts.update({"attention": self.attention, "combine": self.combine})
        parts["output"] = self.output
        return parts

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{name}.{k}": v for name, layer in self.parts().items() for k, v in layer.params.items()}

    def build(self, input_shape=(None, 2)) -> None:
        rng = np.random.default_rng([self.seed, 0])
        E, K, Hd = self.embedding, self.key_width, self.decoder_units
        shapes = {"source_embedding": (None,), "encoder": (None, E), "target_embedding": (None,),
                  "decoder": (None, E), "attention": (Hd, K), "combine": (Hd + K,), "output": (Hd,)}
        for name, layer in self.parts().items():
            layer.build(shapes.get(name, (K,)), rng)  # bridge layers read the (concatenated) final state
        self.input_shape = (None, 2)

    # -- packing data --------------------------------------------------------------------------
    def pack(self, sources, targets=None) -> tuple[np.ndarray, np.ndarray | None]:
        """Lists of source and target id sequences (no BOS/EOS) -> (x (N, T, 2), y (N, T)).

        Without targets, x's decoder channel holds BOS only and y is None."""
        src, src_len = pad_ids(sources, "source")
        if targets is None:
            tgt, tgt_len = np.zeros((len(src), 0), np.int64), np.zeros(len(src), np.int64)
        else:
            tgt, tgt_len = pad_ids(targets, "target", least=0)  # an empty target is EOS alone
            if len(tgt) != len(src):
                raise ValueError(f"sources and targets differ in number: {len(src)} and {len(tgt)}")
        check_ids(src, src_len, 1, self.source_vocab, "source")
        check_ids(tgt, tgt_len, 3, self.target_vocab, "target")
        T = max(src.shape[1], tgt.shape[1] + 1)
        x = np.zeros((len(src), T, 2), dtype=np.int64)
        x[:, : src.shape[1], 0] = src
        x[:, 0, 1] = BOS
        x[:, 1 : tgt.shape[1] + 1, 1] = tgt
        if targets is None:
            return x, None
        y = np.zeros((len(src), T), dtype=np.int64)
        y[:, : tgt.shape[1]] = tgt
        y[np.arange(len(src)), tgt_len] = EOS
        return x, y

    def _unpack(self, x):
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[-1] != 2:
            raise ValueError(f"x must be packed ids of shape (B, T, 2), source and decoder input (see "
                             f"EncoderDecoder.pack), got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.integer):
            if not np.all(np.mod(x, 1) == 0):
                raise ValueError(f"x must hold integer ids, got dtype {x.dtype}")
            x = x.astype(np.int64)
        src_len = lengths_from_padding(x[..., 0], "source")
        tgt_len = lengths_from_padding(x[..., 1], "decoder input")
        return x[:, : src_len.max(), 0], x[:, : tgt_len.max(), 1], src_len, tgt_len

    def output_lengths(self, x, lengths):
        return self._unpack(x)[3]

    # -- the bridge ------------------------------------------------------------------------------
    def _per_layer_finals(self, finals) -> list[list[np.ndarray]]:
        """The encoder Stack's flat final states -> per layer, per state (h, c): (B, K) arrays."""
        n = self.spec.state_size
        out, k = [], 0
        for _ in range(self.layers_count):
            if self.bidirectional:
                f, b = finals[k : k + n], finals[k + n : k + 2 * n]
                out.append([np.concatenate([f[j], b[j]], axis=-1) for j in range(n)])
                k += 2 * n
            else:
                out.append(list(finals[k : k + n]))
                k += n
        return out

    def _bridge_forward(self, finals):
        states, caches = [], []
        for l, layer_finals in enumerate(self._per_layer_finals(finals)):
            if self.bridge_layers is None:
                states.append(tuple(layer_finals))
                caches.append(None)
            else:
                outs = [self.bridge_layers[l][j].forward(s) for j, s in enumerate(layer_finals)]
                states.append(tuple(y for y, _ in outs))
                caches.append([c for _, c in outs])
        return states, caches

    def _bridge_backward(self, d_states, caches, grads):
        """Decoder initial-state gradients -> the encoder Stack's flat final-state gradients."""
        n, H = self.spec.state_size, self.units
        d_finals = []
        for l, (d_layer, cache) in enumerate(zip(d_states, caches)):
            d_layer = list(d_layer)
            if cache is not None:
                for j in range(n):
                    g = self.bridge_layers[l][j].backward(d_layer[j], cache[j])
                    grads.update({f"bridge_{l}_{'hc'[j]}.{k}": v for k, v in g.params.items()})
                    d_layer[j] = g.dx
            if self.bidirectional:
                d_finals += [d[..., :H] for d in d_layer] + [d[..., H:] for d in d_layer]
            else:
                d_finals += d_layer
        return d_finals

    # -- the model protocol ----------------------------------------------------------------------
    def _require_built(self) -> None:
        if not self.built:
            raise RuntimeError("the EncoderDecoder is not built yet: call build(), or fit it")

    def forward(self, x, lengths=None, training: bool = False, rng=None):
        self._require_built()
        if lengths is not None:
            raise ValueError("an EncoderDecoder reads the lengths from the padding (id 0) of x; pass lengths=None")
        T = np.shape(x)[1]
        if rng is not None:  # one stream for encoder and decoder: an int seed each would repeat the masks
            rng = as_generator(rng)
        src, dec_in, src_len, tgt_len = self._unpack(x)
        emb_s, c_src = self.source_embedding.forward(src)
        (keys, *finals), c_enc = self.encoder.forward(emb_s, lengths=src_len, training=training, rng=rng)
        state0, c_bridge = self._bridge_forward(finals)
        emb_t, c_tgt = self.target_embedding.forward(dec_in)
        h, c_dec = self.decoder.forward(emb_t, lengths=tgt_len, initial_state=state0, training=training, rng=rng)
        logits, c_head = self._head_forward(h, keys, src_len)
        y = np.zeros((logits.shape[0], T, self.target_vocab), dtype=logits.dtype)
        y[:, : logits.shape[1]] = logits
        cache = (logits.shape[1], c_src, c_enc, c_bridge, c_tgt, c_dec, c_head)
        return y, tgt_len, cache

    def _head_forward(self, h, keys, src_len):
        if self.attention is None:
            logits, c_out = self.output.forward(h)
            return logits, (None, None, c_out)
        (context, _), c_att = self.attention.forward(h, keys, key_lengths=src_len)
        combined, c_comb = self.combine.forward(np.concatenate([h, context], axis=-1))
        logits, c_out = self.output.forward(combined)
        return logits, (c_att, c_comb, c_out)

    def backward(self, dy, cache) -> dict[str, np.ndarray]:
        L, c_src, c_enc, c_bridge, c_tgt, c_dec, c_head = cache
        grads = {}

        def collect(name, g):
            grads.update({f"{name}.{k}": v for k, v in g.params.items()})
            return g

        c_att, c_comb, c_out = c_head
        d = collect("output", self.output.backward(np.asarray(dy)[:, :L], c_out)).dx
        d_keys = None
        if self.attention is not None:
            d = collect("combine", self.combine.backward(d, c_comb)).dx
            Hd = self.decoder_units
            d, d_context = d[..., :Hd], d[..., Hd:]
            d_query, d_keys = collect("attention", self.attention.backward(d_context, c_att)).dx
            d = d + d_query
        g_dec = collect("decoder", self.decoder.backward(d, c_dec))
        collect("target_embedding", self.target_embedding.backward(g_dec.dx, c_tgt))
        d_finals = self._bridge_backward(g_dec.initial_state, c_bridge, grads)
        g_enc = collect("encoder", self.encoder.backward((d_keys, *d_finals), c_enc))
        collect("source_embedding", self.source_embedding.backward(g_enc.dx, c_src))
        return grads

    # -- decoding ------------------------------------------------------------------------------
    def encode(self, sources) -> _Encoded:
        """Run the encoder over id sequences (a list, or padded (B, S) with 0 as padding)."""
        self._require_built()
        if isinstance(sources, np.ndarray) and sources.ndim == 2:
            src = as_ids(sources, "sources")
            src_len = lengths_from_padding(src, "source")
        else:
            src, src_len = pad_ids(sources, "source")
        check_ids(src, src_len, 1, self.source_vocab, "source")
        emb = self.source_embedding.forward(src)[0]
        with no_grad():  # decoding never backpropagates into the encoder
            (keys, *finals), _ = self.encoder.forward(emb, lengths=src_len)
        state, _ = self._bridge_forward(finals)
        projected = None if self.attention is None else self.attention.project_keys(keys)
        return _Encoded(keys, projected, src_len, state)

    def decode_step(self, tokens, state, encoded: _Encoded):
        """One decoder step: previous tokens (B,) -> (log-probabilities (B, V) float64, new state,
        attention weights (B, S) or None)."""
        h, state = self.decoder.step(self.target_embedding.step(tokens)[0], state)
        if self.attention is None:
            return log_softmax(self.output.step(h)[0]), state, None
        (context, weights), _ = self.attention.forward(h[:, None], encoded.keys, key_lengths=encoded.lengths,
                                                       projected_keys=encoded.projected)
        combined = self.combine.step(np.concatenate([h, context[:, 0]], axis=-1))[0]
        return log_softmax(self.output.step(combined)[0]), state, weights[:, 0]

    def greedy_decode(self, sources, *, max_length: int | None = None,
                      length_penalty: float = 0.0) -> list[Hypothesis]:
        """The most likely token at every step, for each source (a batch decoded together)."""
        return decoding.greedy_decode(self, sources, max_length=max_length, length_penalty=length_penalty)

    def beam_search(self, source, *, beam_width: int = 5, length_penalty: float = 0.0,
                    max_length: int | None = None) -> list[Hypothesis]:
        """The `beam_width` best output sequences for one source (a flat sequence of ids), best
        first (see rnnkit.models.decoding.beam_search)."""
        return decoding.beam_search(self, source, beam_width=beam_width, length_penalty=length_penalty,
                                    max_length=max_length)

    def log_prob(self, sources, targets) -> np.ndarray:
        """The model's log-probability of each target (+ EOS) given its source, teacher forced (N,)."""
        x, y = self.pack(sources, targets)
        with no_grad():
            logits, lengths, _ = self.forward(x)
        lp = log_softmax(logits)
        picked = np.take_along_axis(lp, y[..., None], axis=-1)[..., 0]
        real = np.arange(y.shape[1])[None, :] < lengths[:, None]
        return np.where(real, picked, 0.0).sum(axis=1)

    # -- description -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"source_vocab": self.source_vocab, "target_vocab": self.target_vocab, "cell": self.spec.get_config(),
                "units": self.units, "embedding": self.embedding, "layers": self.layers_count,
                "bidirectional": self.bidirectional, "bridge": self.bridge, "attention": self.attention_units,
                "dropout": self.dropout, "init": self.init, "max_target_length": self.max_target_length,
                "dtype": self.dtype.name, "name": self.name}

    @classmethod
    def from_config(cls, config: dict, seed: int) -> "EncoderDecoder":
        """The model get_config() describes, unbuilt, with `seed`."""
        return cls(**config, seed=seed)

    def summary(self, print_fn=print) -> str:
        self._require_built()
        rows = [("Part (type)", "Params", "Formula")]
        for name, layer in self.parts().items():
            kind = getattr(layer, "display_name", layer.kind)
            rows.append((f"{name} ({kind})", f"{layer.count_params():,}", layer.param_formula()))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        line = "─" * (sum(widths) + 4)
        attention = f"additive attention ({self.attention_units} units)" if self.attention else "no attention"
        direction = "bidirectional " if self.bidirectional else ""
        text = [f'Model: "{self.name}": {self.layers_count} × {direction}{self.spec.display_name}({self.units}) '
                f'encoder, {self.bridge} bridge, {self.layers_count} × {self.spec.display_name}({self.decoder_units}) '
                f'decoder, {attention}; V = {self.source_vocab} → {self.target_vocab}', line]
        for i, r in enumerate(rows):
            text.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if i == 0:
                text.append(line)
        text += [line, f"Total params: {self.count_params():,}", line]
        out = "\n".join(text)
        if print_fn is not None:
            print_fn(out)
        return out
