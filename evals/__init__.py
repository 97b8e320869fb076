"""Evaluations of the reference deployment."""
