"""stepspec's conformance core: the schemas, their validators, and the checks built on them."""
