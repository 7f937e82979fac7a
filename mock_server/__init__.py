"""stepspec's mock server: the three vendor APIs, served from a deterministic seeded world."""
