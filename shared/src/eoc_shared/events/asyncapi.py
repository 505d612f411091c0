"""Generates the AsyncAPI 3.0 document of every event from the pydantic schemas (`make asyncapi`).

The generated document is committed as docs/asyncapi.json; a test fails when the two drift.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from eoc_shared.events.envelope import Envelope
from eoc_shared.events.schemas import CATALOGUE

PRODUCERS = {
    "referral.created": "referral-svc", "referral.updated": "referral-svc", "child.updated": "referral-svc",
    "intervention.started": "referral-svc", "intervention.closed": "referral-svc", "consent.overdue": "referral-svc",
    "assessment.overdue": "referral-svc", "partner.event.received": "referral-svc",
    "eligibility.decided": "eligibility-svc", "followup.due": "outcomes-svc", "followup.recorded": "outcomes-svc",
    "projection.updated": "finance-svc",
    **dict.fromkeys(("pre_proceedings.started", "fgdm.offered", "fgdm.responded", "fgdm.meeting_held",
                     "fgdm.offer_overdue", "care_application.made"), "referral-svc"),
}


def _name(topic: str) -> str:
    return "".join(part.capitalize() for part in topic.replace(".", "_").split("_"))


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    envelope_schema = Envelope.model_json_schema()
    for topic, spec in CATALOGUE.items():
        name = _name(topic)
        data_schema = spec.model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, def_schema in data_schema.pop("$defs", {}).items():
            schemas[def_name] = def_schema
        schemas[spec.model.__name__] = data_schema
        payload = json.loads(json.dumps(envelope_schema))
        payload["properties"]["type"] = {"const": spec.type, "type": "string"}
        payload["properties"]["data"] = {"$ref": f"#/components/schemas/{spec.model.__name__}"}
        payload.pop("title", None)
        messages[name] = {
            "name": spec.type,
            "title": spec.type,
            "summary": spec.summary,
            "contentType": "application/cloudevents+json",
            "headers": {"type": "object", "properties": {"ce_id": {"type": "string"}, "ce_type": {"const": spec.type}}},
            "payload": payload,
            "bindings": {"kafka": {"key": {"type": "string", "description": "aggregate id"}}},
        }
        channels[name] = {
            "address": topic,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "description": f"{spec.summary} Poison messages go to {spec.dlq}.",
        }
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"published by {PRODUCERS[topic]} through its outbox",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Edge of Care platform events",
            "version": "1.0.0",
            "description": "Thin CloudEvents 1.0 events; no names, dates of birth, NHS numbers or addresses.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
