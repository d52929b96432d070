"""One module per seed's endpoints (004 tasks and sync, 003 chat, 002 assistant) and /metrics."""
