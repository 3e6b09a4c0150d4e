//! `charter schema ...`: the schema workflow over the registry's REST API — register, test,
//! download and config driven by `charter.toml` (see [`super::project`]), and list, get, diff
//! and delete for people.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use charter_serde::client::{Schema, SchemaMetadata, SchemaRegistryClient, Version};
use charter_serde::SchemaType;
use clap::Subcommand;
use serde_json::{json, Value};

use super::output::Output;
use super::project::{level_name, parse_level, Project, SubjectEntry};
use super::{CliError, Result};

/// The `schema` subcommands.
#[derive(Subcommand, Debug)]
pub enum SchemaCommand {
    /// Register every schema of the project file (idempotent); prints subject, version and id
    /// and writes registered.csv.
    Register {
        /// Only these subjects (repeatable).
        #[arg(long = "subject")]
        only: Vec<String>,
        /// Where to write the CSV (overrides `registered_csv` in the project file).
        #[arg(long)]
        registered_csv: Option<PathBuf>,
    },
    /// Test every schema of the project file for compatibility with the versions its
    /// subject's level involves; exit code 1 and the reasons when any is incompatible.
    Test {
        /// Only these subjects (repeatable).
        #[arg(long = "subject")]
        only: Vec<String>,
    },
    /// Download schemas by subject or pattern (or the project file's [[download]] blocks).
    Download {
        /// One subject.
        #[arg(long, conflicts_with = "pattern")]
        subject: Option<String>,
        /// Every subject whose whole name matches this regular expression.
        #[arg(long)]
        pattern: Option<String>,
        /// A version number (default: latest).
        #[arg(long)]
        version: Option<i32>,
        /// Output directory.
        #[arg(long, default_value = "downloaded")]
        output_dir: PathBuf,
        /// Also write `<subject>-metadata.json` (id, version, type, references, metadata, rules).
        #[arg(long)]
        metadata: bool,
        /// Do not download referenced schemas.
        #[arg(long)]
        no_references: bool,
    },
    /// Show or set compatibility levels; without arguments, apply the project file's levels.
    Config {
        /// The subject (omit with --global).
        subject: Option<String>,
        /// The level to set (NONE, BACKWARD, ..., FULL_TRANSITIVE); shows the level if absent.
        level: Option<String>,
        /// The global level instead of a subject's.
        #[arg(long)]
        global: bool,
    },
    /// List subjects with their latest version, id and type.
    List {
        /// Only subjects starting with this prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// Include soft-deleted subjects.
        #[arg(long)]
        deleted: bool,
    },
    /// Print a subject version's schema (pretty-printed) and its details.
    Get {
        /// The subject.
        subject: String,
        /// A version number or `latest`.
        #[arg(long, default_value = "latest")]
        version: String,
    },
    /// Compare two versions of a subject side by side, naming the differences.
    Diff {
        /// The subject.
        subject: String,
        /// The older version (default: the one before `to`).
        from: Option<String>,
        /// The newer version (default: latest).
        to: Option<String>,
    },
    /// Delete a subject or one version (soft, or permanent with --permanent).
    Delete {
        /// The subject.
        subject: String,
        /// Only this version (a number or `latest`).
        #[arg(long)]
        version: Option<String>,
        /// Delete permanently (soft-deletes first when needed).
        #[arg(long)]
        permanent: bool,
    },
}

/// Runs a `schema` subcommand.
pub async fn run(
    command: SchemaCommand,
    client: &SchemaRegistryClient,
    project_path: &Path,
    out: &Output,
) -> Result<()> {
    match command {
        SchemaCommand::Register {
            only,
            registered_csv,
        } => {
            let project = Project::load(project_path)?;
            register(client, &project, &only, registered_csv, out).await
        }
        SchemaCommand::Test { only } => {
            let project = Project::load(project_path)?;
            test(client, &project, &only, out).await
        }
        SchemaCommand::Download {
            subject,
            pattern,
            version,
            output_dir,
            metadata,
            no_references,
        } => {
            if subject.is_none() && pattern.is_none() {
                let project = Project::load(project_path)?;
                if project.downloads.is_empty() {
                    return Err(CliError::Usage(
                        "give --subject or --pattern, or list [[download]] blocks in the project file"
                            .into(),
                    ));
                }
                let mut written = Vec::new();
                for d in &project.downloads {
                    let dir =
                        project.resolve(d.output_dir.as_deref().unwrap_or(Path::new("downloaded")));
                    let spec = DownloadSpec {
                        subject: d.subject.clone(),
                        pattern: d.pattern.clone(),
                        version: d.version,
                        output_dir: dir,
                        metadata: d.metadata,
                        references: d.references,
                    };
                    written.extend(download(client, &spec, out).await?);
                }
                print_downloads(&written, out);
                Ok(())
            } else {
                let spec = DownloadSpec {
                    subject,
                    pattern,
                    version,
                    output_dir,
                    metadata,
                    references: !no_references,
                };
                let written = download(client, &spec, out).await?;
                print_downloads(&written, out);
                Ok(())
            }
        }
        SchemaCommand::Config {
            subject,
            level,
            global,
        } => config(client, project_path, subject, level, global, out).await,
        SchemaCommand::List { prefix, deleted } => list(client, prefix, deleted, out).await,
        SchemaCommand::Get { subject, version } => {
            let v = parse_version(&version)?;
            let meta = client
                .version(&subject, v, false)
                .await
                .map_err(not_found_or(format!("reading {subject} version {version}")))?;
            if out.is_json() {
                out.json(&metadata_json(&meta));
            } else {
                out.line(&out.bold(&format!(
                    "{} version {} (id {}, {})",
                    meta.subject,
                    meta.version,
                    meta.id,
                    meta.schema_type.as_str()
                )));
                for r in &meta.references {
                    out.line(&format!(
                        "reference {} -> {} version {}",
                        r.name, r.subject, r.version
                    ));
                }
                out.line(pretty(meta.schema_type, &meta.schema).trim_end());
            }
            Ok(())
        }
        SchemaCommand::Diff { subject, from, to } => diff(client, &subject, from, to, out).await,
        SchemaCommand::Delete {
            subject,
            version,
            permanent,
        } => delete(client, &subject, version, permanent, out).await,
    }
}

