"""« Mon étude »: the titulaire's French web page under /etude/ (see setup.setup_portal)."""
