"""Additive attention (Bahdanau, Cho & Bengio 2015): a query scores every key through one tanh
layer, and the context is the keys' average under the softmax of those scores.

Shapes: B batch, T query steps (the decoder's), S key steps (the encoder's), Q query width,
K key width, A attention units. Keys past each source's length are padding and get weight 0.

    u_{t,s} = tanh(q_t W_q + b + k_s W_k)          (B, T, S, A)
    e_{t,s} = u_{t,s} · v                           scores (B, T, S); −∞ where s ≥ length
    α_{t,s} = softmax_s(e_{t,s})                    weights (B, T, S), each row sums to 1
    c_t     = Σ_s α_{t,s} k_s                       context (B, T, K)

Backward, from ∂L/∂c (B, T, K):

    ∂L/∂α_{t,s} = ∂L/∂c_t · k_s                    ∂L/∂k_s  = Σ_t α_{t,s} ∂L/∂c_t  (+ score path)
    ∂L/∂e_{t,s} = α_{t,s} (∂L/∂α_{t,s} − Σ_s' α_{t,s'} ∂L/∂α_{t,s'})      (softmax)
    ∂L/∂v       = Σ_{b,t,s} ∂L/∂e_{t,s} u_{t,s}
    ∂L/∂a_{t,s} = ∂L/∂e_{t,s} v ⊙ (1 − u²)        (a the tanh's argument)
    ∂L/∂(q W_q + b)_t = Σ_s ∂L/∂a_{t,s}           ∂L/∂(k W_k)_s = Σ_t ∂L/∂a_{t,s}
    then the two linear maps as in Dense.

In the encoder–decoder (rnnkit.models.seq2seq) the query is the decoder's state at step t and
the keys are the encoder's outputs.
"""

from __future__ import annotations

import numpy as np

from rnnkit import _checks as checks
from rnnkit.layers.base import Gradients, Layer, check_array, real_array
from rnnkit.layers.initializers import glorot_uniform


class AdditiveAttention(Layer):
    """Additive (Bahdanau) attention with `units` = A hidden units; builds from (Q, K), the query
    and key widths. ``attention(query (B, T, Q), keys (B, S, K), key_lengths=(B,))`` returns
    (context (B, T, K), weights (B, T, S)); the module docstring has the equations."""
    kind = "AdditiveAttention"

    def __init__(self, units: int, **base):
        super().__init__(**base)
        self.units = checks.integer("units", units)

    def make_params(self, input_shape, rng):
        """input_shape = (Q, K): the query and key widths."""
        if len(input_shape) != 2 or not all(isinstance(n, (int, np.integer)) and n > 0 for n in input_shape):
            raise ValueError(f"AdditiveAttention builds from input_shape (Q, K), the query and key widths "
                             f"(positive integers), got {input_shape}")
        Q, K = input_shape
        A = self.units
        return {
            "W_q": glorot_uniform(rng, (Q, A), self.dtype),
            "W_k": glorot_uniform(rng, (K, A), self.dtype),
            "b": np.zeros(A, self.dtype),
            "v": glorot_uniform(rng, (A, 1), self.dtype)[:, 0].copy(),
        }

    def output_shape(self, input_shape):
        return (input_shape[1],)

    def project_keys(self, keys) -> np.ndarray:
        """k_s W_k for every key (B, S, A): computed once per source when decoding step by step."""
        return np.asarray(keys, dtype=self.dtype) @ self.params["W_k"]

    def __call__(self, query, keys, **kwargs):
        """(context, weights), building from the query's and keys' widths on first use: the base
        class would read a query's (T, Q) as (Q, K)."""
        if not self.built:
            self.build((np.shape(query)[-1], np.shape(keys)[-1]))
        return self.forward(query, keys, **kwargs)[0]

    def forward(self, query, keys, *, key_lengths=None, projected_keys=None, training=False, rng=None):
        """query (B, T, Q), keys (B, S, K), key_lengths (B,) -> ((context (B, T, K), weights (B, T, S)), cache)."""
        self.require_built()
        p = self.params
        # shapes checked here: broadcasting would otherwise fail deep inside, or pair wrong rows
        query = check_array(query, "query", 3, p["W_q"].shape[0], dtype=self.dtype, letters="(B, T, Q)")
        keys = check_array(keys, "keys", 3, p["W_k"].shape[0], dtype=self.dtype, letters="(B, S, K)")
        B, S, _ = keys.shape
        if query.shape[0] != B:
            raise ValueError(f"query and keys must hold the same batch B, got shapes {query.shape} and {keys.shape}")
        if projected_keys is None:
            kp = self.project_keys(keys)  # (B, S, A)
        else:
            kp = real_array(projected_keys, "projected_keys", self.dtype)
            if kp.shape != (B, S, self.units):
                raise ValueError(f"projected_keys must be project_keys(keys), of shape (B, S, A) = "
                                 f"{(B, S, self.units)}, got {kp.shape}")
        qp = query @ p["W_q"] + p["b"]  # (B, T, A)
        u = np.tanh(qp[:, :, None, :] + kp[:, None, :, :])  # (B, T, S, A)
        scores = u @ p["v"]  # (B, T, S)
        if key_lengths is not None:
            key_lengths = np.asarray(key_lengths)
            # a row with no real key would be all −∞ (NaN weights); one past S would mask nothing
            if (key_lengths.shape != (B,) or not np.issubdtype(key_lengths.dtype, np.integer)
                    or (B and (key_lengths.min() < 1 or key_lengths.max() > S))):
                raise ValueError(f"key_lengths must hold B = {B} integer lengths in 1..S = 1..{S}, "
                                 f"got {key_lengths.tolist()!r}")
            real = np.arange(S)[None, :] < key_lengths[:, None]  # (B, S)
            scores = np.where(real[:, None, :], scores, -np.inf)
        scores = scores - scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = weights @ keys  # (B, T, K)
        return (context, weights), (query, keys, u, weights)

    def backward(self, d_context, cache) -> Gradients:
        """-> Gradients(dx=(∂L/∂query, ∂L/∂keys), params)."""
        query, keys, u, weights = cache
        p = self.params
        d_weights = d_context @ keys.transpose(0, 2, 1)  # (B, T, S)
        d_keys = weights.transpose(0, 2, 1) @ d_context  # (B, S, K)
        d_scores = weights * (d_weights - (d_weights * weights).sum(axis=-1, keepdims=True))
        d_v = np.einsum("btsa,bts->a", u, d_scores)
        d_a = d_scores[..., None] * p["v"] * (1.0 - u * u)  # (B, T, S, A)
        d_qp = d_a.sum(axis=2)  # (B, T, A)
        d_kp = d_a.sum(axis=1)  # (B, S, A)
        A = self.units
        grads = {
            "W_q": query.reshape(-1, query.shape[-1]).T @ d_qp.reshape(-1, A),
            "W_k": keys.reshape(-1, keys.shape[-1]).T @ d_kp.reshape(-1, A),
            "b": d_qp.sum(axis=(0, 1)),
            "v": d_v,
        }
        d_query = d_qp @ p["W_q"].T
        d_keys = d_keys + d_kp @ p["W_k"].T
        return Gradients((d_query, d_keys), grads)

    def param_formula(self) -> str:
        return "Q·A + K·A + 2·A"

    def get_config(self):
        return {"units": self.units, **super().get_config()}
