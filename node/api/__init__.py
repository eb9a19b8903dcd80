"""The HTTP API of DESIGN.md §9: app factory and middleware, one module per route family."""
