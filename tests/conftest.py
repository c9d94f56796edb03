"""Shared test configuration."""

from __future__ import annotations

import matplotlib

# no display on CI machines; set before any test imports pyplot
matplotlib.use("Agg")
