"""Bring up a whole local office on loopback and walk one client call through it.

    python3 sip-testbed/run_office.py [--keep]

See sip-testbed/testbed/demo.py for what it does; it exits 0 when everything happened as told.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from testbed.demo import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
