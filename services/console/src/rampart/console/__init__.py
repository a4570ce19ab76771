"""Rampart's operator console: pages for analysts and approvers over the services' public APIs.

It holds no data and reaches the other services only through their HTTP APIs, with the
signed-in person's own token, so what a page shows and allows is exactly what that token may
see and do.
"""
