"""The bottom layer: process-group helpers and atomic file writes that every other layer may use."""
