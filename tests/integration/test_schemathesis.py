"""Schemathesis against /api/schema/ on a real uvicorn, as a member of a seeded room.

Every operation of the published schema gets a bounded number of generated
requests (valid and invalid bodies, query strings, path values); every answer
must be no server error and must match the schema. Path parameters that name
a room, member, file or report are pointed at the seeded ones, so generated
requests reach the real code instead of stopping at a 404.
"""

from datetime import timedelta

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.services import api_token_create
from incidents.models import MemberRole
from reports.models import Report, ReportStatus
from tests import factories

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = 15


@pytest.fixture
def seeded(asgi_server, s3_server):
    commander = factories.make_user(username="fuzz-ic", display_name="模糊測試 Fuzz IC")
    responder = factories.make_user(username="fuzz-resp", display_name="Responder")
    room = factories.make_room(commander=commander, title="Schemathesis 事件室")
    factories.add_member(room, responder, MemberRole.RESPONDER)
    factories.add_messages(room, commander, 3)
    data = factories.png_bytes(320, 200)
    image = factories.add_raw_file(room, commander, name="graph.png", data=data, content_type="image/png",
                                   width=320, height=200)
    boto3.client("s3", endpoint_url=s3_server["endpoint"], region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").put_object(Bucket=s3_server["bucket"], Key=image.file.name,
                                                             Body=data)
    report = Report.objects.create(room=room, requested_by=commander, status=ReportStatus.FAILED,
                                   error_message="fuzz", completed_at=room.created_at + timedelta(minutes=5))
    _, key = api_token_create(user=commander, name="schemathesis")
    return {
        "auth": {"Authorization": f"Token {key}"},
        "path": {"id": str(room.id), "room_id": str(room.id), "user_id": responder.id, "file_id": str(image.id),
                 "report_id": str(report.id)},
    }


def test_every_api_operation_answers_without_server_errors_and_as_its_schema_says(seeded, asgi_server):
    # schemathesis.pytest.from_fixture does not work with pytest 9 (schemathesis 4.32.5 reads
    # Function._nodeid), so the operations are run here one by one with Hypothesis directly.
    api = schemathesis.openapi.from_url(f"{asgi_server['url']}/api/schema/", headers=seeded["auth"])
    failures, tried = {}, []
    for result in api.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            for name, value in seeded["path"].items():
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = value
            case.call_and_validate(base_url=asgi_server["url"], headers=seeded["auth"],
                                   checks=[not_a_server_error, response_schema_conformance])

        try:
            check()
        except BaseException as exc:  # noqa: BLE001 - schemathesis raises a BaseExceptionGroup; gather them all
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:3000]}"
    assert len(tried) >= 15, tried
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
