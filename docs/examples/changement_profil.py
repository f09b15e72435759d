"""Changement de profil (et, si donné, de plateformes) / a change of profile (and platforms).

python3 changement_profil.py USERNAME PROFIL [PLATEFORMES]
"""

import sys

from scim_etude import ETUDE, patch, show

user_name, profile = sys.argv[1:3]
operations = [{"op": "replace", "path": f"{ETUDE}:profile", "value": profile}]
if len(sys.argv) > 3:
    operations.append({"op": "replace", "path": f"{ETUDE}:platforms",
                       "value": sys.argv[3].split(",")})
show(patch(user_name, *operations))
