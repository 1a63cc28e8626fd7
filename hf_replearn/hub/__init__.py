"""Model cards, pushing to a model hub, and a local hub server."""
