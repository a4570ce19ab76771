"""The sandbox: everything that runs in, or talks to, the playbook processes.

Nothing here imports the engine's runs or playbooks; the processes import only this package,
``rampart.engine.steps`` and the SDK.
"""
