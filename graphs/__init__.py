"""Graphs: the front door, the supervisor and the plan-and-execute subgraph."""
