"""Complaint Radar: cross-cutting pieces (configuration, CLI, file helpers)."""
