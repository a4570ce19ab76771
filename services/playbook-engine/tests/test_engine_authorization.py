"""Who may do what with playbooks: uploads recorded, runs outside the newest active version
only for administrators, and playbook processes that hold none of the engine's secrets."""

from __future__ import annotations

import os
from typing import Any

from rampart.core.auth import Role, create_token
from rampart.engine.sandbox._environment import playbook_environment
from tests.harness import memory_only

V1 = """
from rampart.sdk import playbook

@playbook(labels=["never"])
async def guarded(ctx, event):
    return "v1"
"""
V2 = V1.replace('"v1"', '"v2"')

ENV_CHECK = """
import os
from rampart.sdk import playbook

@playbook(labels=["env"])
async def env_check(ctx, event):
    return sorted(
        k for k, v in os.environ.items()
        if k.startswith("RAMPART_") or "://" in v or "rmp_" in v
    )
"""


async def _audit(stack: Any) -> list[dict[str, Any]]:
    response = await stack.client.get("/api/v1/playbook-audit", headers=stack.headers())
    assert response.status_code == 200, response.text
    return list(reversed(response.json()))


@memory_only
async def test_only_an_admin_runs_a_pinned_old_or_deactivated_playbook_and_it_is_recorded(
    engine_stack: Any,
) -> None:
    async with engine_stack() as stack:
        admin, analyst = stack.headers(Role.ADMIN), stack.headers(Role.ANALYST)
        for source in (V1, V2):
            uploaded = await stack.client.post(
                "/api/v1/playbooks", json={"source": source}, headers=admin
            )
            assert uploaded.status_code == 201, uploaded.text
        event_id = str(await stack.ingest_event(labels=["other"]))

        async def run(headers: dict[str, str], **body: Any) -> Any:
            return await stack.client.post(
                "/api/v1/runs",
                json={"playbook": "guarded", "event_id": event_id, **body},
                headers=headers,
            )

        assert (await run(analyst)).status_code == 201, "the newest active version: allowed"
        pinned = await run(analyst, version=1)
        assert pinned.status_code == 403, pinned.text
        by_admin = await run(admin, version=1)
        assert by_admin.status_code == 201, by_admin.text
        off = await stack.client.patch(
            "/api/v1/playbooks/guarded", json={"active": False}, headers=admin
        )
        assert off.status_code == 200
        assert (await run(analyst)).status_code == 403
        off_by_admin = await run(admin)
        assert off_by_admin.status_code == 201, off_by_admin.text
        runs = [e for e in await _audit(stack) if e["action"] == "run"]
        assert [(e["actor"], e["version"]) for e in runs] == [
            ("admin:test-admin", 1),
            ("admin:test-admin", 2),
        ]
        assert "pinned v1 (newest v2)" in runs[0]["detail"]
        assert by_admin.json()["id"] in runs[0]["detail"]
        assert "deactivated" in runs[1]["detail"]
        assert off_by_admin.json()["id"] in runs[1]["detail"]


@memory_only
async def test_every_upload_attempt_is_recorded_with_who_made_it(engine_stack: Any) -> None:
    async with engine_stack() as stack:
        attempts = [
            (Role.ANALYST, V1, 403),
            (Role.ADMIN, "x = 1\n\nraise RuntimeError('no')\n", 422),
            (Role.ADMIN, V1, 201),
            (Role.ADMIN, V1, 200),
        ]
        for role, source, status in attempts:
            response = await stack.client.post(
                "/api/v1/playbooks", json={"source": source}, headers=stack.headers(role)
            )
            assert response.status_code == status, response.text
        entries = await _audit(stack)
        assert [(e["actor"], e["outcome"], e["version"]) for e in entries] == [
            ("analyst:test-analyst", "forbidden", None),
            ("admin:test-admin", "refused", None),
            ("admin:test-admin", "created", 1),
            ("admin:test-admin", "unchanged", 1),
        ]
        assert all(e["token_id"] for e in entries)
        assert "RuntimeError" in entries[1]["detail"]
        forbidden = await stack.client.get(
            "/api/v1/playbook-audit", headers=stack.headers(Role.ANALYST)
        )
        assert forbidden.status_code == 403


