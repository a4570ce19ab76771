"""Playbooks: their stored versions, and where sources come from (the folder, uploads)."""
