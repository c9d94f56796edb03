"""Shared test configuration."""

from __future__ import annotations

import os

import matplotlib

# no display on CI machines; set before any test imports pyplot
matplotlib.use("Agg")
os.environ.setdefault("TQDM_DISABLE", "1")
