"""The ``ssh`` connector: Linux hosts reached over SSH with a pinned host key."""

from __future__ import annotations

from rampart.connectors.ssh import files, firewall, processes
from rampart.connectors.ssh.config import SshConfig
from rampart.connectors.ssh.models import (
    Connectivity,
    FileCopy,
    IpBlock,
    ProcessDump,
    ProcessList,
    ScriptRun,
    TerminateResult,
)
from rampart.connectors.ssh.session import open_session
from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    Connector,
    GetFileParams,
    IpParams,
    ListProcessesParams,
    NoParams,
    ProcessParams,
    RunScriptParams,
    TerminateProcessParams,
    action,
)

PROCESS_TABLE = """<table class="rampart-processes">
<caption>{{ result.count }} processes on {{ result.host }}</caption>
<thead><tr><th>PID</th><th>PPID</th><th>User</th><th>State</th><th>Name</th><th>Command</th></tr>
</thead><tbody>
{% for p in result.processes %}<tr><td>{{ p.pid }}</td><td>{{ p.ppid }}</td><td>{{ p.user }}</td>
<td>{{ p.state }}</td><td>{{ p.name }}</td><td><code>{{ p.command }}</code></td></tr>
{% endfor %}</tbody></table>"""

SCRIPT_RUN = """<div class="rampart-script">
<p>exit status {{ result.exit_status }}{% if result.timed_out %} (timed out){% endif %}
on {{ result.host }} after {{ result.duration_s }} s</p>
<pre class="stdout">{{ result.stdout.text }}</pre>{% if result.stdout.truncated %}
<p>stdout cut at {{ result.stdout.text | length }} of {{ result.stdout.bytes }} bytes</p>{% endif %}
{% if result.stderr.text %}<pre class="stderr">{{ result.stderr.text }}</pre>{% endif %}
</div>"""

FILE_COPY = """<p class="rampart-file"><code>{{ result.path }}</code> from {{ result.host }}:
{{ result.size }} bytes, SHA-256 <code>{{ result.sha256 }}</code></p>"""

PROCESS_DUMP = """<p class="rampart-dump">core dump of process {{ result.pid }}
(<code>{{ result.name }}</code>) on {{ result.host }}: {{ result.file.size }} bytes in the vault,
SHA-256 <code>{{ result.file.sha256 }}</code></p>"""

TERMINATED = """<table class="rampart-terminated">
<caption>{{ result.processes | length }} process(es) on {{ result.host }}</caption>
<thead><tr><th>PID</th><th>Name</th><th>Outcome</th></tr></thead><tbody>
{% for p in result.processes %}<tr><td>{{ p.pid }}</td><td>{{ p.name or "" }}</td>
<td>{{ p.outcome }}</td></tr>{% endfor %}</tbody></table>"""

IP_BLOCK = """<p class="rampart-block"><code>{{ result.ip }}</code> on {{ result.host }}:
{% if result.blocked %}blocked{% else %}not blocked{% endif %}
{%- if result.covered_by %} (inside the blocked network {{ result.covered_by }}){% endif %},
set <code>{{ result.table }} {{ result.set }}</code>
{%- if not result.changed %}, unchanged{% endif %}</p>"""

_PROBE = (
    "id -un; id -u; uname -sr; "
    "for t in gcore nft flock; do command -v $t >/dev/null && echo $t=1 || echo $t=0; done"
)


