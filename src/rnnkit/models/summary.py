"""A Keras-like summary whose counts also state how they follow from the sizes."""

from __future__ import annotations

from itertools import groupby


def _shape(shape) -> str:
    if isinstance(shape, list):
        return " + ".join(_shape(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in (None, *shape)) + ")"


def summary_text(model) -> str:
    if not model.built:
        raise RuntimeError("the model is not built yet: give input_shape, or fit/predict once, before summary()")
    rows = [("Layer (type)", "Output shape", "Params", "Formula")]
    shape = model.input_shape
    for layer in model.layers:
        out = layer.output_shape(shape)
        if getattr(layer, "merge_mode", "concat") is None:
            out = [out, out]
        kind = getattr(layer, "display_name", layer.kind)
        rows.append((f"{layer.name} ({kind})", _shape(out), f"{layer.count_params():,}", _formula(layer, shape)))
        shape = out[0] if isinstance(out, list) else out
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    line = "─" * (sum(widths) + 6)
    text = [f'Model: "{model.name}"', line]
    for k, r in enumerate(rows):
        text.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            text.append(line)
    total = model.count_params()
    text += [line, f"Total params: {total:,}", line]
    return "\n".join(text)


def _formula(layer, input_shape) -> str:
    """The layer's count as a formula with its sizes; a Stack's layers each with their own, since
    every layer after the first reads the one before it (F there is D·H, not the model's F)."""
    if layer.kind == "Stack":
        runs = [(text, len(list(same))) for text, same in groupby(_formula(sub, sub.input_shape) for sub in layer.layers)]
        return " + ".join(f"[{text}]" if n == 1 else f"{n} × [{text}]" for text, n in runs)
    formula = layer.param_formula()
    return f"{formula}{_sizes(layer, input_shape)}" if formula else ""


def _sizes(layer, input_shape) -> str:
    """The letters of the formula with their values, e.g. ' with F=32, H=32'."""
    F = input_shape[-1] if input_shape else None
    if layer.kind == "Embedding":
        return f" with V={layer.input_dim}, D={layer.output_dim}"
    if layer.kind == "Dense":
        return f" with F={F}, U={layer.units}"
    units = getattr(layer, "units", None)
    if units is not None and layer.kind in ("Recurrent", "Bidirectional"):
        return f" with F={F}, H={units}"
    return ""
