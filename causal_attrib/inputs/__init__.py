"""Inputs: reading graph files and tables, and matching the tables to the graph."""
