"""Benchmarks (not tests): flow speed, flow memory and Middlebury accuracy; run each with `python -m`."""
