"""Prolongation d'un CDD / a fixed-term contract is extended.

python3 prolongation_cdd.py USERNAME NOUVELLE_FIN
"""

import sys

from scim_etude import ETUDE, patch, show

user_name, end = sys.argv[1:3]
show(patch(user_name, {"op": "replace", "path": f"{ETUDE}:contractEndDate", "value": end}))
