"""The ImFlog schema-registry-plugin (Gradle), replayed at the HTTP level (§7.1).

The plugin drives Confluent's Java CachedSchemaRegistryClient 8.1.1, so these tests send exactly
the Java RestService's requests: its paths and query strings, `%2F` for '/' in subjects, and its
headers (Content-Type on every call, Confluent-Accept-Unknown-Properties, Confluent-Client-Version,
and no Accept of its own: java.net.HttpURLConnection then sends its default Accept, see
conftest.JAVA_HEADERS).
"""

import json
import uuid
from urllib.parse import quote

import pytest

# With the JDK's default Accept (or none), Confluent negotiates its preferred type (§1.3).
V1_JSON = "application/vnd.schemaregistry.v1+json"


def enc(subject):
    """How javax.ws.rs UriBuilder encodes a subject path segment ('/' -> %2F)."""
    return quote(subject, safe="")


def uniq(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def canonical(obj):
    """What AvroSchema.canonicalString() sends for these simple schemas (compact, Avro key order)."""
    return json.dumps(obj, separators=(",", ":"))


def ok_json(resp, status=200):
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url}: HTTP {resp.status_code} {resp.text!r}")
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == V1_JSON, f"Content-Type {ctype!r}"
    return resp.json()


def error_json(resp, status, code):
    assert (resp.status_code, _code(resp)) == (status, code), (
        f"{resp.request.method} {resp.request.url}: expected HTTP {status}/{code}, "
        f"got HTTP {resp.status_code} {resp.text!r}")
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == V1_JSON, f"Content-Type {ctype!r}"  # §5 item 4
    body = resp.json()
    assert isinstance(body.get("message"), str) and body["message"]
    return body


def _code(resp):
    try:
        return resp.json().get("error_code")
    except ValueError:
        return None


def register(http, subject, obj, references=()):
    """registerSchemasTask: POST /subjects/{s}/versions?normalize=false, Java 8.x body order."""
    body = {"schemaType": "AVRO"}
    if references:
        body["references"] = list(references)
    body["schema"] = canonical(obj)
    resp = http.post(f"/subjects/{enc(subject)}/versions?normalize=false", body)
    out = ok_json(resp)
    assert isinstance(out.get("id"), int) and out["id"] >= 1, out  # written to registered.csv
    return out


def resolve_reference(http, subject, version):
    """What the Java client does for each remote reference before registering / testing."""
    out = ok_json(http.get(f"/subjects/{enc(subject)}/versions/{version}?deleted=true"))
    assert out["subject"] == subject
    assert isinstance(out["version"], int) and out["version"] >= 1
    assert isinstance(out["id"], int)
    assert isinstance(out["schema"], str)
    assert out.get("schemaType", "AVRO") == "AVRO"
    return out


@pytest.fixture
def reference_setup(java_http, fresh_subject):
    """A dependency (its subject has '/') registered by its own registerSchemasTask entry."""
    subject = fresh_subject("com/acme/Address.avsc")
    name = uniq("Address")
    obj = {"type": "record", "name": name, "namespace": "com.acme",
           "fields": [{"name": "street", "type": "string"}, {"name": "zip", "type": "string"}]}
    out = register(java_http, subject, obj)
    return {"subject": subject, "full_name": f"com.acme.{name}", "obj": obj, "id": out["id"]}


def person(name, ref_full_name, extra=()):
    return {"type": "record", "name": name, "fields": [
        {"name": "name", "type": "string"},
        {"name": "address", "type": ref_full_name},
        *extra,
    ]}


def test_requests_without_any_accept_header(java_http, fresh_subject):
    """Java clients on other HTTP stacks send no Accept at all: still JSON (§1.3)."""
    del java_http.session.headers["Accept"]
    subject = fresh_subject("no/accept")
    obj = {"type": "record", "name": uniq("R"), "fields": [{"name": "a", "type": "int"}]}
    sid = register(java_http, subject, obj)["id"]
    resp = java_http.get(f"/subjects/{enc(subject)}/versions/latest")
    assert "Accept" not in resp.request.headers
    assert ok_json(resp)["id"] == sid
    error_json(java_http.get(f"/subjects/{enc(subject)}/versions/5?deleted=false"), 404, 40402)


# ------------------------------------------------------------------ registerSchemasTask

