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
    from rnnkit.models.sequential import Sequential

    rows = _sequential_rows(model) if isinstance(model, Sequential) else _part_rows(model)
    rows.insert(0, ("Layer (type)", "Output shape", "Params", "Formula"))
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


def _sequential_rows(model) -> list[tuple]:
    """One row per layer, each reading the one before it: the shapes follow down the stack."""
    rows = []
    shape = model.input_shape
    for layer in model.layers:
        row, out = _row(layer.name, layer, shape, layer.count_params())
        rows.append(row)
        shape = out[0] if isinstance(out, list) else out
    return rows


def _row(label: str, layer, input_shape, count: int) -> tuple[tuple, object]:
    """A layer's row and its output shape (a list of two for a Bidirectional with merge_mode=None)."""
    out = layer.output_shape(input_shape)
    if getattr(layer, "merge_mode", "concat") is None:
        out = [out, out]
    kind = getattr(layer, "display_name", layer.kind)
    return (f"{label} ({kind})", _shape(out), f"{count:,}", _formula(layer, input_shape)), out


def _part_rows(model) -> list[tuple]:
    """A Model subclass: its layers are known only through the protocol, `params` ('part.param'
    -> array, as fit and the model files read them), so there is one row per prefix, counted
    from `params` (the rows add up to the total). Where an attribute of the model is a layer
    holding exactly that prefix's arrays, the row also gives its type, output shape (from the
    input shape it was built with) and formula; otherwise '?' as Keras shows what it cannot know."""
    groups: dict[str, list] = {}
    for key, array in model.params.items():
        groups.setdefault(key.split(".", 1)[0], []).append(array)
    rows = []
    for prefix, arrays in groups.items():
        count = sum(a.size for a in arrays)
        layer = _layer_holding(model, prefix, arrays)
        if layer is None:
            rows.append((f"{prefix} (?)", "?", f"{count:,}", ""))
        else:
            rows.append(_row(prefix, layer, layer.input_shape, count)[0])
    return rows


def _layer_holding(model, prefix: str, arrays: list):
    """The built layer among the model's attributes (looked at first under the name `prefix`, then
    all of them, also inside lists, tuples and dicts) whose parameters are these very arrays."""
    from rnnkit.layers import Layer
    from rnnkit.models.base import attribute_layers

    wanted = sorted(id(a) for a in arrays)
    named = getattr(model, prefix, None) if prefix.isidentifier() else None
    for candidate in [named, *attribute_layers(model)]:
        if (isinstance(candidate, Layer) and candidate.built
                and sorted(id(a) for a in candidate.params.values()) == wanted):
            return candidate
    return None


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
