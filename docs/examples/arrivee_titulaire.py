"""Arrivée d'un titulaire de l'étude / the huissier who holds the étude joins.

python3 arrivee_titulaire.py USERNAME PRÉNOM NOM EMAIL DATE_KBIS [PLATEFORMES]
  DATE_KBIS : date de l'extrait K-bis, AAAA-MM-JJ, de moins de 3 mois
"""

import sys

from scim_etude import call, new_user, show

user_name, given, family, email, kbis = sys.argv[1:6]
platforms = sys.argv[6] if len(sys.argv) > 6 else "mars,v3"
body = new_user(user_name, given, family, email, "Commissaire de justice", profile="huissier",
                platforms=platforms.split(","), titulaire=True, kbisDate=kbis)
show(call("POST", "/Users", body))
