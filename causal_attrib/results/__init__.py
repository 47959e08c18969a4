"""Results: what every analysis returns, one dataclass tree per command, sharing one
protocol (``summary``, ``to_dict``, ``to_frame``) and one schema version."""
