"""schemathesis against a real `parley serve`, from Parley's own OpenAPI document (`GET /openapi.json`).

Every Graph route (`/v{version}/...`, called as v25.0 with a valid business token) and every client route
(with a valid person token) gets bounded generated requests: positive cases (valid by the schema) must not
make the server fail and their responses must match the documented schemas; negative cases (invalid by the
schema) must still never be a 5xx. Failures are collected over all operations and reported together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.conftest import ServerProcess
from tests.e2e.graph_clients import API_VERSION, Business, Person, create_business, start_parley

pytestmark = pytest.mark.e2e

POSITIVE_EXAMPLES = 25
NEGATIVE_EXAMPLES = 10
# Calls that would end the test's own session: the person's logout revokes the token every other call uses.
SKIP = {"POST /client/v1/auth/logout"}


INBOX_PASSWORD = "fuzz-password-1"


class Target:
    def __init__(self, server: ServerProcess, business: Business, person: Person) -> None:
        self.server, self.business, self.person = server, business, person
        self.agent_headers: dict[str, str] = {}
        self.schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
        self.session = requests.Session()
        self.statuses: dict[str, Counter[int]] = {}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = start_parley(tmp_path_factory.mktemp("schemathesis") / "var")
    try:
        business = create_business(server, "Fuzz Ltd", "+14155550300")
        person = Person(server, "+14155550311", "Fuzzy")
        person.write(business.phone, "hello")  # a chat, so some ids are real
        target = Target(server, business, person)
        target.agent_headers = _agent_session(server, business)
        yield target
    finally:
        server.stop()


def _agent_session(server: ServerProcess, business: Business) -> dict[str, str]:
    """An owner of the business signed in through the inbox's form: its cookie and CSRF token as headers."""
    email = "owner@fuzz.example"
    server.cli(
        "agent",
        "create",
        business.waba_id,
        "--email",
        email,
        "--name",
        "Fuzz Owner",
        "--role",
        "owner",
        "--password",
        INBOX_PASSWORD,
    )
    with requests.Session() as browser:
        browser.get(f"{server.base_url}/inbox/login")  # the form's CSRF cookie, echoed back as csrf_token
        form = {"email": email, "password": INBOX_PASSWORD, "csrf_token": browser.cookies["parley_inbox_login"]}
        signed = browser.post(f"{server.base_url}/inbox/login", data=form, allow_redirects=False)
        assert signed.status_code == 303, signed.text
        cookie = signed.cookies["parley_inbox"]
        me = browser.get(f"{server.base_url}/inbox/api/me").json()
    return {"Cookie": f"parley_inbox={cookie}", "X-CSRF-Token": me["csrf_token"]}


def _operations(target: Target, kind: str) -> list[Any]:
    found = []
    for result in target.schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIP:
            continue
        path = operation.path
        operation_kind = (
            "graph" if path.startswith("/v{version}/") else "inbox" if path.startswith("/inbox/") else "client"
        )
        if operation_kind == kind:
            found.append(operation)
    return found


def _fuzz(target: Target, operation: Any, headers: dict[str, str], mode: GenerationMode, examples: int) -> str | None:
    # Positive cases address the business's real objects (random ids only ever meet "no such object");
    # negative cases keep only the version fixed and fuzz the rest.
    known = {"version": API_VERSION}
    if mode.is_positive:
        known |= {
            "waba_id": target.business.waba_id,
            "phone_number_id": target.business.phone_number_id,
            "app_id": target.business.app_id,
        }
    overrides = {name: value for name, value in known.items() if f"{{{name}}}" in operation.path} or None
    checks = [not_a_server_error] + ([response_schema_conformance] if mode.is_positive else [])

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=overrides))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=target.server.base_url, session=target.session, headers=headers, timeout=15)
        target.statuses.setdefault(operation.label, Counter())[response.status_code] += 1
        case.validate_response(response, checks=checks, headers=headers)

    try:
        run()
    except Unsatisfiable:
        return None  # nothing can be invalid about this operation's inputs (e.g. only free-form path strings)
    except Exception as exc:  # a check failed: keep going, report every operation at the end
        first_line = str(exc).strip().splitlines()[:12]
        return f"{operation.label} [{mode.value}]:\n    " + "\n    ".join(first_line)
    return None


def _fuzz_all(target: Target, operations: list[Any], headers: dict[str, str]) -> list[str]:
    problems = []
    for operation in operations:
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            problem = _fuzz(target, operation, headers, mode, examples)
            if problem is not None:
                problems.append(problem)
    return problems


def _answered(target: Target, operations: list[Any]) -> dict[str, dict[int, int]]:
    return {o.label: dict(sorted(target.statuses.get(o.label, Counter()).items())) for o in operations}


def test_graph_routes_hold_under_generated_requests(target: Target) -> None:
    operations = _operations(target, "graph")
    assert len(operations) >= 15, [o.label for o in operations]
    problems = _fuzz_all(target, operations, target.business.headers)
    assert not problems, "\n".join(problems)
    # The token was good: the calls got past authentication (a 401 everywhere would prove nothing).
    answered = _answered(target, operations)
    assert sum(1 for counts in answered.values() if any(200 <= s < 300 for s in counts)) >= 5, answered


def test_client_routes_hold_under_generated_requests(target: Target) -> None:
    operations = _operations(target, "client")
    assert len(operations) >= 30, [o.label for o in operations]
    problems = _fuzz_all(target, operations, target.person.headers)
    assert not problems, "\n".join(problems)
    answered = _answered(target, operations)
    assert sum(1 for counts in answered.values() if any(200 <= s < 300 for s in counts)) >= 7, answered


def test_inbox_routes_hold_under_generated_requests(target: Target) -> None:
    """The team inbox's API, called as a signed-in owner (cookie and CSRF token): 4xx for bad input, never a 500."""
    operations = _operations(target, "inbox")
    assert len(operations) >= 30, [o.label for o in operations]
    problems = _fuzz_all(target, operations, target.agent_headers)
    assert not problems, "\n".join(problems)
    answered = _answered(target, operations)
    assert sum(1 for counts in answered.values() if any(200 <= s < 300 for s in counts)) >= 10, answered