/// Maps a registry 404 to [`CliError::NotFound`] with its message; other errors keep context.
fn not_found_or(context: String) -> impl FnOnce(charter_serde::client::Error) -> CliError {
    move |e| {
        if e.is_not_found() {
            CliError::NotFound(format!("{context}: {}", registry_message(&e)))
        } else {
            CliError::Registry { context, source: e }
        }
    }
}

/// The registry's own message for an error, or the error's text.
fn registry_message(e: &charter_serde::client::Error) -> String {
    match e {
        charter_serde::client::Error::Registry { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Parses `latest`, `-1` or a version number.
pub fn parse_version(v: &str) -> Result<Version> {
    match v.trim() {
        "latest" | "-1" => Ok(Version::Latest),
        n => n
            .parse::<i32>()
            .ok()
            .filter(|n| *n > 0)
            .map(Version::Number)
            .ok_or_else(|| CliError::Usage(format!("bad version {v:?}: a number ≥ 1 or `latest`"))),
    }
}

/// The schema text pretty-printed for people: indented JSON for Avro and JSON Schema, the
/// text itself for Protobuf.
pub fn pretty(schema_type: SchemaType, text: &str) -> String {
    match schema_type {
        SchemaType::Protobuf => {
            let mut s = text.to_string();
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        _ => match serde_json::from_str::<Value>(text) {
            Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| text.to_string()) + "\n",
            Err(_) => text.to_string(),
        },
    }
}

fn metadata_json(m: &SchemaMetadata) -> Value {
    let mut v = json!({
        "subject": m.subject,
        "version": m.version,
        "id": m.id,
        "schemaType": m.schema_type.as_str(),
        "references": m.references,
        "schema": m.schema,
    });
    if let Some(md) = &m.metadata {
        v["metadata"] = md.clone();
    }
    if let Some(rs) = &m.rule_set {
        v["ruleSet"] = rs.clone();
    }
    v
}

/// Resolves `-1` remote references to the referenced subject's current latest version, as
/// the Gradle plugin does before sending, so what is registered names concrete versions.
async fn resolve_references(
    client: &SchemaRegistryClient,
    entry: &SubjectEntry,
    schema: &mut Schema,
) -> Result<()> {
    for r in schema.references.iter_mut() {
        if r.version == -1 {
            let latest = client
                .latest_version(&r.subject)
                .await
                .map_err(not_found_or(format!(
                    "subject {}: reference {} to subject {}",
                    entry.subject, r.name, r.subject
                )))?;
            r.version = latest.version;
        }
    }
    Ok(())
}

/// `charter schema register`.
async fn register(
    client: &SchemaRegistryClient,
    project: &Project,
    only: &[String],
    csv_override: Option<PathBuf>,
    out: &Output,
) -> Result<()> {
    let entries = project.select(only)?;
    let bar = out.progress(entries.len() as u64, "registering");
    let mut rows = Vec::new();
    for entry in entries {
        let mut schema = entry.build(project)?;
        resolve_references(client, entry, &mut schema).await?;
        let registered = client
            .register(&entry.subject, &schema, entry.normalize)
            .await
            .map_err(|e| CliError::Registry {
                context: format!("registering {} ({})", entry.subject, entry.file.display()),
                source: e,
            })?;
        let version = match registered.version {
            Some(v) => v,
            // Registries older than Confluent 8 answer only the id: ask for the version.
            None => {
                client
                    .lookup(&entry.subject, &schema, entry.normalize, false)
                    .await
                    .map_err(CliError::registry(format!("looking up {}", entry.subject)))?
                    .version
            }
        };
        rows.push((
            entry.subject.clone(),
            version,
            registered.id,
            entry.file.display().to_string(),
        ));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let csv_path = csv_override.unwrap_or_else(|| project.registered_csv_path());
    // The plugin's registered.csv columns (subject, path, id), then the version.
    let mut csv = String::from("subject, path, id, version\n");
    for (s, v, id, f) in &rows {
        let _ = writeln!(csv, "{s}, {f}, {id}, {v}");
    }
    if let Some(dir) = csv_path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Input(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    std::fs::write(&csv_path, csv)
        .map_err(|e| CliError::Input(format!("cannot write {}: {e}", csv_path.display())))?;
    if out.is_json() {
        out.json(&Value::Array(
            rows.iter()
                .map(|(s, v, id, f)| json!({"subject": s, "version": v, "id": id, "file": f}))
                .collect(),
        ));
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|(s, v, id, f)| vec![s.clone(), v.to_string(), id.to_string(), f.clone()])
            .collect();
        out.table(&["SUBJECT", "VERSION", "ID", "FILE"], &table);
    }
    Ok(())
}

/// One entry's compatibility outcome.
struct TestOutcome {
    subject: String,
    file: String,
    compatible: bool,
    new_subject: bool,
    messages: Vec<String>,
}

/// `charter schema test`.
async fn test(
    client: &SchemaRegistryClient,
    project: &Project,
    only: &[String],
    out: &Output,
) -> Result<()> {
    let entries = project.select(only)?;
    let bar = out.progress(entries.len() as u64, "testing");
    let mut outcomes = Vec::new();
    for entry in entries {
        let mut schema = entry.build(project)?;
        resolve_references(client, entry, &mut schema).await?;
        let file = entry.file.display().to_string();
        // Confluent answers "compatible" for a subject that does not exist yet; ask first so
        // the report can say it is new (the Gradle plugin treats 40401 the same way).
        let r = match client.versions(&entry.subject, false).await {
            Err(e) if e.error_code() == Some(40401) => Err(e),
            _ => {
                // No version: the registry compares with every version the subject's level
                // involves (all of them for *_TRANSITIVE), as registration will.
                client
                    .test_compatibility(&entry.subject, None, &schema, true)
                    .await
            }
        };
        let outcome = match r {
            Ok(c) => TestOutcome {
                subject: entry.subject.clone(),
                file,
                compatible: c.is_compatible,
                new_subject: false,
                messages: c.messages,
            },
            // A subject that does not exist yet: anything is compatible.
            Err(e) if e.error_code() == Some(40401) => TestOutcome {
                subject: entry.subject.clone(),
                file,
                compatible: true,
                new_subject: true,
                messages: vec![],
            },
            // An invalid schema (422) fails the check like an incompatible one.
            Err(e) if e.status() == Some(422) => TestOutcome {
                subject: entry.subject.clone(),
                file,
                compatible: false,
                new_subject: false,
                messages: vec![format!("invalid schema: {}", registry_message(&e))],
            },
            Err(e) => {
                bar.finish_and_clear();
                return Err(CliError::Registry {
                    context: format!("testing {}", entry.subject),
                    source: e,
                });
            }
        };
        outcomes.push(outcome);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let failed = outcomes.iter().filter(|o| !o.compatible).count();
    if out.is_json() {
        out.json(&json!({
            "compatible": failed == 0,
            "results": outcomes.iter().map(|o| json!({
                "subject": o.subject,
                "file": o.file,
                "compatible": o.compatible,
                "new_subject": o.new_subject,
                "messages": o.messages,
            })).collect::<Vec<_>>(),
        }));
    } else {
        for o in &outcomes {
            let report = CompatReport::parse(&o.messages);
            let status = if !o.compatible {
                let mut s = "INCOMPATIBLE".to_string();
                if !report.versions.is_empty() {
                    s.push_str(&format!(" with version {}", report.versions.join(", ")));
                }
                if let Some(level) = &report.level {
                    s.push_str(&format!(" ({level})"));
                }
                out.bad(&s)
            } else if o.new_subject {
                out.ok("compatible (new subject)")
            } else {
                out.ok("compatible")
            };
            out.line(&format!("{}  {}  {status}", o.subject, out.dim(&o.file)));
            for d in &report.differences {
                out.line(&format!("    - {d}"));
            }
        }
    }
    if failed > 0 {
        return Err(CliError::Failed(format!(
            "{failed} of {} schema(s) incompatible",
            outcomes.len()
        )));
    }
    Ok(())
}

/// Confluent's verbose compatibility messages, sorted for people: the differences
/// (`errorType: description`), the versions compared and the level. The old schema's text
/// is left out (the JSON output keeps every message as sent).
#[derive(Debug, Default, PartialEq)]
pub struct CompatReport {
    /// One line per difference (or a message in a shape we do not know, as sent).
    pub differences: Vec<String>,
    /// The versions the schema was compared with.
    pub versions: Vec<String>,
    /// The compatibility level applied.
    pub level: Option<String>,
}

/// The text of `key: 'value'` (or `"value"`) in a Confluent message; the value may contain
/// the other quote character, so it runs to the quote followed by `,` + next key or `}`.
fn message_field(m: &str, key: &str, next_key: Option<&str>) -> Option<String> {
    let start = m.find(&format!("{key}:"))? + key.len() + 1;
    let rest = m[start..].trim_start();
    let q = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &rest[1..];
    let end = next_key
        .and_then(|k| body.find(&format!("{q}, {k}:")))
        .or_else(|| body.rfind(&format!("{q}}}")))?;
    Some(body[..end].to_string())
}

impl CompatReport {
    /// Sorts `messages` (as a registry answers `?verbose=true`).
    pub fn parse(messages: &[String]) -> Self {
        let mut r = CompatReport::default();
        for m in messages {
            let t = m.trim();
            if t.contains("errorType:") {
                let kind = message_field(t, "errorType", Some("description"));
                let desc = message_field(t, "description", Some("additionalInfo"));
                match (kind, desc) {
                    (Some(k), Some(d)) => r.differences.push(format!("{k}: {d}")),
                    (Some(k), None) => r.differences.push(k),
                    _ => r.differences.push(t.to_string()),
                }
            } else if let Some(v) = t
                .strip_prefix("{oldSchemaVersion:")
                .and_then(|v| v.strip_suffix('}'))
            {
                let v = v.trim().to_string();
                if !r.versions.contains(&v) {
                    r.versions.push(v);
                }
            } else if t.starts_with("{oldSchema:") {
                continue;
            } else if t.contains("compatibility:") && t.starts_with('{') {
                r.level = t
                    .split("compatibility:")
                    .nth(1)
                    .map(|l| l.trim().trim_matches(|c| "'\"} ".contains(c)).to_string());
            } else {
                r.differences.push(t.to_string());
            }
        }
        r
    }
}

/// What to download.
struct DownloadSpec {
    subject: Option<String>,
    pattern: Option<String>,
    version: Option<i32>,
    output_dir: PathBuf,
    metadata: bool,
    references: bool,
}

/// One written schema file.
struct Written {
    subject: String,
    version: i32,
    id: i32,
    path: PathBuf,
}

fn file_stem(subject: &str) -> String {
    subject
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn extension(t: SchemaType) -> &'static str {
    match t {
        SchemaType::Avro => "avsc",
        SchemaType::Json => "json",
        SchemaType::Protobuf => "proto",
    }
}

/// `charter schema download` for one spec.
async fn download(
    client: &SchemaRegistryClient,
    spec: &DownloadSpec,
    out: &Output,
) -> Result<Vec<Written>> {
    let subjects: Vec<String> = match (&spec.subject, &spec.pattern) {
        (Some(s), _) => vec![s.clone()],
        (None, Some(p)) => {
            let re = regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| CliError::Usage(format!("bad --pattern: {e}")))?;
            let all = client
                .subjects(None, false)
                .await
                .map_err(CliError::registry("listing subjects"))?;
            let matched: Vec<String> = all.into_iter().filter(|s| re.is_match(s)).collect();
            if matched.is_empty() {
                return Err(CliError::NotFound(format!("no subject matches {p:?}")));
            }
            matched
        }
        (None, None) => return Err(CliError::Usage("give --subject or --pattern".into())),
    };
    std::fs::create_dir_all(&spec.output_dir).map_err(|e| {
        CliError::Input(format!("cannot create {}: {e}", spec.output_dir.display()))
    })?;
    let bar = out.progress(subjects.len() as u64, "downloading");
    let mut written = Vec::new();
    let mut done: BTreeSet<(String, i32)> = BTreeSet::new();
    for subject in &subjects {
        let version = spec.version.map(Version::Number).unwrap_or(Version::Latest);
        let meta = client
            .version(subject, version, false)
            .await
            .map_err(not_found_or(format!("downloading {subject}")))?;
        // Follow references breadth-first; each (subject, version) once.
        let mut queue = vec![meta];
        while let Some(m) = queue.pop() {
            if !done.insert((m.subject.clone(), m.version)) {
                continue;
            }
            let stem = file_stem(&m.subject);
            let path = spec
                .output_dir
                .join(format!("{stem}.{}", extension(m.schema_type)));
            std::fs::write(&path, pretty(m.schema_type, &m.schema))
                .map_err(|e| CliError::Input(format!("cannot write {}: {e}", path.display())))?;
            if spec.metadata {
                let mpath = spec.output_dir.join(format!("{stem}-metadata.json"));
                let mut md = metadata_json(&m);
                if let Value::Object(o) = &mut md {
                    o.remove("schema");
                }
                let text = serde_json::to_string_pretty(&md).unwrap_or_default();
                std::fs::write(&mpath, text + "\n").map_err(|e| {
                    CliError::Input(format!("cannot write {}: {e}", mpath.display()))
                })?;
            }
            if spec.references {
                for r in &m.references {
                    let rv = if r.version < 1 {
                        Version::Latest
                    } else {
                        Version::Number(r.version)
                    };
                    let rm = client
                        .version(&r.subject, rv, true)
                        .await
                        .map_err(not_found_or(format!(
                            "downloading reference {} of {}",
                            r.subject, m.subject
                        )))?;
                    queue.push(rm);
                }
            }
            written.push(Written {
                subject: m.subject.clone(),
                version: m.version,
                id: m.id,
                path,
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(written)
}

fn print_downloads(written: &[Written], out: &Output) {
    if out.is_json() {
        out.json(&Value::Array(
            written
                .iter()
                .map(|w| {
                    json!({"subject": w.subject, "version": w.version, "id": w.id,
                           "file": w.path.display().to_string()})
                })
                .collect(),
        ));
    } else {
        let rows: Vec<Vec<String>> = written
            .iter()
            .map(|w| {
                vec![
                    w.subject.clone(),
                    w.version.to_string(),
                    w.id.to_string(),
                    w.path.display().to_string(),
                ]
            })
            .collect();
        out.table(&["SUBJECT", "VERSION", "ID", "FILE"], &rows);
    }
}

/// `charter schema config`.
async fn config(
    client: &SchemaRegistryClient,
    project_path: &Path,
    subject: Option<String>,
    level: Option<String>,
    global: bool,
    out: &Output,
) -> Result<()> {
    // With --global the only positional is the level.
    let (subject, level) = if global {
        if level.is_some() {
            return Err(CliError::Usage("with --global give only the level".into()));
        }
        (None, subject)
    } else {
        (subject, level)
    };
    let show = |subject: Option<&str>, level: &str| {
        let scope = subject.unwrap_or("(global)");
        if out.is_json() {
            out.json(&json!({"subject": subject, "compatibility": level}));
        } else {
            out.line(&format!("{scope}  {level}"));
        }
    };
    match (subject, level, global) {
        (None, None, false) => {
            let project = Project::load(project_path)?;
            let entries: Vec<_> = project
                .subjects
                .iter()
                .filter(|s| s.compatibility.is_some())
                .collect();
            let bar = out.progress(entries.len() as u64, "configuring");
            let mut rows = Vec::new();
            for e in entries {
                let Some(name) = &e.compatibility else {
                    continue;
                };
                let level = parse_level(name)?;
                client
                    .set_compatibility(Some(&e.subject), level)
                    .await
                    .map_err(CliError::registry(format!("configuring {}", e.subject)))?;
                rows.push((e.subject.clone(), level_name(level)));
                bar.inc(1);
            }
            bar.finish_and_clear();
            if out.is_json() {
                out.json(&Value::Array(
                    rows.iter()
                        .map(|(s, l)| json!({"subject": s, "compatibility": l}))
                        .collect(),
                ));
            } else {
                let table: Vec<Vec<String>> = rows.into_iter().map(|(s, l)| vec![s, l]).collect();
                out.table(&["SUBJECT", "COMPATIBILITY"], &table);
            }
            Ok(())
        }
        (subject, None, _) => {
            let level = client
                .get_compatibility(subject.as_deref())
                .await
                .map_err(not_found_or("reading the compatibility level".into()))?;
            show(subject.as_deref(), &level_name(level));
            Ok(())
        }
        (subject, Some(level), _) => {
            let level = parse_level(&level)?;
            client
                .set_compatibility(subject.as_deref(), level)
                .await
                .map_err(CliError::registry("setting the compatibility level"))?;
            show(subject.as_deref(), &level_name(level));
            Ok(())
        }
    }
}

/// `charter schema list`.
async fn list(
    client: &SchemaRegistryClient,
    prefix: Option<String>,
    deleted: bool,
    out: &Output,
) -> Result<()> {
    let subjects = client
        .subjects(prefix.as_deref(), deleted)
        .await
        .map_err(CliError::registry("listing subjects"))?;
    let bar = out.progress(subjects.len() as u64, "listing");
    let mut rows = Vec::new();
    for s in &subjects {
        // A subject whose versions are all soft-deleted has no latest: show it without one.
        let latest = client.version(s, Version::Latest, deleted).await.ok();
        rows.push((s.clone(), latest));
        bar.inc(1);
    }
    bar.finish_and_clear();
    if out.is_json() {
        out.json(&Value::Array(
            rows.iter()
                .map(|(s, m)| match m {
                    Some(m) => json!({"subject": s, "version": m.version, "id": m.id,
                                      "schemaType": m.schema_type.as_str()}),
                    None => json!({"subject": s}),
                })
                .collect(),
        ));
    } else {
        let table: Vec<Vec<String>> = rows
            .into_iter()
            .map(|(s, m)| match m {
                Some(m) => vec![
                    s,
                    m.version.to_string(),
                    m.id.to_string(),
                    m.schema_type.as_str().to_string(),
                ],
                None => vec![s, "-".into(), "-".into(), "-".into()],
            })
            .collect();
        out.table(&["SUBJECT", "LATEST", "ID", "TYPE"], &table);
    }
    Ok(())
}

/// `charter schema delete`.
async fn delete(
    client: &SchemaRegistryClient,
    subject: &str,
    version: Option<String>,
    permanent: bool,
    out: &Output,
) -> Result<()> {
    let deleted: Vec<i32> = match version {
        Some(v) => {
            let v = parse_version(&v)?;
            let soft = client.delete_version(subject, v, false).await;
            let n = match soft {
                Ok(n) => n,
                // Already soft-deleted: fine when a permanent delete follows.
                Err(e) if permanent && e.error_code() == Some(40406) => match v {
                    Version::Number(n) => n,
                    Version::Latest => return Err(not_found_or(format!("deleting {subject}"))(e)),
                },
                Err(e) => return Err(not_found_or(format!("deleting {subject} version {v}"))(e)),
            };
            if permanent {
                client
                    .delete_version(subject, Version::Number(n), true)
                    .await
                    .map_err(not_found_or(format!("deleting {subject} version {n}")))?;
            }
            vec![n]
        }
        None => {
            let soft = client.delete_subject(subject, false).await;
            let versions = match soft {
                Ok(v) => v,
                Err(e) if permanent && e.error_code() == Some(40404) => Vec::new(),
                Err(e) => return Err(not_found_or(format!("deleting {subject}"))(e)),
            };
            if permanent {
                let p = client
                    .delete_subject(subject, true)
                    .await
                    .map_err(not_found_or(format!("deleting {subject}")))?;
                if versions.is_empty() {
                    p
                } else {
                    versions
                }
            } else {
                versions
            }
        }
    };
    if out.is_json() {
        out.json(&json!({"subject": subject, "deleted_versions": deleted, "permanent": permanent}));
    } else {
        let how = if permanent { "permanently" } else { "soft" };
        out.line(&format!(
            "{subject}: {how} deleted version(s) {}",
            deleted
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

/// `charter schema diff`.
async fn diff(
    client: &SchemaRegistryClient,
    subject: &str,
    from: Option<String>,
    to: Option<String>,
    out: &Output,
) -> Result<()> {
    let to_meta = client
        .version(
            subject,
            parse_version(to.as_deref().unwrap_or("latest"))?,
            false,
        )
        .await
        .map_err(not_found_or(format!("reading {subject}")))?;
    let from_version = match from {
        Some(f) => parse_version(&f)?,
        None => {
            let versions = client
                .versions(subject, false)
                .await
                .map_err(not_found_or(format!("reading the versions of {subject}")))?;
            let prev = versions
                .iter()
                .copied()
                .filter(|v| *v < to_meta.version)
                .max()
                .ok_or_else(|| {
                    CliError::NotFound(format!(
                        "{subject} has no version before {}",
                        to_meta.version
                    ))
                })?;
            Version::Number(prev)
        }
    };
    let from_meta = client
        .version(subject, from_version, false)
        .await
        .map_err(not_found_or(format!("reading {subject}")))?;
    let a = pretty(from_meta.schema_type, &from_meta.schema);
    let b = pretty(to_meta.schema_type, &to_meta.schema);
    let changes = named_differences(from_meta.schema_type, &from_meta.schema, &to_meta.schema);
    if out.is_json() {
        let text = similar::TextDiff::from_lines(&a, &b)
            .unified_diff()
            .header(
                &format!("version {}", from_meta.version),
                &format!("version {}", to_meta.version),
            )
            .to_string();
        out.json(&json!({
            "subject": subject,
            "from": {"version": from_meta.version, "id": from_meta.id},
            "to": {"version": to_meta.version, "id": to_meta.id},
            "differences": changes,
            "unified_diff": text,
        }));
        return Ok(());
    }
    out.line(&out.bold(&format!(
        "{subject}: version {} (id {}) -> version {} (id {})",
        from_meta.version, from_meta.id, to_meta.version, to_meta.id
    )));
    if changes.is_empty() && a == b {
        out.line("no differences");
        return Ok(());
    }
    for c in &changes {
        out.line(&format!("  - {c}"));
    }
    out.line("");
    side_by_side(&a, &b, out);
    Ok(())
}

/// Prints `a` and `b` in two columns, changed lines marked and coloured.
fn side_by_side(a: &str, b: &str, out: &Output) {
    const W: usize = 56;
    let fit = |s: &str| -> String {
        let s = s.trim_end_matches('\n').replace('\t', "    ");
        let n = s.chars().count();
        if n > W {
            let cut: String = s.chars().take(W - 1).collect();
            format!("{cut}…")
        } else {
            format!("{s}{}", " ".repeat(W - n))
        }
    };
    let diff = similar::TextDiff::from_lines(a, b);
    for op in diff.ops() {
        let (mut left, mut right): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        let mut equal = false;
        for change in diff.iter_changes(op) {
            match change.tag() {
                similar::ChangeTag::Equal => {
                    equal = true;
                    left.push(change.value());
                }
                similar::ChangeTag::Delete => left.push(change.value()),
                similar::ChangeTag::Insert => right.push(change.value()),
            }
        }
        if equal {
            for l in left {
                out.line(&format!("  {} │   {}", fit(l), l.trim_end_matches('\n')));
            }
            continue;
        }
        for i in 0..left.len().max(right.len()) {
            let l = left.get(i).copied();
            let r = right.get(i).copied();
            let lcell = match l {
                Some(l) => out.bad(&format!("- {}", fit(l))),
                None => format!("  {}", fit("")),
            };
            let rcell = match r {
                Some(r) => out.ok(&format!("+ {}", r.trim_end_matches('\n'))),
                None => String::new(),
            };
            out.line(&format!("{lcell} │ {rcell}"));
        }
    }
}

/// Differences between two versions, by name: Avro record fields and enum symbols, JSON
/// Schema properties and `required`, Protobuf message fields. Empty when the format's
/// structure is not understood (the side-by-side text still shows everything).
pub fn named_differences(t: SchemaType, a: &str, b: &str) -> Vec<String> {
    let (fa, fb) = match t {
        SchemaType::Avro => match (serde_json::from_str(a), serde_json::from_str(b)) {
            (Ok(x), Ok(y)) => (avro_facts(&x), avro_facts(&y)),
            _ => return vec![],
        },
        SchemaType::Json => match (serde_json::from_str(a), serde_json::from_str(b)) {
            (Ok(x), Ok(y)) => {
                let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
                json_facts(&x, "", &mut fa);
                json_facts(&y, "", &mut fb);
                (fa, fb)
            }
            _ => return vec![],
        },
        SchemaType::Protobuf => (proto_facts(a), proto_facts(b)),
    };
    let mut out = Vec::new();
    for (k, v) in &fa {
        match fb.get(k) {
            None => out.push(format!("removed {k}")),
            Some(w) if w != v => out.push(format!("changed {k}: {v} -> {w}")),
            _ => {}
        }
    }
    for (k, w) in &fb {
        if !fa.contains_key(k) {
            out.push(format!("added {k}: {w}"));
        }
    }
    out
}

/// `field Record.name` -> type (and default); `symbol Enum.X` -> present.
fn avro_facts(v: &Value) -> BTreeMap<String, String> {
    fn walk(v: &Value, ns: &str, facts: &mut BTreeMap<String, String>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, ns, facts)),
            Value::Object(o) => {
                let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
                let name = o.get("name").and_then(Value::as_str).unwrap_or("");
                let ns = match o.get("namespace").and_then(Value::as_str) {
                    Some(n) => n.to_string(),
                    None if name.contains('.') => name
                        .rsplit_once('.')
                        .map(|(a, _)| a.to_string())
                        .unwrap_or_default(),
                    None => ns.to_string(),
                };
                let short = name.rsplit('.').next().unwrap_or(name);
                match kind {
                    "record" | "error" => {
                        for f in o
                            .get("fields")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            let fname = f.get("name").and_then(Value::as_str).unwrap_or("?");
                            let ty = f.get("type").cloned().unwrap_or(Value::Null);
                            let mut desc = type_summary(&ty);
                            if let Some(d) = f.get("default") {
                                desc.push_str(&format!(" (default {d})"));
                            }
                            facts.insert(format!("field {short}.{fname}"), desc);
                            walk(&ty, &ns, facts);
                        }
                    }
                    "enum" => {
                        for s in o
                            .get("symbols")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(s) = s.as_str() {
                                facts.insert(format!("symbol {short}.{s}"), "present".into());
                            }
                        }
                    }
                    _ => {
                        for key in ["type", "items", "values"] {
                            if let Some(c) = o.get(key) {
                                if c.is_object() || c.is_array() {
                                    walk(c, &ns, facts);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut facts = BTreeMap::new();
    walk(v, "", &mut facts);
    facts
}

/// A short description of an Avro type: named types by name.
fn type_summary(t: &Value) -> String {
    match t {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(type_summary)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(o) => {
            let kind = o.get("type").and_then(Value::as_str).unwrap_or("?");
            match kind {
                "record" | "enum" | "fixed" | "error" => o
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(kind)
                    .to_string(),
                "array" => format!(
                    "array<{}>",
                    o.get("items").map(type_summary).unwrap_or_default()
                ),
                "map" => format!(
                    "map<{}>",
                    o.get("values").map(type_summary).unwrap_or_default()
                ),
                k => match o.get("logicalType").and_then(Value::as_str) {
                    Some(l) => format!("{k} ({l})"),
                    None => k.to_string(),
                },
            }
        }
        other => other.to_string(),
    }
}

/// `property a.b` -> type; `required a` -> present; `additionalProperties` at each level.
fn json_facts(v: &Value, path: &str, facts: &mut BTreeMap<String, String>) {
    let Value::Object(o) = v else {
        return;
    };
    if let Some(Value::Object(props)) = o.get("properties") {
        for (name, p) in props {
            let p_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            let ty = match p.get("type") {
                Some(t) => t.to_string().trim_matches('"').to_string(),
                None => p
                    .get("$ref")
                    .map(|r| format!("$ref {}", r.as_str().unwrap_or("?")))
                    .unwrap_or_else(|| "any".into()),
            };
            let mut desc = ty;
            if let Some(e) = p.get("enum") {
                desc.push_str(&format!(" enum {e}"));
            }
            facts.insert(format!("property {p_path}"), desc);
            json_facts(p, &p_path, facts);
        }
    }
    if let Some(Value::Array(req)) = o.get("required") {
        for r in req.iter().filter_map(Value::as_str) {
            let r_path = if path.is_empty() {
                r.to_string()
            } else {
                format!("{path}.{r}")
            };
            facts.insert(format!("required {r_path}"), "required".into());
        }
    }
    if let Some(ap) = o.get("additionalProperties") {
        let at = if path.is_empty() { "(root)" } else { path };
        facts.insert(format!("additionalProperties of {at}"), ap.to_string());
    }
}

/// `field Message.name` -> `type = tag` from `.proto` text, by a line scan (enough to name
/// changes; the registry's checker is the judge of compatibility).
fn proto_facts(text: &str) -> BTreeMap<String, String> {
    let mut facts = BTreeMap::new();
    let mut stack: Vec<String> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        let opens = l.ends_with('{');
        if opens {
            let mut words = l.split_whitespace();
            let kind = words.next().unwrap_or("");
            let name = words.next().unwrap_or("").trim_end_matches('{').to_string();
            stack.push(if matches!(kind, "message" | "enum" | "oneof") {
                name
            } else {
                String::new()
            });
            continue;
        }
        if l.starts_with('}') {
            stack.pop();
            continue;
        }
        if let Some((lhs, rhs)) = l.split_once('=') {
            let words: Vec<&str> = lhs.split_whitespace().collect();
            let Some(name) = words.last() else {
                continue;
            };
            if matches!(words.first(), Some(&"option") | Some(&"syntax")) {
                continue;
            }
            let ty = words[..words.len() - 1].join(" ");
            let scope = stack
                .iter()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(".");
            let tag = rhs.trim().trim_end_matches(';').trim();
            let desc = if ty.is_empty() {
                format!("= {tag}")
            } else {
                format!("{ty} = {tag}")
            };
            facts.insert(format!("field {scope}.{name}"), desc);
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avro_differences_are_named() {
        let a = r#"{"type":"record","name":"U","fields":[{"name":"id","type":"long"},{"name":"n","type":"string"}]}"#;
        let b = r#"{"type":"record","name":"U","fields":[{"name":"id","type":"string"},{"name":"e","type":["null","string"],"default":null}]}"#;
        let d = named_differences(SchemaType::Avro, a, b);
        assert!(d.contains(&"removed field U.n".to_string()), "{d:?}");
        assert!(
            d.contains(&"changed field U.id: long -> string".to_string()),
            "{d:?}"
        );
        assert!(
            d.contains(&"added field U.e: [null, string] (default null)".to_string()),
            "{d:?}"
        );
    }

    #[test]
    fn json_and_proto_differences_are_named() {
        let a = r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}"#;
        let b = r#"{"type":"object","properties":{"a":{"type":"integer"}}}"#;
        let d = named_differences(SchemaType::Json, a, b);
        assert!(d.contains(&"removed required a".to_string()), "{d:?}");
        assert!(d.contains(&"changed property a: string -> integer".to_string()));
        let p1 = "message M {\n  string a = 1;\n}\n";
        let p2 = "message M {\n  int64 a = 1;\n  string b = 2;\n}\n";
        let d = named_differences(SchemaType::Protobuf, p1, p2);
        assert_eq!(
            d,
            vec![
                "changed field M.a: string = 1 -> int64 = 1",
                "added field M.b: string = 2"
            ]
        );
    }

    #[test]
    fn compatibility_messages_are_sorted_for_people() {
        let msgs: Vec<String> = [
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'age' at path '/fields/1' has no default value', additionalInfo:'age'}",
            "{errorType:\"TYPE_CHANGED\", description:\"A type at path '#/properties/w' is different\"}",
            "{oldSchemaVersion: 1}",
            "{oldSchema: '{\"type\":\"record\"}'}",
            "{validateFields: 'false', compatibility: 'BACKWARD'}",
            "something else",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let r = CompatReport::parse(&msgs);
        assert_eq!(
            r.differences,
            vec![
                "READER_FIELD_MISSING_DEFAULT_VALUE: The field 'age' at path '/fields/1' has no default value",
                "TYPE_CHANGED: A type at path '#/properties/w' is different",
                "something else",
            ]
        );
        assert_eq!(r.versions, vec!["1"]);
        assert_eq!(r.level.as_deref(), Some("BACKWARD"));
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("latest").unwrap(), Version::Latest);
        assert_eq!(parse_version("3").unwrap(), Version::Number(3));
        assert!(parse_version("0").is_err());
        assert!(parse_version("x").is_err());
    }
}
