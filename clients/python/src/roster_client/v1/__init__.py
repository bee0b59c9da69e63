"""Generated messages and gRPC stubs for the roster.v1 API (do not edit).

Regenerate with scripts/clients/generate.sh from proto/roster/v1.
"""