def test_register_with_remote_reference(java_http, fresh_subject, reference_setup):
    ref = reference_setup
    # addReference(name, subject, 1): the client fetches the exact version...
    dep = resolve_reference(java_http, ref["subject"], 1)
    assert dep["id"] == ref["id"] and dep["version"] == 1
    assert json.loads(dep["schema"]) == ref["obj"]

    subject = fresh_subject("com/acme/Person.avsc")
    obj = person(uniq("Person"), ref["full_name"])
    refs = [{"name": ref["full_name"], "subject": ref["subject"], "version": 1}]
    out = register(java_http, subject, obj, refs)
    pid = out["id"]
    assert pid != ref["id"]

    # Re-running the task registers nothing new (same id, still one version).
    assert register(java_http, subject, obj, refs)["id"] == pid
    assert ok_json(java_http.get(f"/subjects/{enc(subject)}/versions")) == [1]

    stored = ok_json(java_http.get(f"/subjects/{enc(subject)}/versions/latest"))
    assert (stored["subject"], stored["version"], stored["id"]) == (subject, 1, pid)
    assert stored["references"] == refs
    assert stored["schema"] == canonical(obj)


def test_register_with_reference_without_version(java_http, fresh_subject, reference_setup):
    """addReference(name, subject) without a version: the Java client asks for version -1 and
    sends the concrete version it got back (§7.1)."""
    ref = reference_setup
    dep = resolve_reference(java_http, ref["subject"], -1)
    assert dep["version"] == 1 and dep["id"] == ref["id"]

    subject = fresh_subject("person")
    obj = person(uniq("Person"), ref["full_name"])
    refs = [{"name": ref["full_name"], "subject": ref["subject"], "version": dep["version"]}]
    pid = register(java_http, subject, obj, refs)["id"]
    stored = ok_json(java_http.get(f"/subjects/{enc(subject)}/versions/1?deleted=false"))
    assert stored["id"] == pid
    assert stored["references"] == refs


def test_register_response_fields(java_http, fresh_subject):
    """CSR 8.x answers register with the stored schema (§2.5); the plugin needs `id`."""
    subject = fresh_subject()
    obj = {"type": "record", "name": uniq("R"), "fields": [{"name": "a", "type": "int"}]}
    out = register(java_http, subject, obj)
    for key, value in out.items():
        assert value not in (None, [], {}, ""), f"NON_EMPTY violated for {key!r}: {out}"
    if "version" in out:
        assert out["version"] == 1
    if "schema" in out:
        assert out["schema"] == canonical(obj)


def test_register_with_normalize_true(java_http, fresh_subject):
    """The plugin's `normalize` option sends ?normalize=true."""
    subject = fresh_subject()
    obj = {"type": "record", "name": uniq("R"), "fields": [{"name": "a", "type": "int"}]}
    body = {"schemaType": "AVRO", "schema": canonical(obj)}
    out = ok_json(java_http.post(f"/subjects/{enc(subject)}/versions?normalize=true", body))
    assert isinstance(out.get("id"), int)
    assert register(java_http, subject, obj)["id"] == out["id"]
    assert ok_json(java_http.get(f"/subjects/{enc(subject)}/versions")) == [1]


def test_register_with_metadata(java_http, fresh_subject):
    """The plugin passes `metadata` (data contracts) through; it is part of the schema's identity
    (§2.2, §6.1): same text + other metadata = new id and new version."""
    subject = fresh_subject()
    obj = {"type": "record", "name": uniq("R"), "fields": [{"name": "a", "type": "int"}]}

    def reg(owner):
        body = {"schemaType": "AVRO", "metadata": {"properties": {"owner": owner}},
                "schema": canonical(obj)}
        out = ok_json(java_http.post(f"/subjects/{enc(subject)}/versions?normalize=false", body))
        assert isinstance(out.get("id"), int), out
        return out["id"]

    id_a = reg("team-a")
    assert reg("team-a") == id_a
    latest = ok_json(java_http.get(f"/subjects/{enc(subject)}/versions/latest"))
    assert latest["metadata"] == {"properties": {"owner": "team-a"}}
    id_b = reg("team-b")
    assert id_b != id_a
    assert ok_json(java_http.get(f"/subjects/{enc(subject)}/versions")) == [1, 2]
    latest = ok_json(java_http.get(f"/subjects/{enc(subject)}/versions/latest"))
    assert (latest["id"], latest["metadata"]) == (id_b, {"properties": {"owner": "team-b"}})


# ------------------------------------------------------------------ testSchemasTask

def compat_path(subject, verbose, version="latest"):
    return (f"/compatibility/subjects/{enc(subject)}/versions/{version}"
            f"?normalize=false&verbose={'true' if verbose else 'false'}")


def test_compatibility_compatible_change(java_http, fresh_subject, reference_setup):
    ref = reference_setup
    subject = fresh_subject("person")
    name = uniq("Person")
    refs = [{"name": ref["full_name"], "subject": ref["subject"], "version": 1}]
    register(java_http, subject, person(name, ref["full_name"]), refs)

    resolve_reference(java_http, ref["subject"], 1)
    candidate = person(name, ref["full_name"],
                       [{"name": "nickname", "type": ["null", "string"], "default": None}])
    body = {"schemaType": "AVRO", "references": refs, "schema": canonical(candidate)}
    out = ok_json(java_http.post(compat_path(subject, verbose=False), body))
    assert out == {"is_compatible": True}  # no `messages` without verbose (§2.6)


