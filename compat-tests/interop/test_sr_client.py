"""confluent-kafka-python's SchemaRegistryClient (2.16.0) against charter.

Every expectation is what Confluent Schema Registry answers (reference: shared/reference/
schema-registry-api.md, cited as §n). Tests marked "Avro model" depend on real Avro parsing,
canonical form and compatibility in the registry.
"""

import json
import uuid

import pytest
from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    Metadata,
    MetadataProperties,
    Schema,
    SchemaReference,
    SchemaRegistryError,
)


# ------------------------------------------------------------------ helpers

def uniq(prefix="R"):
    """A unique Avro name, so a test's schemas get ids no other test shares."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def record(name, fields, namespace=None):
    """An Avro record as a dict, keys in the order Avro's Schema.toString() writes them."""
    d = {"type": "record", "name": name}
    if namespace:
        d["namespace"] = namespace
    d["fields"] = fields
    return d


def pretty(obj):
    return json.dumps(obj, indent=2)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def avro(obj, references=None):
    return Schema(pretty(obj), "AVRO", references or [])


def expect_error(status, code, fn, *args, **kwargs):
    """Calls fn and asserts it raised SchemaRegistryError with this HTTP status and error_code.

    `code` may be a set of accepted codes.
    """
    with pytest.raises(SchemaRegistryError) as ei:
        fn(*args, **kwargs)
    err = ei.value
    codes = code if isinstance(code, (set, frozenset)) else {code}
    assert (err.http_status_code, err.error_code in codes) == (status, True), (
        f"expected HTTP {status} / error_code {sorted(codes)}, got HTTP {err.http_status_code} / "
        f"error_code {err.error_code}: {err.error_message!r}"
    )
    assert isinstance(err.error_message, str) and err.error_message
    return err


def user_v1(name):
    return record(name, [{"name": "name", "type": "string"}])


def user_with(name, *extra_fields):
    return record(name, [{"name": "name", "type": "string"}, *extra_fields])


# ------------------------------------------------------------------ register / ids

