"""Monitoring: how the published lists did once their labels matured (`radar monitor`)."""
