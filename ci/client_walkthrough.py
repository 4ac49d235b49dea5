"""The README's first contact, through a Python client generated from api-spec/openapi.yaml.

ci/client.sh generates the package `msht_hub_client` with openapi-python-client, starts
`msht-hub serve --dev` and runs this file with the hub's URL and one dev token per role in the
environment (MSHT_URL, MSHT_TOKEN_ADMIN, _POLICE, _MASH, _NGO, _AUDITOR). Every call goes
through the generated functions and models; a status the walk-through does not expect, or an
answer that does not parse as the spec's schema, fails it.
"""

import os
import sys
import uuid

from msht_hub_client import AuthenticatedClient
from msht_hub_client.api.agencies import list_agencies
from msht_hub_client.api.audit import list_audit_events, verify_audit
from msht_hub_client.api.identity import me
from msht_hub_client.api.incidents import create_incident, get_incident
from msht_hub_client.api.notifications import get_notification, list_notifications
from msht_hub_client.api.referrals import create_referral, get_referral
from msht_hub_client.models import IncidentInput, ReferralInput
from msht_hub_client.models.list_audit_events_purpose import ListAuditEventsPurpose
from msht_hub_client.models.verify_audit_purpose import VerifyAuditPurpose

URL = os.environ["MSHT_URL"]


def client(role: str) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=URL, token=os.environ[f"MSHT_TOKEN_{role}"], raise_on_unexpected_status=True
    )


def expect(resp, status: int, what: str):
    """The parsed answer of `resp`, which must have `status`."""
    if resp.status_code != status:
        sys.exit(f"{what}: expected {status}, got {resp.status_code}: {resp.content[:400]!r}")
    return resp.parsed


def step(title: str) -> None:
    print(f"\n== {title}")


admin, police, mash, ngo, auditor = (
    client(r) for r in ("ADMIN", "POLICE", "MASH", "NGO", "AUDITOR")
)

step("who am I (police practitioner)")
who = expect(me.sync_detailed(client=police), 200, "GET /me")
print(f"subject {who.subject}, agency {who.agency_id}, roles {list(who.roles)}")

step("the agency directory (hub admin)")
page = expect(list_agencies.sync_detailed(client=admin), 200, "GET /agencies")
for a in page.items:
    print(f"{a.kind.value:<36} {a.name}")
assert len(page.items) >= 7, "the demo agencies are listed"

step("the police record an incident (with an Idempotency-Key)")
incident = IncidentInput.from_dict(
    {
        "reference": "WMP-1",
        "occurred_at": "2026-11-20T22:00:00Z",
        "area": "E08000025",
        "exploitation_types": ["criminal"],
        "threats": ["county_lines"],
        "classification": "official",
        "narrative": "Found running drugs",
        "victims": [
            {
                "reference": "V1",
                "age": 15,
                "consent_to_share": "not_required",
                "consent_absent_reason": "would_prejudice_protection",
                "safe_address": "1 Hidden Way",
            }
        ],
    }
)
key = str(uuid.uuid4())
created = create_incident.sync_detailed(client=police, body=incident, idempotency_key=key)
recorded = expect(created, 201, "POST /incidents")
print(f"incident {recorded.id} version {recorded.version}, ETag {created.headers['etag']}")
for r in recorded.routing:
    print(f"  routed to {r.agency_id} ({r.route.value}): {r.decision.value}")
again = create_incident.sync_detailed(client=police, body=incident, idempotency_key=key)
replayed = expect(again, 201, "POST /incidents again")
assert replayed.id == recorded.id and again.headers.get("idempotent-replayed") == "true"
print(f"the retry with the same key answered the same incident ({replayed.id}), replayed")
own = expect(get_incident.sync_detailed(client=police, id=str(recorded.id)), 200, "GET /incidents/{id}")
print(f"the police read it back: reference {own.reference}, version {own.version}")

step("the MASH reads its notification")
notes = expect(list_notifications.sync_detailed(client=mash), 200, "GET /notifications")
mine = [n for n in notes.items if str(n.incident_id) == str(recorded.id)]
assert mine, f"the MASH was notified of {recorded.id}"
n = mine[0]
print(f"notification {n.id}: {n.event.value}, due {n.due_at}")
read = expect(get_notification.sync_detailed(client=mash, id=str(n.id)), 200, "GET /notifications/{id}")
record = read.record.to_dict()
print(f"shared fields: {sorted(record)}")
assert "safe_address" not in str(record), "the safe address never leaves the reporting agency"
print(f"audit receipt: leaf {read.receipt.leaf_index} of tree size {read.receipt.tree_size}")

step("the NGO refers a potential victim")
referral = ReferralInput.from_dict(
    {
        "area": "E08000025",
        "nrm_consent": "given",
        "exploitation_types": ["labour"],
        "potential_victim": {
            "name": "A. Example",
            "age": 30,
            "language": "Romanian",
            "interpreter_needed": True,
        },
        "immediate_needs": ["accommodation"],
        "narrative": "Met at a car wash",
        "classification": "official",
    }
)
made = expect(
    create_referral.sync_detailed(client=ngo, body=referral, idempotency_key=str(uuid.uuid4())),
    201,
    "POST /referrals",
)
print(f"referral {made.id}: pathway {made.pathway.value}, status {made.status.value}")
for r in made.routing:
    print(f"  routed to {r.agency_id}: {r.decision.value}")
back = expect(get_referral.sync_detailed(client=ngo, id=str(made.id)), 200, "GET /referrals/{id}")
print(f"the NGO follows it: status {back.status.value}")

step("the hub auditor queries the audit trail")
events = expect(
    list_audit_events.sync_detailed(
        client=auditor,
        purpose=ListAuditEventsPurpose.SELF_MONITORING,
        record_id=str(recorded.id),
    ),
    200,
    "GET /audit/events",
)
ops = [e.operation.value for e in events.items]
print(f"{len(events.items)} entries about incident {recorded.id}: {sorted(set(ops))}")
assert "collection" in ops and "disclosure" in ops
verified = expect(
    verify_audit.sync_detailed(client=auditor, purpose=VerifyAuditPurpose.INTEGRITY_SECURITY),
    200,
    "GET /audit/verify",
)
v = verified.to_dict()
print(f"audit verify: ok {v['ok']}, tree size {v['tree_size']}, entries checked {v['entries_checked']}")
assert v["ok"] is True
print("\nwalk-through complete")
