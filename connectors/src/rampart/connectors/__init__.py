"""Rampart's built-in connectors, each a subpackage registered under the rampart.connectors entry-point group."""
