"""Arrivée d'un collaborateur en CDI / a collaborator joins on a permanent contract.

python3 arrivee_collaborateur.py USERNAME PRÉNOM NOM EMAIL PROFIL PLATEFORMES [POSTE]
  PLATEFORMES : mars, v3 ou mars,v3
"""

import sys
from datetime import date

from scim_etude import call, new_user, show

user_name, given, family, email, profile, platforms = sys.argv[1:7]
title = sys.argv[7] if len(sys.argv) > 7 else ""
body = new_user(user_name, given, family, email, title, profile=profile,
                platforms=platforms.split(","), titulaire=False, contractType="CDI",
                employerAttestationDate=date.today().isoformat())
show(call("POST", "/Users", body))
