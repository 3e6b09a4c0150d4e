//! Compatibility check of a 200-field schema against 100 registered versions at
//! BACKWARD_TRANSITIVE, per format, through `Registry::check_compatibility` — the work
//! `POST /compatibility/subjects/{s}/versions` and registration do, minus HTTP.
//!
//! Run: `cargo bench -p charter-registry --bench compatibility`
//!
//! Before measuring, it also checks that memory stays flat when the same check is repeated
//! (stored versions are parsed once per id and cached): it prints the resident set size
//! before and after 300 more checks.

use std::hint::black_box;

use charter_registry::model::CompatibilityLevel;
use charter_registry::registry::SchemaRequest;
use charter_registry::Registry;
use charter_serde::SchemaType;
use criterion::{criterion_group, criterion_main, Criterion};

const FIELDS: usize = 200;
const VERSIONS: usize = 100;

/// Version `v` (0-based) of the schema: FIELDS base fields plus `v` optional extras.
fn avro(v: usize) -> String {
    let mut fields: Vec<String> = (0..FIELDS)
        .map(|i| format!(r#"{{"name":"f{i}","type":"long"}}"#))
        .collect();
    fields.extend(
        (0..v).map(|i| format!(r#"{{"name":"x{i}","type":["null","string"],"default":null}}"#)),
    );
    format!(
        r#"{{"type":"record","name":"Wide","namespace":"bench","fields":[{}]}}"#,
        fields.join(",")
    )
}

fn json(v: usize) -> String {
    let mut props: Vec<String> = (0..FIELDS)
        .map(|i| format!(r#""f{i}":{{"type":"integer"}}"#))
        .collect();
    props.extend((0..v).map(|i| format!(r#""x{i}":{{"type":"string"}}"#)));
    format!(
        r#"{{"type":"object","properties":{{{}}},"additionalProperties":false}}"#,
        props.join(",")
    )
}

fn protobuf(v: usize) -> String {
    let mut fields: Vec<String> = (0..FIELDS)
        .map(|i| format!("  int64 f{i} = {};", i + 1))
        .collect();
    fields.extend((0..v).map(|i| format!("  string x{i} = {};", FIELDS + i + 1)));
    format!(
        "syntax = \"proto3\";\npackage bench;\nmessage Wide {{\n{}\n}}\n",
        fields.join("\n")
    )
}

fn request(ty: SchemaType, text: String) -> SchemaRequest {
    SchemaRequest {
        schema: text,
        schema_type: ty,
        ..SchemaRequest::default()
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4)
}

fn bench_format(c: &mut Criterion, name: &str, ty: SchemaType, gen: fn(usize) -> String) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _guard = rt.enter();
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Registry::open(dir.path()).expect("registry");
    let subject = format!("wide-{name}");
    rt.block_on(async {
        registry
            .set_config(
                Some(&subject),
                charter_registry::model::Config {
                    compatibility: Some(CompatibilityLevel::BackwardTransitive),
                    ..Default::default()
                },
            )
            .await
            .expect("config");
        for v in 0..VERSIONS {
            registry
                .register(&subject, request(ty, gen(v)), false)
                .await
                .expect("register");
        }
    });
    let new = request(ty, gen(VERSIONS));
    let check = || {
        let r = registry
            .check_compatibility(&subject, None, &new, false, false)
            .expect("check");
        assert!(r.is_compatible, "{:?}", r.messages);
        r
    };
    for _ in 0..20 {
        check();
    }
    let before = rss_kib();
    for _ in 0..300 {
        black_box(check());
    }
    let after = rss_kib();
    eprintln!("{name}: RSS before {before} KiB, after 300 more checks {after} KiB");

    c.bench_function(
        &format!("{name}: {FIELDS}-field schema vs {VERSIONS} versions, BACKWARD_TRANSITIVE"),
        |b| b.iter(|| black_box(check())),
    );
}

fn compatibility(c: &mut Criterion) {
    bench_format(c, "avro", SchemaType::Avro, avro);
    bench_format(c, "json", SchemaType::Json, json);
    bench_format(c, "protobuf", SchemaType::Protobuf, protobuf);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = compatibility
}
criterion_main!(benches);
