/* Behaviour every page shares. Material calls document$ subscribers on every page load. */

/* The language selector links to the same page in the other language; question ids are the same
   in both languages (CONTRIBUTING.md, R2), so the #anchor carries the reader to the same question. */
function carryAnchorToLanguageLinks() {
  document.querySelectorAll("a.md-select__link[hreflang]").forEach(function (link) {
    link.href = link.href.split("#")[0] + location.hash;
  });
}
window.addEventListener("hashchange", carryAnchorToLanguageLinks);

/* KaTeX, self-hosted: arithmatex emits \( \) and \[ \] on pages; notebooks keep $ and $$. */
var MATH_DELIMITERS = [
  { left: "$$", right: "$$", display: true },
  { left: "\\[", right: "\\]", display: true },
  { left: "\\(", right: "\\)", display: false },
  { left: "$", right: "$", display: false }
];

function renderMath() {
  document.querySelectorAll(".arithmatex, .jp-RenderedMarkdown").forEach(function (element) {
    renderMathInElement(element, { delimiters: MATH_DELIMITERS, throwOnError: false });
  });
}

document$.subscribe(function () {
  carryAnchorToLanguageLinks();
  renderMath();
});
