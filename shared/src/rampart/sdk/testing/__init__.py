"""What authors' tests import: ``from rampart.sdk.testing import PlaybookHarness``."""

from rampart.sdk.testing._playbooks import ActCall, PlaybookHarness, PromptCall

__all__ = ["ActCall", "PlaybookHarness", "PromptCall"]
