"""Build what the deploy workflow publishes: the site, with the offline bundle zipped inside it.

Usage: python scripts/build.py [OUTPUT_DIR]     (default: site; the bundle is also left unzipped
in OUTPUT_DIR-offline, to open from file://)
"""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The home page links this path (docs/*/index.md).
OFFLINE_ZIP = "downloads/llm-interview-handbook-offline.zip"
BUNDLE_FOLDER = "llm-interview-handbook"


def mkdocs_build(site_dir: Path, offline: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", OFFLINE="true" if offline else "false")
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )


def zip_folder(folder: Path, archive: Path) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, f"{BUNDLE_FOLDER}/{path.relative_to(folder).as_posix()}")


def build(site_dir: Path) -> tuple[Path, Path]:
    """Build both flavours; raise with mkdocs' own output when a build fails."""
    offline_dir = site_dir.with_name(site_dir.name + "-offline")
    for target, offline in ((offline_dir, True), (site_dir, False)):
        result = mkdocs_build(target, offline)
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            raise SystemExit(f"mkdocs build {'(offline) ' if offline else ''}failed")
    zip_folder(offline_dir, site_dir / OFFLINE_ZIP)
    return site_dir, offline_dir


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "site").resolve())
