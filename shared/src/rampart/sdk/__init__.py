"""What playbook and connector authors import: ``from rampart.sdk import ...``."""

# Playbook authors' API (``rampart.sdk.playbook``) and connector authors' API (the action
# catalog, the connector base, the vault). Connector code imports from
# ``rampart.sdk.connector``, whose ``ActionError`` is what a playbook sees as ``ActionFailed``.
from rampart.sdk.catalog import CATALOG as CATALOG
from rampart.sdk.catalog import ActionKind as ActionKind
from rampart.sdk.catalog import ActionSpec as ActionSpec
from rampart.sdk.catalog import InvalidParameters as InvalidParameters
from rampart.sdk.catalog import action_spec as action_spec
from rampart.sdk.catalog import contains as contains
from rampart.sdk.catalog import validate_params as validate_params
from rampart.sdk.connector import ActionContext as ActionContext
from rampart.sdk.connector import ActionError as ActionError
from rampart.sdk.connector import ActionNotImplemented as ActionNotImplemented
from rampart.sdk.connector import AssetConfig as AssetConfig
from rampart.sdk.connector import Connector as Connector
from rampart.sdk.connector import ConnectorError as ConnectorError
from rampart.sdk.connector import InvalidConfiguration as InvalidConfiguration
from rampart.sdk.connector import TargetUnavailable as TargetUnavailable
from rampart.sdk.connector import Vault as Vault
from rampart.sdk.connector import VaultRef as VaultRef
from rampart.sdk.connector import action as action
from rampart.sdk.playbook import ActionFailed as ActionFailed
from rampart.sdk.playbook import ActionResult as ActionResult
from rampart.sdk.playbook import Artifact as Artifact
from rampart.sdk.playbook import AssetOutcome as AssetOutcome
from rampart.sdk.playbook import Budget as Budget
from rampart.sdk.playbook import ChildRunFailed as ChildRunFailed
from rampart.sdk.playbook import Context as Context
from rampart.sdk.playbook import Event as Event
from rampart.sdk.playbook import Playbook as Playbook
from rampart.sdk.playbook import PlaybookError as PlaybookError
from rampart.sdk.playbook import Severity as Severity
from rampart.sdk.playbook import playbook as playbook
from rampart.sdk.policy import ApprovalPolicy as ApprovalPolicy
