"""The examples are acceptance tests: each runs and reaches its stated result."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_binary_subtraction_gets_every_bit_right():
    assert load("binary_subtraction").main() == 1.0


@pytest.mark.parametrize("epochs", [15])
def test_custom_model_learns(epochs):
    assert load("custom_model").main(epochs) > 0.85
