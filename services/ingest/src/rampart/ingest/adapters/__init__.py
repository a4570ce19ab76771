"""Adapters: each turns one vendor's payload into normalized events."""
