"""Models: feature bases, the causal mechanisms fitted on them, and the simulations they drive."""
