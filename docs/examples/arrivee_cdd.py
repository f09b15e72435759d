"""Arrivée d'un collaborateur en CDD / a collaborator joins on a fixed-term contract.

python3 arrivee_cdd.py USERNAME PRÉNOM NOM EMAIL PROFIL PLATEFORMES FIN_DU_CDD
  FIN_DU_CDD : dernier jour travaillé, AAAA-MM-JJ ; l'accès cesse le lendemain
"""

import sys
from datetime import date

from scim_etude import call, new_user, show

user_name, given, family, email, profile, platforms, end = sys.argv[1:8]
body = new_user(user_name, given, family, email, "", profile=profile,
                platforms=platforms.split(","), titulaire=False, contractType="CDD",
                contractEndDate=end, employerAttestationDate=date.today().isoformat())
show(call("POST", "/Users", body))
