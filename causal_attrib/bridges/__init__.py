"""Bridges to other causal libraries: DoWhy's ``gcm`` models built from our fits."""
