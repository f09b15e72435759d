"""Départ immédiat / an immediate departure: access is revoked now (R8).

python3 depart_immediat.py USERNAME
"""

import sys

from scim_etude import patch, show

show(patch(sys.argv[1], {"op": "replace", "path": "active", "value": False}))
