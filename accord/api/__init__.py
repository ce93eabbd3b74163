"""HTTP adapter: parses, calls the services, renders. Decides nothing itself."""
