"""The rampart command line: run, serve, token, asyncapi."""
