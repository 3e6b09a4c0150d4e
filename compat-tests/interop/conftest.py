"""Fixtures for the interop suite: a running `charter registry` (started by run.sh) and clients.

The registry is shared by every test, so tests never depend on global state they did not set
themselves: each test works in subjects of its own (`fresh_subject`), and a test that changes the
global config or mode restores it.
"""

import itertools
import json
import os
import re
import uuid

import pytest
import requests
from confluent_kafka.schema_registry import SchemaRegistryClient

_counter = itertools.count(1)
# One token per pytest run, so re-running against the same data dir never collides.
_RUN = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def registry_url():
    url = os.environ.get("CHARTER_REGISTRY_URL")
    if not url:
        pytest.fail(
            "CHARTER_REGISTRY_URL is not set: run the suite through compat-tests/interop/run.sh",
            pytrace=False,
        )
    return url.rstrip("/")


@pytest.fixture
def fresh_subject(request):
    """Returns a function giving a new subject name per call, unique across tests and runs.

    `fresh_subject("x")` -> "<test-name>-<run>-<n>-x". The optional suffix is appended verbatim,
    so it may contain characters such as '/' or '.'.
    """
    base = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:60]

    def make(suffix=""):
        name = f"{base}-{_RUN}-{next(_counter)}"
        return f"{name}-{suffix}" if suffix else name

    return make


@pytest.fixture
def new_client(registry_url):
    """Factory for independent SchemaRegistryClient instances (each with an empty cache).

    confluent-kafka-python caches schema->id, id->schema and lookups; a new instance makes sure
    the next call really reaches the server.
    """
    made = []

    def make(**conf):
        c = SchemaRegistryClient({"url": registry_url, **conf})
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def sr_client(new_client):
    return new_client()


# Headers of Confluent's Java RestService 8.1.1 (what the ImFlog Gradle plugin sends on every call).
# The Java client sets no Accept header itself; java.net.HttpURLConnection then sends its default.
JAVA_ACCEPT = "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"
JAVA_HEADERS = {
    "Content-Type": "application/vnd.schemaregistry.v1+json",
    "Confluent-Accept-Unknown-Properties": "true",
    "Confluent-Client-Version": "java-8.1.1",
    "Accept": JAVA_ACCEPT,
    "User-Agent": "Java/17.0.12",
}


class JavaLikeHttp:
    """A `requests` session speaking exactly like the Java client: same headers, raw paths."""

    def __init__(self, base):
        self.base = base
        self.session = requests.Session()
        self.session.headers.clear()
        self.session.headers.update(JAVA_HEADERS)

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        return self.session.request(method, self.base + path, data=data, timeout=30)

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body):
        return self.request("POST", path, body)

    def put(self, path, body):
        return self.request("PUT", path, body)

    def close(self):
        self.session.close()


@pytest.fixture
def java_http(registry_url):
    h = JavaLikeHttp(registry_url)
    yield h
    h.close()
