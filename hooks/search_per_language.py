"""Give each language its own search index, so a reader searches the answers in their language.

mkdocs-static-i18n merges every language's entries into one site/search/search_index.json. This
hook splits it after the last language is built: English entries stay at /search/, Chinese entries
move to /zh/search/ with locations relative to /zh/. overrides/main.html points the Chinese pages'
search at their index. The offline build's search_index.js (Material's offline plugin) is split too.
"""

import json
from pathlib import Path

from mkdocs.plugins import event_priority

from handbook import DEFAULT_LANGUAGE, LANGUAGES, site_prefix

OFFLINE_PREFIX = "var __index = "


def read_index(search_dir: Path) -> dict:
    return json.loads((search_dir / "search_index.json").read_text(encoding="utf-8"))


def write_index(search_dir: Path, index: dict, offline: bool) -> None:
    search_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps(index, ensure_ascii=False, separators=(",", ":"))
    (search_dir / "search_index.json").write_text(data, encoding="utf-8")
    if offline:
        (search_dir / "search_index.js").write_text(OFFLINE_PREFIX + data, encoding="utf-8")


def language_of(location: str) -> str:
    first = location.split("/", 1)[0]
    return first if first in LANGUAGES else DEFAULT_LANGUAGE


# After mkdocs-static-i18n (-100) has built every language and written the merged index,
# and after Material's offline plugin (-100) has written search_index.js.
@event_priority(-200)
def on_post_build(config):
    if config.plugins["i18n"].building:  # inside one language's sub-build: the index is partial
        return
    site = Path(config.site_dir)
    merged = read_index(site / "search")
    offline = (site / "search" / "search_index.js").exists()
    for lang in LANGUAGES:
        prefix = site_prefix(lang)
        docs = [
            dict(doc, location=doc["location"][len(prefix):])
            for doc in merged["docs"]
            if language_of(doc["location"]) == lang
        ]
        if not docs:
            raise RuntimeError(f"search index: no entries for language '{lang}'")
        write_index(site / prefix / "search", dict(merged, docs=docs), offline)
