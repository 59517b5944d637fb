"""What the package asks pip for, and a docs build that needs nothing but the docs extra."""

import configparser
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

import painzoo

ROOT = Path(__file__).resolve().parents[1]


def _extras() -> dict[str, list[Requirement]]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    section = cfg["options.extras_require"]
    return {
        name: [Requirement(line) for line in section[name].splitlines() if line.strip()]
        for name in section
    }


def test_every_extra_that_installs_torch_asks_for_the_same_release():
    specs = {
        name: str(req.specifier)
        for name, reqs in _extras().items()
        for req in reqs
        if req.name == "torch"
    }
    assert set(specs) >= {"dev", "torch"}
    assert len(set(specs.values())) == 1, specs
    # A range open upwards lets pip take the newest release (a CUDA build of several GB).
    (spec,) = set(specs.values())
    assert spec.startswith("=="), spec


def test_no_extra_installs_a_package_that_painzoo_never_imports():
    names = {req.name for reqs in _extras().values() for req in reqs}
    assert "keras-cv" not in names and "keras-cv" not in _extras()
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "painzoo").rglob("*.py"))
    assert "keras_cv" not in sources


_NO_PAINZOO = """
import importlib.abc, importlib.util, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"painzoo", "keras", "tensorflow", "numpy"}:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Refuse())
spec = importlib.util.spec_from_file_location("hooks", sys.argv[1])
hooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hooks)
page = "before\\n" + hooks.MODEL_TABLE + "\\nafter"
sys.stdout.write(hooks.on_page_markdown(page, page=None, config=None, files=None))
"""


def test_the_docs_hook_builds_the_model_table_without_painzoo_or_its_dependencies():
    """As on a machine with only the docs extra installed: painzoo, Keras, NumPy absent."""
    done = subprocess.run(
        [sys.executable, "-c", _NO_PAINZOO, str(ROOT / "tools" / "mkdocs_hooks.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "before" and lines[-1] == "after"
    # Two tables: the figures, then each network's reference.
    tables = "\n".join(lines[1:-1]).split("\n\n")
    figures = [line for line in tables[0].splitlines() if line.startswith("| `")]
    references = [line for line in tables[-1].splitlines() if line.startswith("| `")]
    # The same networks, in the same order, as the registry (painzoo imported here),
    # leaving out models that other tests of this process registered as plug-ins.
    from painzoo.models.zoo import ZOO

    networks = [name for name in painzoo.list_models() if name in ZOO]
    assert [row.split("`")[1] for row in figures] == networks
    assert [row.split("`")[1] for row in references] == networks
    for row in figures:
        name = row.split("`")[1]
        info = painzoo.model_info(name)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == "×".join(str(s) for s in info.input_shape[:2])
        assert cells[2] == (f"{info.params:,}" if info.params else "–")
    for row in references:
        name = row.split("`")[1]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert painzoo.model_info(name).citation.startswith(cells[1])
