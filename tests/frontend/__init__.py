"""Frontend developer experience: real browsers, typed clients, the run viewer, coverage."""
