"""Départ connu à l'avance / a departure known ahead.

python3 depart_prevu.py USERNAME DERNIER_JOUR
  L'accès reste ouvert jusqu'au DERNIER_JOUR inclus ; le job nocturne le ferme le lendemain.
"""

import sys

from scim_etude import ETUDE, patch, show

user_name, last_day = sys.argv[1:3]
show(patch(user_name, {"op": "replace", "path": f"{ETUDE}:departureDate", "value": last_day}))
