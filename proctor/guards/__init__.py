"""Guardrails that hold whatever the model says: composable middleware and graph-node helpers."""