def test_compatibility_incompatible_change_then_verbose(java_http, fresh_subject):
    """Avro model: a new field without default under BACKWARD is incompatible; the plugin then
    repeats the call with verbose=true to print the reasons."""
    subject = fresh_subject()
    name = uniq("Person")
    v1 = {"type": "record", "name": name, "fields": [{"name": "name", "type": "string"}]}
    register(java_http, subject, v1)
    candidate = {"type": "record", "name": name, "fields": [
        {"name": "name", "type": "string"}, {"name": "age", "type": "int"}]}
    body = {"schemaType": "AVRO", "schema": canonical(candidate)}

    out = ok_json(java_http.post(compat_path(subject, verbose=False), body))
    assert out.get("is_compatible") is False, out
    assert "messages" not in out or out["messages"] in (None, [])

    out = ok_json(java_http.post(compat_path(subject, verbose=True), body))
    assert out.get("is_compatible") is False, out
    msgs = out.get("messages")
    assert isinstance(msgs, list) and msgs, out
    assert all(isinstance(m, str) and m for m in msgs), out
    joined = " ".join(msgs)
    # Confluent's Avro message names the problem and the version compared with (§3.4).
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in joined, msgs
    assert "age" in joined, msgs
    assert "{oldSchemaVersion: 1}" in msgs, msgs
    assert "compatibility: 'BACKWARD'" in joined, msgs


def test_compatibility_new_subject(java_http, fresh_subject):
    """No versions yet: CSR answers 200 {"is_compatible": true} (the plugin would also accept
    40401, but that is not what Confluent answers; §3.4, §7.1)."""
    subject = fresh_subject("brand/new")
    obj = {"type": "record", "name": uniq("New"), "fields": [{"name": "a", "type": "string"}]}
    body = {"schemaType": "AVRO", "schema": canonical(obj)}
    assert ok_json(java_http.post(compat_path(subject, verbose=False), body)) == {"is_compatible": True}
    # The all-versions form (trailing slash) on a subject without versions: compatible too.
    path = f"/compatibility/subjects/{enc(subject)}/versions/?normalize=false&verbose=false"
    assert ok_json(java_http.post(path, body)) == {"is_compatible": True}


def test_compatibility_all_versions_trailing_slash(java_http, fresh_subject):
    """RestService.testCompatibility with version == null posts to `.../versions/` (§1.1)."""
    subject = fresh_subject()
    name = uniq("R")
    register(java_http, subject, {"type": "record", "name": name,
                                  "fields": [{"name": "a", "type": "string"}]})
    ok = {"type": "record", "name": name, "fields": [
        {"name": "a", "type": "string"}, {"name": "b", "type": "string", "default": "x"}]}
    path = f"/compatibility/subjects/{enc(subject)}/versions/?normalize=false&verbose=false"
    out = ok_json(java_http.post(path, {"schemaType": "AVRO", "schema": canonical(ok)}))
    assert out == {"is_compatible": True}


def test_compatibility_all_versions_trailing_slash_incompatible(java_http, fresh_subject):
    """Avro model: same endpoint, incompatible candidate, verbose."""
    subject = fresh_subject()
    name = uniq("R")
    register(java_http, subject, {"type": "record", "name": name,
                                  "fields": [{"name": "a", "type": "string"}]})
    bad = {"type": "record", "name": name, "fields": [{"name": "a", "type": "long"}]}
    path = f"/compatibility/subjects/{enc(subject)}/versions/?normalize=false&verbose=true"
    out = ok_json(java_http.post(path, {"schemaType": "AVRO", "schema": canonical(bad)}))
    assert out.get("is_compatible") is False, out
    assert isinstance(out.get("messages"), list) and out["messages"], out


# ------------------------------------------------------------------ downloadSchemasTask

