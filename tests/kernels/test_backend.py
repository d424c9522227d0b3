"""The backend switch: set_backend for the process, ``with backend(...)`` for one thread's block."""

from __future__ import annotations

import threading

import pytest

import rnnkit
from rnnkit import kernels
from rnnkit.cells import FAMILIES


@pytest.fixture(autouse=True)
def default_backend():
    yield
    rnnkit.set_backend("auto")


def test_an_unknown_name_is_refused_at_once():
    with pytest.raises(ValueError, match="backend must be one of"):
        rnnkit.backend("no-such-backend")  # even without a with-block
    with pytest.raises(ValueError, match="backend must be one of"):
        rnnkit.set_backend("Reference")


def test_a_block_overrides_the_process_choice_and_restores_it_also_on_error():
    rnnkit.set_backend("reference")
    with rnnkit.backend("auto"):
        assert rnnkit.get_backend() == "auto"
        with rnnkit.backend("reference"):
            assert kernels.select("gru") is FAMILIES["gru"]
        assert rnnkit.get_backend() == "auto"
    with pytest.raises(KeyError), rnnkit.backend("fast"):
        raise KeyError
    assert rnnkit.get_backend() == "reference"


def test_a_block_is_seen_by_its_own_thread_only():
    inside, entered, leave = {}, threading.Event(), threading.Event()

    def worker():
        with rnnkit.backend("reference"):
            entered.set()
            leave.wait(5)
            inside["worker"] = rnnkit.get_backend()

    thread = threading.Thread(target=worker)
    thread.start()
    entered.wait(5)
    with rnnkit.backend("fast"):
        inside["main"] = rnnkit.get_backend()
        leave.set()
        thread.join(5)
    assert inside == {"worker": "reference", "main": "fast"}
    assert rnnkit.get_backend() == "auto"


def test_set_backend_reaches_every_thread():
    rnnkit.set_backend("reference")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(rnnkit.get_backend()))
    thread.start()
    thread.join(5)
    assert seen == ["reference"]