def test_register_returns_id_and_is_idempotent(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    schema = avro(user_v1(uniq("User")))
    sid = sr_client.register_schema(s, schema)
    assert isinstance(sid, int) and sid >= 1

    # A new client (empty cache) so the request really reaches the server.
    again = new_client().register_schema_full_response(s, schema)
    assert again.schema_id == sid
    # Idempotent: no second version (§6.2 step 1).
    assert new_client().get_versions(s) == [1]

    # Same schema, different formatting: same canonical text, same id, still one version.
    compact_schema = Schema(compact(json.loads(schema.schema_str)), "AVRO", [])
    assert new_client().register_schema(s, compact_schema) == sid
    assert new_client().get_versions(s) == [1]


def test_same_schema_in_another_subject_gets_same_id(sr_client, new_client, fresh_subject):
    s1, s2 = fresh_subject("a"), fresh_subject("b")
    schema = avro(user_v1(uniq("User")))
    id1 = sr_client.register_schema(s1, schema)
    id2 = new_client().register_schema(s2, schema)
    assert id1 == id2  # §6.1

    c = new_client()
    assert sorted(c.get_subjects_by_schema_id(id1)) == sorted([s1, s2])
    versions = sorted((v.subject, v.version) for v in c.get_schema_versions(id1))
    assert versions == sorted([(s1, 1), (s2, 1)])


def test_different_schemas_get_different_ids(sr_client, fresh_subject):
    s = fresh_subject()
    sr_client.set_compatibility(s, "NONE")
    id1 = sr_client.register_schema(s, avro(user_v1(uniq("A"))))
    id2 = sr_client.register_schema(s, avro(user_v1(uniq("B"))))
    assert id1 != id2
    assert sr_client.get_versions(s) == [1, 2]


def test_get_schema_by_id(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    obj = record(uniq("User"), [
        {"name": "name", "type": "string"},
        {"name": "age", "type": ["null", "int"], "default": None},
    ], namespace="com.example.interop")
    sid = sr_client.register_schema(s, avro(obj))

    got = new_client().get_schema(sid)
    assert got.schema_type == "AVRO"
    assert got.references == []
    # The stored text is the compact canonical form, not the pretty text we sent (§2.3, §6.3).
    assert got.schema_str == compact(obj)
    # With `subject` (what the deserializers send when they know the subject).
    assert new_client().get_schema(sid, subject_name=s).schema_str == compact(obj)


def test_get_schema_unknown_id_is_40403(sr_client):
    expect_error(404, 40403, sr_client.get_schema, 2**31 - 7)


def test_get_schema_types_lists_avro(sr_client):
    assert "AVRO" in sr_client.get_schema_types()


# ------------------------------------------------------------------ canonical form (Avro model)

def test_canonical_form_orders_keys_like_avro(sr_client, new_client, fresh_subject):
    """Avro model: Confluent stores Avro's Schema.toString(): fixed key order, compact,
    primitive type objects collapsed to their name (§6.3)."""
    s = fresh_subject()
    name = uniq("R")
    scrambled = {
        "fields": [
            {"type": {"type": "string"}, "name": "a"},
            {"default": 0, "type": "long", "name": "b"},
        ],
        "name": name,
        "type": "record",
    }
    sid = sr_client.register_schema(s, Schema(json.dumps(scrambled), "AVRO", []))
    latest = new_client().get_latest_version(s)
    assert latest.schema.schema_str == compact(record(name, [
        {"name": "a", "type": "string"},
        {"name": "b", "type": "long", "default": 0},
    ]))
    # The Avro-ordered spelling is the same schema: same id, no new version.
    ordered = record(name, [{"name": "a", "type": "string"}, {"name": "b", "type": "long", "default": 0}])
    assert new_client().register_schema(s, avro(ordered)) == sid
    assert new_client().get_versions(s) == [1]


def test_canonical_form_of_primitive(sr_client, new_client, fresh_subject):
    """Avro model: `{"type":"string"}` is stored as `"string"` (Avro Schema.toString())."""
    s = fresh_subject()
    sid = sr_client.register_schema(s, Schema('{"type": "string"}', "AVRO", []))
    assert new_client().get_schema(sid).schema_str == '"string"'
    assert new_client().register_schema(s, Schema('"string"', "AVRO", [])) == sid


# ------------------------------------------------------------------ lookup / versions / subjects

def test_lookup_schema(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    obj = user_v1(uniq("User"))
    sid = sr_client.register_schema(s, avro(obj))

    found = new_client().lookup_schema(s, avro(obj))
    assert (found.schema_id, found.subject, found.version) == (sid, s, 1)

    # Formatting does not matter: lookup compares canonical forms (§6.3, §6.9).
    found = new_client().lookup_schema(s, Schema(compact(obj), "AVRO", []))
    assert (found.schema_id, found.version) == (sid, 1)

    # Subject exists, schema not under it -> 40403; unknown subject -> 40401 (§6.9).
    expect_error(404, 40403, new_client().lookup_schema, s, avro(user_v1(uniq("Other"))))
    expect_error(404, 40401, new_client().lookup_schema, fresh_subject("missing"), avro(obj))


def test_versions_latest_and_specific(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    sr_client.set_compatibility(s, "NONE")
    o1, o2 = user_v1(uniq("A")), user_v1(uniq("B"))
    id1 = sr_client.register_schema(s, avro(o1))
    id2 = sr_client.register_schema(s, avro(o2))

    c = new_client()
    assert c.get_versions(s) == [1, 2]

    latest = c.get_latest_version(s)
    assert (latest.subject, latest.version, latest.schema_id) == (s, 2, id2)
    assert latest.schema.schema_str == compact(o2)
    assert latest.schema.schema_type == "AVRO"

    v1 = c.get_version(s, 1)
    assert (v1.subject, v1.version, v1.schema_id) == (s, 1, id1)
    assert v1.schema.schema_str == compact(o1)

    # "latest" and -1 both name the newest live version (§3.3).
    assert c.get_version(s, "latest").version == 2
    assert c.get_version(s, -1).version == 2


def test_get_subjects(sr_client, new_client, fresh_subject):
    prefix = fresh_subject()
    s1, s2 = prefix + "-b", prefix + "-a"
    sr_client.register_schema(s1, avro(user_v1(uniq("U"))))
    sr_client.register_schema(s2, avro(user_v1(uniq("U"))))

    subjects = new_client().get_subjects()
    assert s1 in subjects and s2 in subjects
    assert subjects == sorted(subjects)  # lexicographic (§3.3)
    assert new_client().get_subjects(subject_prefix=prefix) == sorted([s1, s2])


def test_subject_containing_slash(sr_client, new_client, fresh_subject):
    """ckp percent-encodes '/' as %2F in the path (§1.1)."""
    s = fresh_subject("com/acme/user.avsc")
    sid = sr_client.register_schema(s, avro(user_v1(uniq("U"))))
    c = new_client()
    assert s in c.get_subjects()
    assert c.get_versions(s) == [1]
    latest = c.get_latest_version(s)
    assert (latest.subject, latest.schema_id) == (s, sid)
    assert c.lookup_schema(s, avro(json.loads(latest.schema.schema_str))).schema_id == sid
    c.set_compatibility(s, "FULL")
    assert new_client().get_compatibility(s) == "FULL"


# ------------------------------------------------------------------ compatibility (Avro model)

def test_compatibility_backward(sr_client, new_client, fresh_subject):
    """Avro model: BACKWARD = the new schema reads data written with the latest one (§6.5)."""
    s = fresh_subject()
    name = uniq("User")
    sr_client.set_compatibility(s, "BACKWARD")
    sr_client.register_schema(s, avro(user_v1(name)))
    c = new_client()

    no_default = avro(user_with(name, {"name": "age", "type": "int"}))
    with_default = avro(user_with(name, {"name": "age", "type": "int", "default": 0}))
    dropped = avro(record(name, [{"name": "other", "type": ["null", "string"], "default": None}]))
    retyped = avro(record(name, [{"name": "name", "type": "int"}]))

    assert c.test_compatibility(s, no_default) is False
    assert c.test_compatibility(s, with_default) is True
    assert c.test_compatibility(s, dropped) is True  # the reader ignores the writer's extra field
    assert c.test_compatibility(s, retyped) is False
    assert c.test_compatibility_all_versions(s, no_default) is False
    assert c.test_compatibility_all_versions(s, with_default) is True
    # Explicit version number, verbose on (ckp only returns the flag).
    assert c.test_compatibility(s, no_default, version=1, verbose=True) is False

    # Registering the incompatible one is a 409 (error_code 409, or 40901 on CSR 8.0.4+/8.1.2+; §4).
    expect_error(409, {409, 40901}, c.register_schema, s, no_default)
    assert new_client().get_versions(s) == [1]
    assert c.register_schema(s, with_default) >= 1
    assert new_client().get_versions(s) == [1, 2]


def test_compatibility_forward_and_full(sr_client, new_client, fresh_subject):
    """Avro model: FORWARD = the old schema reads data written with the new one; FULL = both."""
    name = uniq("User")
    base = user_with(name, {"name": "age", "type": "int"})
    add_no_default = user_with(name, {"name": "age", "type": "int"}, {"name": "x", "type": "string"})
    remove_no_default = user_v1(name)
    add_with_default = user_with(name, {"name": "age", "type": "int"},
                                 {"name": "x", "type": "string", "default": ""})

    fwd = fresh_subject("forward")
    sr_client.set_compatibility(fwd, "FORWARD")
    sr_client.register_schema(fwd, avro(base))
    c = new_client()
    assert c.test_compatibility(fwd, avro(add_no_default)) is True
    assert c.test_compatibility(fwd, avro(remove_no_default)) is False

    full = fresh_subject("full")
    sr_client.set_compatibility(full, "FULL")
    sr_client.register_schema(full, avro(base))
    assert c.test_compatibility(full, avro(add_no_default)) is False
    assert c.test_compatibility(full, avro(remove_no_default)) is False
    assert c.test_compatibility(full, avro(add_with_default)) is True


def test_compatibility_type_promotion(sr_client, new_client, fresh_subject):
    """Avro model: int -> long is a legal promotion for a reader; long -> int is not."""
    s = fresh_subject()
    name = uniq("P")
    sr_client.set_compatibility(s, "BACKWARD")
    sr_client.register_schema(s, avro(record(name, [{"name": "n", "type": "int"}])))
    c = new_client()
    assert c.test_compatibility(s, avro(record(name, [{"name": "n", "type": "long"}]))) is True
    assert c.test_compatibility(s, avro(record(name, [{"name": "n", "type": "string"}]))) is False


def test_compatibility_transitive_vs_latest(sr_client, new_client, fresh_subject):
    """Avro model: BACKWARD compares with the latest version only, BACKWARD_TRANSITIVE with all."""
    s = fresh_subject()
    name = uniq("T")
    sr_client.set_compatibility(s, "NONE")
    sr_client.register_schema(s, avro(record(name, [{"name": "a", "type": "string"}])))
    sr_client.register_schema(s, avro(record(name, [{"name": "b", "type": "string", "default": ""}])))
    candidate = avro(record(name, [{"name": "b", "type": "string"}]))  # needs b: v1 lacks it
    c = new_client()
    c.set_compatibility(s, "BACKWARD")
    assert c.test_compatibility_all_versions(s, candidate) is True
    c.set_compatibility(s, "BACKWARD_TRANSITIVE")
    assert c.test_compatibility_all_versions(s, candidate) is False
    # /versions/{v} checks one version only, whatever the level (§3.4).
    assert c.test_compatibility(s, candidate, version=2) is True
    assert c.test_compatibility(s, candidate, version=1) is False


def test_compatibility_new_subject_is_compatible(sr_client, fresh_subject):
    """latest on a subject with no versions answers is_compatible: true (§3.4)."""
    assert sr_client.test_compatibility(fresh_subject(), avro(user_v1(uniq("U")))) is True


def test_compatibility_unknown_version_is_40402(sr_client, fresh_subject):
    s = fresh_subject()
    sr_client.register_schema(s, avro(user_v1(uniq("U"))))
    expect_error(404, 40402, sr_client.test_compatibility, s, avro(user_v1(uniq("U"))), version=7)


# ------------------------------------------------------------------ config

def test_subject_compatibility_config(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    sr_client.register_schema(s, avro(user_v1(uniq("U"))))
    # No subject-level config yet (§3.5: 40408 without defaultToGlobal).
    expect_error(404, 40408, new_client().get_compatibility, s)

    assert sr_client.set_compatibility(s, "FULL") == {"compatibility": "FULL"}
    assert new_client().get_compatibility(s) == "FULL"
    assert new_client().get_config(s).compatibility_level.value == "FULL"

    # ckp upper-cases the level it sends.
    assert sr_client.set_compatibility(s, "forward_transitive") == {"compatibility": "FORWARD_TRANSITIVE"}
    assert new_client().get_compatibility(s) == "FORWARD_TRANSITIVE"

    expect_error(422, 42203, sr_client.set_compatibility, s, "SIDEWAYS")
    assert new_client().get_compatibility(s) == "FORWARD_TRANSITIVE"

    deleted = new_client().delete_config(s)
    assert deleted.compatibility_level.value == "FORWARD_TRANSITIVE"
    expect_error(404, 40408, new_client().get_compatibility, s)


def test_subject_config_without_schemas(sr_client, new_client, fresh_subject):
    """A subject-level config can be set before the subject has any schema (the Gradle
    plugin's configSubjectsTask does this)."""
    s = fresh_subject()
    assert sr_client.set_compatibility(s, "NONE") == {"compatibility": "NONE"}
    assert new_client().get_compatibility(s) == "NONE"


def test_global_compatibility_config(sr_client, new_client):
    original = sr_client.get_compatibility()
    assert original == "BACKWARD"  # the server default (§6.5); every test restores it
    try:
        assert sr_client.set_compatibility(level="FULL_TRANSITIVE") == {"compatibility": "FULL_TRANSITIVE"}
        assert new_client().get_compatibility() == "FULL_TRANSITIVE"
        expect_error(422, 42203, sr_client.set_compatibility, level="BOGUS")
        assert new_client().get_compatibility() == "FULL_TRANSITIVE"
    finally:
        sr_client.set_compatibility(level=original)
    assert new_client().get_compatibility() == original


# ------------------------------------------------------------------ deletes

def test_delete_version_soft_then_permanent(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    sr_client.set_compatibility(s, "NONE")
    o1, o2 = user_v1(uniq("A")), user_v1(uniq("B"))
    sr_client.register_schema(s, avro(o1))
    id2 = sr_client.register_schema(s, avro(o2))

    assert new_client().delete_version(s, 2) == 2
    c = new_client()
    assert c.get_versions(s) == [1]
    assert c.get_versions(s, deleted=True) == [1, 2]
    expect_error(404, 40402, c.get_version, s, 2)
    soft = c.get_version(s, 2, deleted=True)
    assert (soft.version, soft.schema_id) == (2, id2)
    assert new_client().get_latest_version(s).version == 1
    # Ids outlive soft deletes (§6.1).
    assert new_client().get_schema(id2).schema_str == compact(o2)
    # Lookup skips soft-deleted versions unless deleted=True (ckp sends `deleted=True`,
    # Python-cased: booleans are case-insensitive, §1.2, §6.9).
    expect_error(404, 40403, new_client().lookup_schema, s, avro(o2))
    found = new_client().lookup_schema(s, avro(o2), deleted=True)
    assert (found.schema_id, found.version) == (id2, 2)

    expect_error(404, 40406, new_client().delete_version, s, 2)                  # soft twice
    expect_error(404, 40407, new_client().delete_version, s, 1, permanent=True)  # live version

    assert new_client().delete_version(s, 2, permanent=True) == 2
    assert new_client().get_versions(s, deleted=True) == [1]
    expect_error(404, 40403, new_client().get_schema, id2)
    expect_error(404, 40402, new_client().delete_version, s, 2, permanent=True)
    expect_error(404, 40402, new_client().delete_version, s, 9)

    # Version numbers come from the surviving versions: after hard-deleting the maximum, the
    # next registration reuses 2 (§6.4).
    sr_client.register_schema(s, avro(user_v1(uniq("C"))))
    assert new_client().get_versions(s) == [1, 2]


def test_soft_deleted_version_is_kept_in_numbering(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    sr_client.set_compatibility(s, "NONE")
    sr_client.register_schema(s, avro(user_v1(uniq("A"))))
    sr_client.register_schema(s, avro(user_v1(uniq("B"))))
    new_client().delete_version(s, 2)
    # Soft-deleted versions still count for max+1 (§6.2 step 8).
    sr_client.register_schema(s, avro(user_v1(uniq("C"))))
    assert new_client().get_versions(s) == [1, 3]


def test_delete_subject_soft_then_permanent(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    sr_client.set_compatibility(s, "NONE")
    sr_client.register_schema(s, avro(user_v1(uniq("A"))))
    sr_client.register_schema(s, avro(user_v1(uniq("B"))))

    assert new_client().delete_subject(s) == [1, 2]
    c = new_client()
    assert s not in c.get_subjects()
    assert s in c.get_subjects(deleted=True)
    expect_error(404, 40401, c.get_versions, s)
    assert c.get_versions(s, deleted=True) == [1, 2]
    expect_error(404, 40404, new_client().delete_subject, s)  # soft twice

    assert new_client().delete_subject(s, permanent=True) == [1, 2]
    c = new_client()
    expect_error(404, 40401, c.get_versions, s, deleted=True)
    assert s not in c.get_subjects(deleted=True)
    expect_error(404, 40401, new_client().delete_subject, s, permanent=True)


def test_permanent_delete_of_live_subject_is_40405(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    sr_client.register_schema(s, avro(user_v1(uniq("A"))))
    expect_error(404, 40405, new_client().delete_subject, s, permanent=True)
    assert new_client().get_versions(s) == [1]


def test_delete_unknown_subject_is_40401(sr_client, fresh_subject):
    expect_error(404, 40401, sr_client.delete_subject, fresh_subject())
    expect_error(404, 40401, sr_client.delete_version, fresh_subject(), 1)


# ------------------------------------------------------------------ error cases

def test_unknown_subject_and_version_errors(sr_client, new_client, fresh_subject):
    missing = fresh_subject("missing")
    expect_error(404, 40401, sr_client.get_versions, missing)
    expect_error(404, 40401, sr_client.get_latest_version, missing)
    expect_error(404, 40401, sr_client.get_version, missing, 1)

    s = fresh_subject()
    sr_client.register_schema(s, avro(user_v1(uniq("U"))))
    expect_error(404, 40402, new_client().get_version, s, 42)
    # Not a valid version id (§3.3).
    expect_error(422, 42202, new_client().get_version, s, "one")
    expect_error(422, 42202, new_client().get_version, s, 0)


@pytest.mark.parametrize("text", [
    "this is not json",
    '{"type": "recordx", "name": "X"}',
    '{"type": "record", "name": "NoFields"}',
    '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "no.such.Type"}]}',
    '{"type": "enum", "name": "E", "symbols": ["A", "A"]}',
    '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "int", "default": "nope"}]}',
], ids=["not-json", "unknown-type", "record-without-fields", "unknown-named-type",
        "duplicate-enum-symbol", "bad-default"])
def test_invalid_schema_is_42201(sr_client, new_client, fresh_subject, text):
    """Avro model (except not-json): an invalid Avro schema is 422/42201 (§4)."""
    s = fresh_subject()
    expect_error(422, 42201, sr_client.register_schema, s, Schema(text, "AVRO", []))
    expect_error(404, 40401, new_client().get_versions, s)


def test_unknown_schema_type_is_42201(sr_client, new_client, fresh_subject):
    """A schemaType no provider handles is 422/42201 `Invalid schema type ...` (§4)."""
    s = fresh_subject()
    expect_error(422, 42201, sr_client.register_schema, s, Schema('{"type": "string"}', "XML", []))
    expect_error(404, 40401, new_client().get_versions, s)


# ------------------------------------------------------------------ references

def test_schema_references(sr_client, new_client, fresh_subject):
    addr_subject = fresh_subject("com.acme.Address")
    addr_name = uniq("Address")
    addr_full = f"com.acme.{addr_name}"
    addr = record(addr_name, [{"name": "street", "type": "string"}], namespace="com.acme")
    addr_id = sr_client.register_schema(addr_subject, avro(addr))

    user_subject = fresh_subject("user")
    # No namespace on the referrer, so the canonical text names the reference by its full name.
    user = record(uniq("User"), [
        {"name": "name", "type": "string"},
        {"name": "address", "type": addr_full},
    ])
    refs = [SchemaReference(addr_full, addr_subject, 1)]
    user_id = sr_client.register_schema(user_subject, avro(user, refs))
    assert user_id != addr_id

    c = new_client()
    v = c.get_version(user_subject, 1)
    assert v.schema.references == refs
    assert v.schema.schema_str == compact(user)
    assert new_client().get_schema(user_id).references == refs
    assert new_client().lookup_schema(user_subject, avro(user, refs)).schema_id == user_id
    assert new_client().get_referenced_by(addr_subject, 1) == [user_id]

    # A referenced version cannot be deleted (§6.4: 42206).
    expect_error(422, 42206, new_client().delete_version, addr_subject, 1)
    expect_error(422, 42206, new_client().delete_subject, addr_subject)
    assert new_client().get_versions(addr_subject) == [1]

    # A reference to a version that does not exist is 42201 (§6.8).
    bad = [SchemaReference(addr_full, addr_subject, 99)]
    expect_error(422, 42201, new_client().register_schema, fresh_subject("bad"), avro(user, bad))


def test_reference_required_for_named_type(sr_client, fresh_subject):
    """Avro model: a record using a named type it neither defines nor references is invalid."""
    user = record(uniq("User"), [{"name": "address", "type": "com.acme.NotRegistered"}])
    expect_error(422, 42201, sr_client.register_schema, fresh_subject(), avro(user))


# ------------------------------------------------------------------ normalize

def test_register_with_normalize(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    obj = user_with(uniq("N"), {"name": "tags", "type": {"type": "array", "items": "string"}})
    sid = sr_client.register_schema(s, avro(obj), normalize_schemas=True)
    assert isinstance(sid, int) and sid >= 1

    # The same content spelled differently, normalized again: same id, one version.
    assert new_client().register_schema(s, Schema(compact(obj), "AVRO", []), normalize_schemas=True) == sid
    assert new_client().get_versions(s) == [1]
    found = new_client().lookup_schema(s, avro(obj), normalize_schemas=True)
    assert (found.schema_id, found.version) == (sid, 1)
    assert json.loads(new_client().get_schema(sid).schema_str) == obj


# ------------------------------------------------------------------ mode

def test_subject_mode(sr_client, new_client, fresh_subject):
    s = fresh_subject()
    name = uniq("U")
    sr_client.register_schema(s, avro(user_v1(name)))
    assert sr_client.get_global_mode() == "READWRITE"
    expect_error(404, 40409, new_client().get_mode, s)  # nothing set at subject level (§3.6)

    assert sr_client.update_mode(s, "READONLY") == "READONLY"
    assert new_client().get_mode(s) == "READONLY"
    expect_error(422, 42205, new_client().register_schema, s, avro(user_v1(uniq("V"))))
    expect_error(422, 42205, new_client().delete_version, s, 1)

    expect_error(422, 42204, sr_client.update_mode, s, "SOMETIMES")
    assert new_client().get_mode(s) == "READONLY"

    assert sr_client.update_mode(s, "READWRITE") == "READWRITE"
    assert new_client().register_schema(s, avro(user_with(name, {"name": "x", "type": "int", "default": 1}))) >= 1
    assert new_client().delete_mode(s) == "READWRITE"
    expect_error(404, 40409, new_client().get_mode, s)
    # Other subjects were never affected.
    assert new_client().get_global_mode() == "READWRITE"


# ------------------------------------------------------------------ latest with metadata

def test_get_latest_with_metadata(sr_client, new_client, fresh_subject):
    """`get_latest_with_metadata` (GET /subjects/{s}/metadata): the newest version whose
    metadata properties include every requested pair; none is 40403."""
    name = uniq("Meta")
    subject = fresh_subject()

    def versioned(app, extra):
        props = MetadataProperties(properties={"application.version": app})
        return Schema(pretty(user_with(name, *extra)), "AVRO", [],
                      metadata=Metadata(None, props, None))

    age = {"name": "age", "type": "int", "default": 0}
    mail = {"name": "mail", "type": ["null", "string"], "default": None}
    sr_client.register_schema(subject, versioned("v1", []))
    sr_client.register_schema(subject, versioned("v2", [age]))
    sr_client.register_schema(subject, versioned("v1", [age, mail]))
    c = new_client()
    got = c.get_latest_with_metadata(subject, {"application.version": "v1"})
    assert got.version == 3
    assert got.schema.metadata.properties.properties == {"application.version": "v1"}
    got = c.get_latest_with_metadata(subject, {"application.version": "v2"})
    assert got.version == 2
    assert "age" in got.schema.schema_str and "mail" not in got.schema.schema_str
    expect_error(404, 40403, c.get_latest_with_metadata, subject,
                 {"application.version": "v9"})


# ------------------------------------------------------------------ basic authentication

def test_basic_auth_with_a_credentials_file(tmp_path):
    """`charter serve --basic-auth-file`: confluent-kafka's `basic.auth.user.info` gets in,
    a wrong password or none gets Confluent's 401 {"error_code":401,"message":"Unauthorized"}."""
    from helpers.charter import start

    creds = tmp_path / "users.properties"
    creds.write_text("# Jetty realm properties\nci: s3cret,admin\n")
    proc, _ = start(str(tmp_path / "data"), extra=("--basic-auth-file", str(creds)))
    try:
        url = proc.registry_url
        ok = SchemaRegistryClient({"url": url, "basic.auth.user.info": "ci:s3cret"})
        sid = ok.register_schema("auth-value", avro(user_v1(uniq())))
        assert ok.get_subjects() == ["auth-value"]
        assert ok.get_schema(sid).schema_type == "AVRO"
        wrong = SchemaRegistryClient({"url": url, "basic.auth.user.info": "ci:nope"})
        err = expect_error(401, 401, wrong.get_subjects)
        assert err.error_message == "Unauthorized"
        expect_error(401, 401, SchemaRegistryClient({"url": url}).get_subjects)
    finally:
        proc.kill()
        proc.wait()
