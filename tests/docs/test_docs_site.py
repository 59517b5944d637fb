"""The documentation site works offline and publishes only the documentation.

The site build needs the ``docs`` extra (mkdocs, mkdocs-material,
mkdocstrings); without it the build test is skipped. The checks of the
source files run everywhere.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MATHJAX = DOCS / "javascripts" / "mathjax"
# What a page prints when its output was made in a temporary folder.
_TEMP_PATH = re.compile(r"/tmp/|/var/folders/|pytest-of-|\\AppData\\Local\\Temp")
_REMOTE = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)


def test_no_python_file_is_published_with_the_pages():
    """MkDocs copies every file under docs/ into the site: the build hook lives outside."""
    assert sorted(p.relative_to(ROOT).as_posix() for p in DOCS.rglob("*.py")) == []
    assert (ROOT / "tools" / "mkdocs_hooks.py").is_file()


def test_the_bundled_mathjax_is_the_file_its_record_names():
    record = (MATHJAX / "SOURCE.txt").read_text(encoding="utf-8")
    digest = hashlib.sha256((MATHJAX / "tex-svg.js").read_bytes()).hexdigest()
    assert f"sha256 of tex-svg.js: {digest}" in record
    assert "Apache License" in (MATHJAX / "LICENSE").read_text(encoding="utf-8")


def test_no_page_shows_a_temporary_path():
    for page in sorted(DOCS.rglob("*.md")):
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            assert not _TEMP_PATH.search(line), f"{page.relative_to(ROOT)}:{number}: {line}"


def _docs_extra_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers")
    )


@pytest.mark.skipif(not _docs_extra_installed(), reason="needs the docs extra (mkdocs)")
def test_strict_build_loads_nothing_from_the_network_and_renders_equations_locally(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(  # not --quiet: it hides the warnings that --strict counts
        [sys.executable, "-m", "mkdocs", "build", "--strict"]
        + ["--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*.py")) == []
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        remote = _REMOTE.findall(page.read_text(encoding="utf-8"))
        assert not remote, f"{page.relative_to(site)} loads {remote} from the network"

    # The equations are TeX for MathJax, which is served with the site.
    painseeker = (site / "painseeker" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<span class="arithmatex">\\\(.*?\\mathcal\{X\}_i', painseeker)
    scripts = re.findall(r'<script src="([^"]+)"', painseeker)
    local = [s for s in scripts if s.endswith("mathjax/tex-svg.js")]
    assert len(local) == 1, scripts
    served = (site / "painseeker" / local[0]).resolve()
    assert served.read_bytes() == (MATHJAX / "tex-svg.js").read_bytes()
    assert (served.parent / "LICENSE").is_file()
    # The configuration comes first, so MathJax reads it when it starts.
    assert scripts.index(local[0]) > next(i for i, s in enumerate(scripts) if "config" in s)

    # The model table: the figures, then the references, every network in both.
    models = (site / "models" / "index.html").read_text(encoding="utf-8")
    tables = re.findall(r"<table>.*?</table>", models, re.S)
    names = [re.findall(r"<td><code>([\w]+)</code></td>", t) for t in tables]
    zoo = [n for n in names if "painseeker_no_prsc" in n]
    assert len(zoo) == 2 and zoo[0] == zoo[1] and len(zoo[0]) >= 13
    assert "stylesheets/extra.css" in models
