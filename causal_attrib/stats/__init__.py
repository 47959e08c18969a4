"""Statistics: target statistics, change and independence tests, false discovery rates,
anomaly scores, and the one Shapley module every game uses."""
