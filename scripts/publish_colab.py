"""Publish the built site's executed notebooks to the branch that "Open in Colab" reads.

Usage: python scripts/publish_colab.py collect SITE_DIR OUT_DIR     (after the build)
       python scripts/publish_colab.py push OUT_DIR REMOTE_URL        (force-pushes the branch)

Colab opens notebooks from GitHub, and generated files are never committed to main, so the deploy
workflow puts the downloads of each notebook page (hooks/notebook_downloads.py) on their own branch,
as <lang>/<name>.ipynb, replacing its previous content.
"""

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hooks"))
from handbook import COLAB_BRANCH, LANGUAGES, NOTEBOOK_PAGE_DIR, notebook_sources, site_prefix  # noqa: E402


def collect(site_dir: Path, out_dir: Path) -> list[Path]:
    """Copy every notebook download to OUT_DIR/<lang>/<name>.ipynb; fail if one is missing."""
    copied = []
    for lang in LANGUAGES:
        prefix = site_dir / site_prefix(lang)
        for source in notebook_sources():
            download = prefix / NOTEBOOK_PAGE_DIR / f"{source.stem}.ipynb"
            if not download.is_file():
                raise SystemExit(f"{download}: no download for notebooks/{source.name}; build the site first")
            target = out_dir / lang / download.name
            target.parent.mkdir(parents=True, exist_ok=True)
            copied.append(Path(shutil.copyfile(download, target)))
    return copied


def push(out_dir: Path, remote_url: str) -> None:
    def git(*args):
        subprocess.run(["git", *args], cwd=out_dir, check=True)

    git("init", "--quiet", "--initial-branch", COLAB_BRANCH)
    git("add", ".")
    git("-c", "user.name=handbook-bot", "-c", "user.email=handbook-bot@users.noreply.github.com",
        "commit", "--quiet", "--message", "Executed notebooks for Open in Colab")
    git("push", "--force", "--quiet", remote_url, f"HEAD:{COLAB_BRANCH}")


if __name__ == "__main__":
    command, *arguments = sys.argv[1:] or [""]
    if command == "collect" and len(arguments) == 2:
        print(f"collected {len(collect(Path(arguments[0]), Path(arguments[1])))} notebooks into {arguments[1]}")
    elif command == "push" and len(arguments) == 2:
        push(Path(arguments[0]), arguments[1])
    else:
        raise SystemExit(__doc__)
