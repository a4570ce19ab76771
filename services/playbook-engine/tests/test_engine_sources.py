"""Playbook sources: the upload API, versions and pinning, activation, the synced folder."""

from __future__ import annotations

from typing import Any

from rampart.core.auth import Role
from tests.harness import memory_only

V1 = """
from rampart.sdk import playbook

@playbook(labels=["pin"])
async def pinned(ctx, event):
    await ctx.act("lookup ip", asset="edr", ip="192.0.2.1")
    return "v1"
"""

V2 = V1.replace('return "v1"', 'await ctx.add_note("v2 only")\n    return "v2"')


@memory_only
async def test_upload_refuses_bad_code_with_the_error(engine_stack: Any) -> None:
    async with engine_stack() as stack:
        admin = stack.headers(Role.ADMIN)
        cases = {
            "def broken(:\n": ("SyntaxError", 1),
            "import rampart_nothing_here\n": ("ModuleNotFoundError", 1),
            "x = 1\n\nraise RuntimeError('no')\n": ("RuntimeError at line 3", 3),
            "from rampart.sdk import playbook\nasync def f(ctx, e): pass\n": ("no entry", None),
            V1 + V1.replace("pinned", "twin"): ("one @playbook per module", None),
        }
        for source, (expected, line) in cases.items():
            response = await stack.client.post(
                "/api/v1/playbooks", json={"source": source}, headers=admin
            )
            assert response.status_code == 422, (source, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["field"] == "source"
            assert expected in body["detail"], body
            assert body["line"] == line, body
        spinning = await stack.client.post(
            "/api/v1/playbooks", json={"source": "while True:\n    pass\n"}, headers=admin
        )
        assert spinning.status_code == 422
        assert "took more than 2s" in spinning.json()["detail"]
        empty = await stack.client.post("/api/v1/playbooks", json={"source": ""}, headers=admin)
        assert empty.status_code == 422
        analyst = await stack.client.post(
            "/api/v1/playbooks", json={"source": V1}, headers=stack.headers(Role.ANALYST)
        )
        assert analyst.status_code == 403
        listed = await stack.client.get("/api/v1/playbooks", headers=admin)
        assert listed.json() == []


@memory_only
async def test_versions_are_kept_and_a_run_stays_on_the_version_it_started_with(
    engine_stack: Any,
) -> None:
    # the lookups wait for the owner of edr, so both runs are in flight at once
    gated = {"edr": {"approval_policy": {"actions": ["lookup ip"]}}}
    async with engine_stack(noop_assets=gated) as stack:
        admin = stack.headers(Role.ADMIN)
        first = await stack.client.post("/api/v1/playbooks", json={"source": V1}, headers=admin)
        assert first.status_code == 201, first.text
        assert first.json()["version"] == 1
        assert first.json()["created_by"] == "test-admin"
        same = await stack.client.post("/api/v1/playbooks", json={"source": V1}, headers=admin)
        assert same.status_code == 200
        assert same.json()["version"] == 1

        await stack.ingest_event(labels=["pin"])
        await stack.approvals(1)
        second = await stack.client.post("/api/v1/playbooks", json={"source": V2}, headers=admin)
        assert second.json()["version"] == 2
        await stack.ingest_event(labels=["pin"])
        for approval in await stack.approvals(2):
            await stack.decide(approval, "approve")
        runs = {r["version"]: r for r in await stack.finished_runs(2)}
        assert runs[1]["result"] == "v1"
        assert runs[2]["result"] == "v2"

        detail = await stack.client.get("/api/v1/playbooks/pinned", headers=admin)
        assert detail.json()["versions"] == [2, 1]
        assert "v2 only" in detail.json()["source"]
        old = await stack.client.get("/api/v1/playbooks/pinned?version=1", headers=admin)
        assert "v2 only" not in old.json()["source"]


@memory_only
async def test_a_deactivated_playbook_is_not_triggered(engine_stack: Any) -> None:
    async with engine_stack({"pinned.py": V1}, noop_assets=("edr",)) as stack:
        admin = stack.headers(Role.ADMIN)
        off = await stack.client.patch(
            "/api/v1/playbooks/pinned", json={"active": False}, headers=admin
        )
        assert off.status_code == 200, off.text
        assert off.json()["active"] is False
        await stack.ingest_event(labels=["pin"])

        async def handled() -> bool:
            return await stack.handled("engine.triggers") >= 1

        await stack.eventually(handled)
        assert await stack.runs() == []
        on = await stack.client.patch(
            "/api/v1/playbooks/pinned", json={"active": True}, headers=admin
        )
        assert on.json()["active"] is True
        await stack.ingest_event(labels=["pin"])
        [run] = await stack.finished_runs(1)
        assert run["status"] == "completed"
        missing = await stack.client.patch(
            "/api/v1/playbooks/nope", json={"active": True}, headers=admin
        )
        assert missing.status_code == 404
        bad = await stack.client.patch(
            "/api/v1/playbooks/pinned", json={"active": "sometimes"}, headers=admin
        )
        assert bad.status_code == 422


@memory_only
async def test_the_folder_is_synced_on_change(engine_stack: Any) -> None:
    async with engine_stack({"pinned.py": V1, "broken.py": "def (:"}) as stack:
        admin = stack.headers(Role.ADMIN)
        [listed] = (await stack.client.get("/api/v1/playbooks", headers=admin)).json()
        assert (listed["name"], listed["version"], listed["origin"]) == ("pinned", 1, "folder")
        assert listed["path"] == "pinned.py"
        (stack.folder / "pinned.py").write_text(V2)

        async def second_version() -> bool:
            found = (await stack.client.get("/api/v1/playbooks", headers=admin)).json()
            return bool(found) and found[0]["version"] == 2

        await stack.eventually(second_version)
        (stack.folder / "pinned.py").unlink()

        async def deactivated() -> bool:
            found = (await stack.client.get("/api/v1/playbooks", headers=admin)).json()
            return found[0]["active"] is False

        await stack.eventually(deactivated)
