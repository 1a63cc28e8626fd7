"""What every layer uses: process groups, file writes, threads. Imports nothing of hf_replearn but errors."""
