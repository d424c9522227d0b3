"""Test-suite wiring: with --require-torch (CI passes it) a skipped PyTorch comparison fails the run,
and the run does not start without PyTorch."""

from __future__ import annotations

import importlib.util

import pytest

_skipped_torch_tests: list[str] = []


def pytest_addoption(parser):
    parser.addoption(
        "--require-torch",
        action="store_true",
        help="fail the run if any test marked 'torch' was skipped (CI must compare against PyTorch)",
    )


def pytest_configure(config):
    if config.getoption("--require-torch") and importlib.util.find_spec("torch") is None:
        raise pytest.UsageError("--require-torch: PyTorch is not installed (pip install torch==2.13.0)")


def pytest_runtest_logreport(report):
    if report.skipped and "torch" in report.keywords:
        _skipped_torch_tests.append(report.nodeid)


def pytest_collectreport(report):
    # a module that skips itself at import (pytest.importorskip("torch") at the top) is skipped
    # while being collected: no test report carries the 'torch' keyword then
    if report.skipped and "torch" in str(report.longrepr).lower():
        _skipped_torch_tests.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if session.config.getoption("--require-torch") and _skipped_torch_tests:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"--require-torch: {len(_skipped_torch_tests)} PyTorch comparison test(s) were skipped, "
                f"e.g. {_skipped_torch_tests[0]}",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
