"""What authors' own tests import: harnesses that run their code as Rampart would.

``PlaybookHarness`` runs a playbook against scripted action results, prompt answers and
time; ``ConnectorHarness`` runs a connector's actions with a given configuration and
transport and checks its declarations against the catalog.
"""

from rampart.sdk.testing._connectors import ConnectorHarness
from rampart.sdk.testing._playbooks import ActCall, PlaybookHarness, PromptCall

__all__ = ["ActCall", "ConnectorHarness", "PlaybookHarness", "PromptCall"]
