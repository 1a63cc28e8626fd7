"""Data loaders, one module per modality; each returns ``datasets`` objects."""
