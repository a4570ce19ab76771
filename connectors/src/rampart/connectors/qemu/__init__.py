"""The ``qemu`` connector: suspends, resumes and reports QEMU virtual machines over QMP."""

from rampart.connectors.qemu.config import QemuConfig
from rampart.connectors.qemu.connector import QemuConnector

__all__ = ["QemuConfig", "QemuConnector"]
