"""A fake Jira Cloud site: the platform REST API v3's issues, transitions, myself and project.

Follows Atlassian's published documentation:
- "The Jira Cloud platform REST API — Issues" —
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/ (``POST
  /rest/api/3/issue`` with ``fields``, answered 201 ``{"id", "key", "self"}``; ``GET
  /rest/api/3/issue/{issueIdOrKey}`` with ``fields=``; ``PUT`` (edit, 204) with ``fields``
  and ``update`` operations such as ``{"comment": [{"add": {"body": <ADF>}}]}``; ``GET`` and
  ``POST …/transitions``, 204; errors as ``{"errorMessages": [...], "errors": {field:
  message}}``, 400 for invalid fields, 404 "Issue does not exist or you do not have permission
  to see it.")
- "Get current user" — https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/
  and "Get project" — https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-projects/
- "Basic auth for REST APIs" —
  https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/ (e-mail address
  and API token as HTTP basic; 401 otherwise)
- "Atlassian Document Format" —
  https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/ (``description``
  and comments are a ``doc`` of ``version`` 1; text nodes must not be empty)
- "Rate limiting" — https://developer.atlassian.com/cloud/jira/platform/rate-limiting/ (429 with
  ``Retry-After`` seconds and ``X-RateLimit-Reset``; scripted here through ``faults``)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.tests.fakes._serve import Faults, with_faults

WORKFLOW = {"To Do": ("11", "Start Progress", "In Progress"), "In Progress": ("31", "Done", "Done")}
NO_ISSUE = "Issue does not exist or you do not have permission to see it."


def jira_error(status: int, *messages: str, **errors: str) -> JSONResponse:
    return JSONResponse({"errorMessages": list(messages), "errors": errors}, status)


def adf_problem(value: Any) -> str | None:
    """Why ``value`` is not an ADF document of paragraphs of text, or None."""
    if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version") != 1:
        return "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    for block in value.get("content", []):
        if block.get("type") != "paragraph" or not isinstance(block.get("content"), list):
            return "Unsupported block node"
        for node in block["content"]:
            if node.get("type") == "text" and not node.get("text"):
                return "Text nodes must not be empty"
            if node.get("type") not in ("text", "hardBreak"):
                return "Unsupported inline node"
    return None


def adf_text(value: dict[str, Any]) -> str:
    """The plain text of an ADF document: paragraphs by blank lines, hard breaks as newlines."""
    return "\n\n".join(
        "".join("\n" if n["type"] == "hardBreak" else n["text"] for n in block["content"])
        for block in value["content"]
    )


@dataclass
class FakeJira:
    """One project's issues, one account, and a three-status workflow."""

    email: str = "soc-bot@example.com"
    api_token: str = "ATATT3xFfGF0-fake-api-token-0123"
    project: str = "SOC"
    priorities: tuple[str, ...] = ("Highest", "High", "Medium", "Low", "Lowest")
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    def app(self) -> Any:
        expected = "Basic " + base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()

        def refused(request: Request) -> Response | None:
            self.requests.append(f"{request.method} {request.url.path}")
            if request.headers.get("authorization") != expected:
                return jira_error(
                    401,
                    "You are not authenticated. Authentication required to perform this operation.",
                )
            return None

        def find(request: Request) -> dict[str, Any] | None:
            wanted = request.path_params["key"]
            return self.issues.get(wanted) or next(
                (i for i in self.issues.values() if i["id"] == wanted), None
            )

        async def create(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            fields = (await request.json()).get("fields", {})
            errors: dict[str, str] = {}
            if (fields.get("project") or {}).get("key") != self.project:
                errors["project"] = "valid project is required"
            if (fields.get("issuetype") or {}).get("name") not in ("Task", "Bug", "Incident"):
                errors["issuetype"] = "Specify a valid issue type"
            summary = fields.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors["summary"] = "You must specify a summary of the issue."
            elif "\n" in summary:
                errors["summary"] = "The summary is invalid because it contains newline characters."
            if "description" in fields and (why := adf_problem(fields["description"])):
                errors["description"] = why
            priority = fields.get("priority")
            if priority is not None and priority.get("name") not in self.priorities:
                errors["priority"] = "Specify a valid 'id' or 'name' for Priority"
            if errors:
                return jira_error(400, **errors)
            number = len(self.issues) + 1
            key, issue_id = f"{self.project}-{number}", str(10000 + number)
            self.issues[key] = {
                "id": issue_id,
                "key": key,
                "status": "To Do",
                "fields": fields,
                "comments": [],
            }
            base = str(request.base_url).rstrip("/")
            return JSONResponse(
                {"id": issue_id, "key": key, "self": f"{base}/rest/api/3/issue/{issue_id}"}, 201
            )

        async def issue(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            found = find(request)
            if found is None:
                return jira_error(404, NO_ISSUE)
            if request.method == "GET":
                return JSONResponse(
                    {
                        "id": found["id"],
                        "key": found["key"],
                        "fields": {"status": {"name": found["status"]}, **found["fields"]},
                    }
                )
            body = await request.json()
            for name, value in (body.get("fields") or {}).items():
                found["fields"][name] = value
            for operation in (body.get("update") or {}).get("comment", []):
                comment = operation.get("add", {}).get("body")
                if (why := adf_problem(comment)) is not None:
                    return jira_error(400, comment=why)
                found["comments"].append(adf_text(comment))
            return Response(status_code=204)

        async def transitions(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            found = find(request)
            if found is None:
                return jira_error(404, NO_ISSUE)
            offered = WORKFLOW.get(found["status"])
            if request.method == "GET":
                listed = (
                    []
                    if offered is None
                    else [{"id": offered[0], "name": offered[1], "to": {"name": offered[2]}}]
                )
                return JSONResponse({"transitions": listed})
            chosen = ((await request.json()).get("transition") or {}).get("id")
            if offered is None or chosen != offered[0]:
                return jira_error(400, f"Transition id '{chosen}' is not valid for this issue.")
            found["status"] = offered[2]
            return Response(status_code=204)

        async def myself(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            return JSONResponse(
                {
                    "accountId": "5b10ac8d82e05b22cc7d4ef5",
                    "emailAddress": self.email,
                    "displayName": "SOC automation",
                    "active": True,
                }
            )

        async def project(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            if request.path_params["key"] != self.project:
                return jira_error(
                    404,
                    "No project could be found with key '{}'.".format(request.path_params["key"]),
                )
            return JSONResponse({"id": "10000", "key": self.project, "name": "Security Operations"})

        app = Starlette(
            routes=[
                Route("/rest/api/3/issue", create, methods=["POST"]),
                Route("/rest/api/3/issue/{key}", issue, methods=["GET", "PUT"]),
                Route("/rest/api/3/issue/{key}/transitions", transitions, methods=["GET", "POST"]),
                Route("/rest/api/3/myself", myself),
                Route("/rest/api/3/project/{key}", project),
            ]
        )
        return with_faults(app, self.faults)
