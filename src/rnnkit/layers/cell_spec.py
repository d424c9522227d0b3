"""What distinguishes one recurrent cell from another, as data: family, variant, bias layout.

Parameter layout of a recurrent layer with G = gates·H (gate blocks in PyTorch's order):
    W_x (F, G), W_h (H, G), and either  b (G,)            one bias per gate (Keras)
                                   or  b_x (G,), b_h (G,) two biases per gate (seed 001, PyTorch)
The GRU's reset-after form needs its recurrent n-bias inside r ⊙ (…), so it always has two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnkit.cells._common import ACTIVATIONS
from rnnkit.layers import initializers

FAMILY_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
FAMILY_STATES = {"rnn": 1, "lstm": 2, "gru": 1}
DISPLAY = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
INITS = ("keras", "torch")


@dataclass(frozen=True)
class CellSpec:
    """A recurrent cell as data: its family ("rnn", "lstm" or "gru"), bias layout ("one" or
    "two") and variant (activation for the simple RNN, reset_after for GRU, unit_forget_bias for
    LSTM); an option of another family is refused. Recurrent and stacked take one."""

    family: str  # "rnn" | "lstm" | "gru"
    bias: str | None = None  # "one" | "two"; None: "two" for the reset-after GRU, else "one"
    activation: str = "tanh"  # simple RNN only
    reset_after: bool = True  # GRU only
    unit_forget_bias: bool | None = None  # LSTM only; None: True with Keras init, False with PyTorch's
    variant: dict = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        if isinstance(self.family, str) and self.family.lower() in FAMILY_GATES:  # "LSTM", as torch names it
            object.__setattr__(self, "family", self.family.lower())
        if self.family not in FAMILY_GATES:
            # stacked(LSTM, ...) is a natural slip: name the family string that layer stands for
            factory = getattr(self.family, "__name__", None)
            family = {display: family for family, display in DISPLAY.items()}.get(factory)
            hint = f" (for {factory} layers write {family!r})" if family else ""
            raise ValueError(f"cell must be one of {sorted(FAMILY_GATES)}{hint}, got {self.family!r}")
        if self.bias is None:
            default = "two" if self.family == "gru" and self.reset_after else "one"
            object.__setattr__(self, "bias", default)
        if self.bias not in ("one", "two"):
            hint = " (PyTorch's bias=True, b_ih and b_hh, is 'two')" if isinstance(self.bias, bool) else ""
            raise ValueError(f"bias must be 'one' or 'two'{hint}, got {self.bias!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        # an option of another family would be ignored: stacked("lstm", 8, activation="relu") is
        # still a tanh LSTM, so say so rather than build it
        for option, family, unset in (("activation", "rnn", "tanh"), ("reset_after", "gru", True),
                                      ("unit_forget_bias", "lstm", None)):
            if self.family != family and getattr(self, option) != unset:
                raise ValueError(f"{option} applies to {DISPLAY[family]} ({family!r}) cells only, got "
                                 f"{option}={getattr(self, option)!r} for {self.family!r}")
        if self.family == "gru" and self.reset_after and self.bias == "one":
            raise ValueError("bias='one' needs reset_after=False: the reset-after GRU has two biases")
        variant = {"rnn": {"activation_name": self.activation}, "gru": {"reset_after": self.reset_after}}
        object.__setattr__(self, "variant", variant.get(self.family, {}))

    @property
    def gates(self) -> int:
        return FAMILY_GATES[self.family]

    @property
    def state_size(self) -> int:
        return FAMILY_STATES[self.family]

    @property
    def display_name(self) -> str:
        return DISPLAY[self.family]

    def param_shapes(self, F: int, H: int) -> dict[str, tuple[int, ...]]:
        """{"W_x": (F, G), "W_h": (H, G)} plus "b" (G,) or "b_x", "b_h" (G,) each."""
        G = self.gates * H
        biases = {"b": (G,)} if self.bias == "one" else {"b_x": (G,), "b_h": (G,)}
        return {"W_x": (F, G), "W_h": (H, G), **biases}

    def formula(self) -> str:
        """The parameter count in terms of F and H, with the convention it follows."""
        nb = "H" if self.bias == "one" else "2·H"
        body = f"F·H + H·H + {nb}"
        count = body if self.gates == 1 else f"{self.gates}·({body})"
        label = {
            "rnn": f"SimpleRNN {self.bias} bias",
            "lstm": f"LSTM {self.bias} bias",
            "gru": "GRU reset_after" if self.reset_after else "GRU reset_before",
        }[self.family]
        return f"{label}: {count}"

    def init_params(self, F: int, H: int, init: str, rng: np.random.Generator, dtype) -> dict:
        """Fresh parameters of param_shapes(F, H) drawn from `rng`: init="keras" (Glorot W_x,
        orthogonal W_h, zero biases) or "torch" (all U(±1/√H)); then the LSTM forget-gate bias
        1 where unit_forget_bias says so (by default with "keras")."""
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        shapes = self.param_shapes(F, H)
        if init == "torch":
            params = {k: initializers.uniform_fan(rng, s, H, dtype) for k, s in shapes.items()}
        else:
            params = {
                "W_x": initializers.glorot_uniform(rng, shapes["W_x"], dtype),
                "W_h": initializers.orthogonal(rng, shapes["W_h"], dtype),
            }
            params.update({k: np.zeros(s, dtype=dtype) for k, s in shapes.items() if k.startswith("b")})
        forget_bias = self.unit_forget_bias if self.unit_forget_bias is not None else init == "keras"
        if self.family == "lstm" and forget_bias:
            first_bias = "b" if self.bias == "one" else "b_x"
            params[first_bias][H : 2 * H] = 1.0
            if self.bias == "two":
                params["b_h"][H : 2 * H] = 0.0
        return params

    def get_config(self) -> dict:
        """The constructor arguments: ``CellSpec(**spec.get_config())`` equals spec."""
        return {
            "family": self.family,
            "bias": self.bias,
            "activation": self.activation,
            "reset_after": self.reset_after,
            "unit_forget_bias": self.unit_forget_bias,
        }
