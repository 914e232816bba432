"""Device adapters: one module per wire protocol, each turning bytes into ``vitals`` Readings."""
