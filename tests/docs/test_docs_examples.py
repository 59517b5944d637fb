"""The code examples of the README and the documentation's home page run as shown."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def _run_examples(path: Path) -> dict:
    namespace: dict = {"__name__": "example"}
    blocks = _PYTHON_BLOCK.findall(path.read_text(encoding="utf-8"))
    assert blocks, f"{path.name} has no python example"
    for i, code in enumerate(blocks):
        exec(compile(code, f"{path.name} [python block {i + 1}]", "exec"), namespace)
    return namespace


@pytest.mark.tutorial
@pytest.mark.slow
@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_front_page_example_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns = _run_examples(ROOT / page)
    # The example ends with PainSeeker's attention maps at 112 px: ResNet-18 leaves a
    # 4×4 grid (112 / 32 rounded up), and every map is a distribution over the regions.
    maps = np.asarray(ns["maps"])
    assert maps.shape == (4, 4, 4)
    np.testing.assert_allclose(maps.reshape(4, -1).sum(axis=1), 1.0, rtol=1e-5)
    assert len(ns["data"]) > 0 and set(np.unique(ns["data"].labels)) == {0, 1}