def test_download_schemas(java_http, fresh_subject, reference_setup):
    ref = reference_setup
    subject = fresh_subject("com/acme/Person.avsc")
    name = uniq("Person")
    refs = [{"name": ref["full_name"], "subject": ref["subject"], "version": 1}]
    v1 = person(name, ref["full_name"])
    id1 = register(java_http, subject, v1, refs)["id"]
    v2 = person(name, ref["full_name"], [{"name": "age", "type": ["null", "int"], "default": None}])
    id2 = register(java_http, subject, v2, refs)["id"]

    # subjectPattern: GET /subjects, no parameters.
    subjects = ok_json(java_http.get("/subjects"))
    assert subject in subjects and ref["subject"] in subjects

    # getLatestSchemaMetadata: GET /subjects/{s}/versions/latest, no parameters.
    latest = ok_json(java_http.get(f"/subjects/{enc(subject)}/versions/latest"))
    assert (latest["subject"], latest["version"], latest["id"]) == (subject, 2, id2)
    assert latest.get("schemaType", "AVRO") == "AVRO"
    assert latest["references"] == refs
    assert latest["schema"] == canonical(v2)

    # getSchemaMetadata(s, v): GET /subjects/{s}/versions/{v}?deleted=false
    first = ok_json(java_http.get(f"/subjects/{enc(subject)}/versions/1?deleted=false"))
    assert (first["subject"], first["version"], first["id"]) == (subject, 1, id1)
    assert first["schema"] == canonical(v1)
    assert first["references"] == refs

    # parseSchema / recursive download of each reference: ?deleted=true
    for r in latest["references"]:
        dep = resolve_reference(java_http, r["subject"], r["version"])
        assert json.loads(dep["schema"]) == ref["obj"]
        assert "references" not in dep  # NON_EMPTY: no empty list (§2)

    # An unknown version is 40402, an unknown subject 40401 (the task reports the error).
    error_json(java_http.get(f"/subjects/{enc(subject)}/versions/9?deleted=false"), 404, 40402)
    error_json(java_http.get(f"/subjects/{enc(fresh_subject('x/y'))}/versions/latest"), 404, 40401)


def test_download_soft_deleted_reference(java_http, fresh_subject):
    """Reference resolution asks with deleted=true, so a soft-deleted version is still served;
    the same version is 40402 with deleted=false."""
    subject = fresh_subject("dep")
    name = uniq("Dep")
    assert ok_json(java_http.put(f"/config/{enc(subject)}", {"compatibility": "NONE"})) == {"compatibility": "NONE"}
    register(java_http, subject, {"type": "record", "name": name, "fields": [{"name": "a", "type": "int"}]})
    register(java_http, subject, {"type": "record", "name": name, "fields": [{"name": "b", "type": "int"}]})
    resp = java_http.request("DELETE", f"/subjects/{enc(subject)}/versions/1")
    assert ok_json(resp) == 1
    dep = resolve_reference(java_http, subject, 1)
    assert dep["version"] == 1
    error_json(java_http.get(f"/subjects/{enc(subject)}/versions/1?deleted=false"), 404, 40402)


# ------------------------------------------------------------------ configSubjectsTask

def test_config_subjects(java_http, fresh_subject):
    subject = fresh_subject("com/acme/Person.avsc")
    resp = java_http.put(f"/config/{enc(subject)}", {"compatibility": "FULL_TRANSITIVE"})
    assert ok_json(resp) == {"compatibility": "FULL_TRANSITIVE"}
    assert ok_json(java_http.get(f"/config/{enc(subject)}")) == {"compatibilityLevel": "FULL_TRANSITIVE"}

    # Changing it again overwrites.
    assert ok_json(java_http.put(f"/config/{enc(subject)}", {"compatibility": "NONE"})) == {"compatibility": "NONE"}
    assert ok_json(java_http.get(f"/config/{enc(subject)}")) == {"compatibilityLevel": "NONE"}

    # Not a level: 42203 (the plugin validates locally first, the Java client would surface this).
    error_json(java_http.put(f"/config/{enc(subject)}", {"compatibility": "SOMETIMES"}), 422, 42203)


def test_config_applies_to_registration(java_http, fresh_subject):
    """Avro model: after configSubjectsTask sets NONE, an otherwise incompatible schema registers;
    under BACKWARD it is a 409."""
    subject = fresh_subject()
    name = uniq("R")
    register(java_http, subject, {"type": "record", "name": name, "fields": [{"name": "a", "type": "string"}]})
    bad = {"type": "record", "name": name, "fields": [{"name": "a", "type": "long"}]}
    body = {"schemaType": "AVRO", "schema": canonical(bad)}

    assert ok_json(java_http.put(f"/config/{enc(subject)}", {"compatibility": "BACKWARD"})) == {"compatibility": "BACKWARD"}
    resp = java_http.post(f"/subjects/{enc(subject)}/versions?normalize=false", body)
    assert resp.status_code == 409, f"HTTP {resp.status_code} {resp.text!r}"
    assert _code(resp) in (409, 40901)

    assert ok_json(java_http.put(f"/config/{enc(subject)}", {"compatibility": "NONE"})) == {"compatibility": "NONE"}
    assert register(java_http, subject, bad)["id"] >= 1
    assert ok_json(java_http.get(f"/subjects/{enc(subject)}/versions")) == [1, 2]
