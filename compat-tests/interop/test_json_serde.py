"""confluent-kafka-python's JSONSerializer / JSONDeserializer (2.16.0) against charter.

The serializer auto-registers the schema under `<topic>-value` (schemaType JSON) and frames the
JSON text with magic byte 0 and the id; the deserializer fetches the schema by id from charter
and validates what it reads.
"""

import json
import struct
import uuid

import pytest
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

SHIPMENT = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Shipment",
    "type": "object",
    "properties": {
        "shipment_id": {"type": "string"},
        "weight_grams": {"type": "integer", "minimum": 0},
        "carrier": {"type": "string", "enum": ["DHL", "UPS", "POSTNL"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["shipment_id", "weight_grams"],
    "additionalProperties": False,
}


def test_json_serializer_round_trip_through_charter(sr_client, new_client):
    topic = f"shipments_{uuid.uuid4().hex[:12]}"
    ctx = SerializationContext(topic, MessageField.VALUE)
    ser = JSONSerializer(json.dumps(SHIPMENT), sr_client)
    values = [
        {"shipment_id": "s-1", "weight_grams": 1200, "carrier": "DHL", "tags": ["fragile"]},
        {"shipment_id": "s-2", "weight_grams": 0, "carrier": "UPS", "tags": []},
    ]
    frames = [ser(v, ctx) for v in values]

    registered = sr_client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "JSON"
    for frame in frames:
        magic, schema_id = struct.unpack(">bI", frame[:5])
        assert (magic, schema_id) == (0, registered.schema_id)
        assert json.loads(frame[5:]) in values

    # A fresh client with an empty cache must fetch the schema from charter by id.
    de = JSONDeserializer(None, schema_registry_client=new_client())
    assert [de(f, ctx) for f in frames] == values


def test_json_serializer_rejects_invalid_values_before_charter_sees_them(sr_client):
    topic = f"shipments_{uuid.uuid4().hex[:12]}"
    ctx = SerializationContext(topic, MessageField.VALUE)
    ser = JSONSerializer(json.dumps(SHIPMENT), sr_client)
    with pytest.raises(Exception):
        ser({"shipment_id": "s-3", "weight_grams": -5}, ctx)


def test_json_schema_evolution_is_checked_by_charter(sr_client):
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    subject = f"shipments_{uuid.uuid4().hex[:12]}-value"
    sr_client.register_schema(subject, Schema(json.dumps(SHIPMENT), "JSON"))
    # Closed content model: adding an optional property is backward compatible.
    added = json.loads(json.dumps(SHIPMENT))
    added["properties"]["note"] = {"type": "string"}
    assert sr_client.test_compatibility(subject, Schema(json.dumps(added), "JSON"))
    # Changing a property's type is not, and registration answers 409.
    changed = json.loads(json.dumps(SHIPMENT))
    changed["properties"]["weight_grams"] = {"type": "string"}
    assert not sr_client.test_compatibility(subject, Schema(json.dumps(changed), "JSON"))
    with pytest.raises(SchemaRegistryError) as e:
        sr_client.register_schema(subject, Schema(json.dumps(changed), "JSON"))
    assert e.value.http_status_code == 409
