// MathJax configuration for the equations that pymdownx.arithmatex (generic mode)
// wraps as <span class="arithmatex">\( … \)</span> or <div class="arithmatex">\[ … \]</div>.
// MathJax itself is docs/javascripts/mathjax/tex-svg.js, served with the site, so the
// equations render without network access.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

// Typeset again after Material's instant navigation replaces the page content
// (on a plain page load MathJax typesets the page itself when it starts).
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (!window.MathJax || !MathJax.typesetPromise) {
      return;
    }
    const output = MathJax.startup.output;
    if (output && typeof output.clearCache === "function") {
      output.clearCache();
    }
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  });
}
