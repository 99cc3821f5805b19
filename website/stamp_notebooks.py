"""Quarto post-render step: stamp the website's downloadable notebooks with the commit the site was built from.

The notebooks are copied into the site as resources (`_quarto.yml`); in each copy the hosted
set-up cell's `ref` becomes the commit of the checked-out tree, so that a notebook downloaded
from a page and opened in a hosted kernel installs the course at exactly the page's version.
Outside a git repository the copies keep `course-ref` (see `website/hosted_setup.py`).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hosted_setup import built_commit, replace_atomically, stamp  # noqa: E402


def main() -> int:
    commit = built_commit()
    if not commit:
        return 0
    for notebook in Path(os.environ["QUARTO_PROJECT_OUTPUT_DIR"]).glob("notebooks/*.ipynb"):
        stamped = stamp(notebook.read_text(encoding="utf-8"), commit).encode("utf-8")
        replace_atomically(notebook, lambda stream, data=stamped: stream.write(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
