"""The bottom layer: process-group helpers, atomic file writes and the thread policy that every other layer may use."""
