"""The HTTP service: routes, request conversion, online state, the event journal, metrics
and middleware."""