class SshConnector(Connector[SshConfig]):
    """Processes and the nftables firewall of a Linux host, over SSH."""

    name = "ssh"
    vendor = "OpenSSH"
    product = "Linux host"
    description = (
        "Lists and terminates processes, collects core dumps with gcore and blocks addresses "
        "with nftables, runs scripts and copies files into the vault on a Linux host "
        "reached over SSH; the host key is pinned."
    )
    config_model = SshConfig

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> Connectivity:
        """Log in, and report the account, the kernel and the tools the actions need."""
        async with open_session(self.config, ctx.ssh) as session:
            probe = await session.run(_PROBE)
            privileged = True
            if self.config.use_sudo and self.config.username != "root":
                privileged = (await session.run("true", privileged=True)).exit_status == 0
        lines = probe.stdout.splitlines()
        if probe.exit_status != 0 or len(lines) < 3 or not lines[1].isdigit():
            raise ActionError(f"{session.target}: the probe failed: {probe.last_error_line()}")
        tools = dict(line.split("=", 1) for line in lines[3:] if "=" in line)
        return Connectivity(
            host=self.config.host,
            port=self.config.port,
            user=lines[0],
            uid=int(lines[1]),
            kernel=lines[2],
            privileged=privileged and (int(lines[1]) == 0 or self.config.use_sudo),
            tools={k: v == "1" for k, v in tools.items()},
        )

    @action("list processes", widget=PROCESS_TABLE)
    async def list_processes(self, ctx: ActionContext, params: ListProcessesParams) -> ProcessList:
        """Every process, or those with the exact name given."""
        async with open_session(self.config, ctx.ssh) as session:
            found = await processes.list_processes(session)
        if params.name is not None:
            found = [p for p in found if p.name == params.name]
        return ProcessList(host=session.target, count=len(found), processes=found)

    @action("terminate process", widget=TERMINATED)
    async def terminate_process(
        self, ctx: ActionContext, params: TerminateProcessParams
    ) -> TerminateResult:
        """SIGTERM the process (by pid, or every process of that exact name), SIGKILL if needed."""
        async with open_session(self.config, ctx.ssh) as session:
            listing = await processes.list_processes(session)
            names = {p.pid: p.name for p in listing}
            if params.pid is not None:
                pids = [params.pid]
                if params.name is not None and names.get(params.pid) not in (None, params.name):
                    raise ActionError(
                        f"{session.target}: process {params.pid} is "
                        f"{names[params.pid]!r}, not {params.name!r}"
                    )
            else:
                pids = [p.pid for p in listing if p.name == params.name]
            if not pids:
                return TerminateResult(host=session.target, processes=[])
            ctx.log.info("terminating processes", extra={"pids": pids})
            outcomes = await processes.terminate(session, pids, grace_seconds=params.grace_seconds)
        return TerminateResult(
            host=session.target, processes=processes.outcomes_of(outcomes, names)
        )

    @action("get process dump", widget=PROCESS_DUMP)
    async def get_process_dump(self, ctx: ActionContext, params: ProcessParams) -> ProcessDump:
        """A core dump of the process (gcore), kept in the vault."""
        if ctx.vault is None:
            raise ActionError("get process dump needs the vault, and none was given")
        async with open_session(self.config, ctx.ssh) as session:
            return await processes.dump(
                session, pid=params.pid, dump_dir=self.config.dump_dir, vault=ctx.vault
            )

    @action("block ip", widget=IP_BLOCK)
    async def block_ip(self, ctx: ActionContext, params: IpParams) -> IpBlock:
        """Drop traffic from and to the address, in Rampart's own nftables table."""
        async with open_session(self.config, ctx.ssh) as session:
            return await firewall.block(session, params.ip)

    @action("unblock ip", widget=IP_BLOCK)
    async def unblock_ip(self, ctx: ActionContext, params: IpParams) -> IpBlock:
        """Take the address out of Rampart's block set."""
        async with open_session(self.config, ctx.ssh) as session:
            return await firewall.unblock(session, params.ip)

    def _this_host(self, host: str | None) -> None:
        # The catalog's `host` picks an endpoint of a product that manages many (an EDR);
        # an ssh asset is one host, so only its own name may be given.
        if host is not None and host != self.config.host:
            raise ActionError(
                f"this asset is the host {self.config.host}; omit host or give that name, "
                f"not {host!r}"
            )

    @action("run script", widget=SCRIPT_RUN)
    async def run_script(self, ctx: ActionContext, params: RunScriptParams) -> ScriptRun:
        """Pipe the script to the host's shell with its arguments; exit status and bounded
        output, stopped on the host when its time limit passes."""
        self._this_host(params.host)
        ctx.log.info("running a script", extra={"bytes": len(params.script)})
        async with open_session(self.config, ctx.ssh) as session:
            return await files.run_script(
                session,
                params.script,
                list(params.args),
                timeout_s=params.timeout_seconds,
                output_limit=self.config.script_output_limit_bytes,
            )

    @action("get file", widget=FILE_COPY)
    async def get_file(self, ctx: ActionContext, params: GetFileParams) -> FileCopy:
        """Copy a regular file of at most ``max_bytes`` off the host into the vault."""
        self._this_host(params.host)
        if ctx.vault is None:
            raise ActionError("get file needs the vault, and none was given")
        async with open_session(self.config, ctx.ssh) as session:
            return await files.get_file(
                session, params.path, max_bytes=params.max_bytes, vault=ctx.vault
            )
