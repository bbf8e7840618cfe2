/* Behaviour every page shares. Material calls document$ subscribers on every page load. */

/* The language selector links to the same page in the other language; question ids are the same
   in both languages (CONTRIBUTING.md, R2), so the #anchor carries the reader to the same question. */
function carryAnchorToLanguageLinks() {
  document.querySelectorAll("a.md-select__link[hreflang]").forEach(function (link) {
    link.href = link.href.split("#")[0] + location.hash;
  });
}
window.addEventListener("hashchange", carryAnchorToLanguageLinks);

/* Material's own handler would send the reader to the other language's page without the anchor
   (it consults sitemap.xml alternates that mkdocs-static-i18n does not write), so the browser's
   plain navigation to the link, anchor included, must win. */
document.addEventListener("click", function (event) {
  var link = event.target instanceof Element && event.target.closest("a.md-select__link[hreflang]");
  if (link) {
    carryAnchorToLanguageLinks();
    event.stopPropagation();
  }
}, true);

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

/* Inside the offline bundle the zip it came from is not there to download. */
function hideOfflineDownloadWhenOffline() {
  if (location.protocol !== "file:") return;
  document.querySelectorAll("a[href$='-offline.zip']").forEach(function (link) {
    link.closest("p").hidden = true;
  });
}

document$.subscribe(function () {
  carryAnchorToLanguageLinks();
  renderMath();
  hideOfflineDownloadWhenOffline();
});
