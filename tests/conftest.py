"""Shared fixtures. ``JAXRNN_REQUIRE_TORCH=1`` (set by .ci/run) turns a missing torch
into an error, so the PyTorch cross-checks cannot silently skip in CI. (XLA's compile flags
of every test process are set in the root ``conftest.py``.)"""

from __future__ import annotations

import importlib.util
import os

import jax
import pytest


def pytest_configure(config):
    if os.environ.get("JAXRNN_REQUIRE_TORCH") == "1" and importlib.util.find_spec("torch") is None:
        raise pytest.UsageError(
            "JAXRNN_REQUIRE_TORCH=1 but torch is not installed: pip install torch==2.13.0"
        )


@pytest.fixture
def x64():
    """Run the test with 64-bit floats enabled (restored afterwards)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def strict_promotion():
    """Strict dtype promotion: any implicit float32/float64 mixing raises."""
    with jax.numpy_dtype_promotion("strict"):
        yield
