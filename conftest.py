"""Repository-wide pytest set-up.

Notebooks run by nbval inherit this environment: explorers store precomputed
frames exactly as they do when `python -m helpers.execute` executes them.
"""

import os

os.environ["DLF_HEADLESS"] = "1"
