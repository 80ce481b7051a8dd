from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("default", max_examples=40, deadline=None)
settings.register_profile("slow", max_examples=600, deadline=None)
settings.load_profile(os.environ.get("LOSSCTL_HYPOTHESIS", "default"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261128)