@memory_only
async def test_an_import_error_answers_its_type_and_line_not_its_text(engine_stack: Any) -> None:
    async with engine_stack() as stack:
        cases = {
            "x = 1\nraise RuntimeError(open('/etc/hostname').read() + 'TEXT-7f3a')\n": (
                "RuntimeError",
                2,
            ),
            "import os\n\n\nraise KeyError(os.environ.get('PATH', '') + 'TEXT-7f3a')\n": (
                "KeyError",
                4,
            ),
            "x = 'TEXT-7f3a\n": ("SyntaxError", 1),
        }
        for source, (kind, line) in cases.items():
            response = await stack.client.post(
                "/api/v1/playbooks", json={"source": source}, headers=stack.headers()
            )
            assert response.status_code == 422, response.text
            assert response.json()["line"] == line
            assert kind in response.json()["detail"]
            assert "TEXT-7f3a" not in response.text
            assert "/usr" not in response.text


def test_a_playbook_process_environment_keeps_only_what_python_needs() -> None:
    engine = {
        "PATH": "/usr/bin",
        "LC_ALL": "C.UTF-8",
        "RAMPART_MASTER_KEY": "k",
        "RAMPART_DATABASE_URL": "postgresql://x",
        "RAMPART_AMQP_URL": "amqp://x",
        "RAMPART_SERVICE_TOKEN": "rmp_x",
        "DATABASE_URL": "postgresql://y",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    assert playbook_environment(engine) == {"PATH": "/usr/bin", "LC_ALL": "C.UTF-8"}


@memory_only
async def test_a_playbook_process_sees_none_of_the_engines_secrets(engine_stack: Any) -> None:
    # the engine's own environment names its database and broker (RAMPART_TEST_*, RAMPART_*)
    assert any(k.startswith("RAMPART_") for k in os.environ)
    async with engine_stack({"env_check.py": ENV_CHECK}) as stack:
        await stack.ingest_event(labels=["env"])
        [run] = await stack.finished_runs(1)
        assert run["status"] == "completed", run
        assert run["result"] == []


ASKS = """
from rampart.sdk import playbook

@playbook(labels=["ask"])
async def asks(ctx, event):
    return await ctx.prompt("Isolate web-01?", to="owner-42", timeout=60)
"""


@memory_only
async def test_a_token_named_like_the_recipient_may_not_answer_its_prompt(
    engine_stack: Any,
) -> None:
    async with engine_stack({"asks.py": ASKS}) as stack:
        async with stack.pool.acquire() as conn:
            _, namesake = await create_token(conn=conn, name="owner-42", role=Role.APPROVER)
            _, bound = await create_token(
                conn=conn, name="someone", role=Role.APPROVER, subject="owner-42"
            )
        await stack.ingest_event(labels=["ask"])

        async def pending() -> list[Any]:
            response = await stack.client.get("/api/v1/prompts", headers=stack.headers())
            found: list[Any] = response.json()
            return found

        [prompt] = await stack.eventually(pending)
        url = f"/api/v1/prompts/{prompt['id']}/answer"
        listed = await stack.client.get(
            "/api/v1/prompts", headers={"Authorization": f"Bearer {namesake}"}
        )
        assert listed.json() == []
        refused = await stack.client.post(
            url, json={"answer": "yes"}, headers={"Authorization": f"Bearer {namesake}"}
        )
        assert refused.status_code == 404, refused.text
        answered = await stack.client.post(
            url, json={"answer": "yes"}, headers={"Authorization": f"Bearer {bound}"}
        )
        assert answered.status_code == 200, answered.text
