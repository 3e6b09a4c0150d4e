//! `charter.toml`: the project file of the schema workflow, the counterpart of the Gradle
//! schema-registry plugin's `register`, `compatibility`, `download` and `config` blocks.
//!
//! ```toml
//! registered_csv = "build/registered.csv"   # optional; default registered.csv beside this file
//!
//! [[subject]]
//! subject = "orders-value"
//! file = "schemas/order.avsc"                # relative to this file
//! type = "AVRO"                              # optional: from the extension (.avsc .json .proto)
//! normalize = false                          # optional
//! compatibility = "BACKWARD"                 # optional: applied by `charter schema config`
//! references = [{ name = "com.example.shop.Address", subject = "address-value", version = 1 }]
//! local_references = [{ name = "com.example.shop.Money", file = "schemas/money.avsc" }]
//! metadata = { properties = { owner = "shop-team" } }
//! rule_set_file = "rules/orders.json"        # or an inline `rule_set = { ... }`
//!
//! [[download]]
//! pattern = "orders-.*"                      # or subject = "..."
//! version = 3                                # optional: latest by default
//! output_dir = "downloaded"
//! metadata = true                            # also write <subject>-metadata.json
//! ```
//!
//! Remote references name a schema registered under another subject (version `-1` or no
//! version means latest, resolved when the command runs). Local references are inlined into the
//! schema before it is sent, as the plugin does: an Avro named type replaces the first use of
//! its name, a JSON Schema file goes under `$defs` (and `$ref`s naming the file point there),
//! and a Protobuf file's definitions replace its `import` (same package only).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use charter_serde::client::{CompatibilityLevel, Schema, SchemaReference};
use charter_serde::SchemaType;
use serde::Deserialize;
use serde_json::Value;

use super::{CliError, Result};

/// The parsed project file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Where `charter schema register` writes its CSV (relative to the project file).
    #[serde(default)]
    pub registered_csv: Option<PathBuf>,
    /// Subjects and their schema files.
    #[serde(default, rename = "subject")]
    pub subjects: Vec<SubjectEntry>,
    /// What `charter schema download` fetches when no subject is given on the command line.
    #[serde(default, rename = "download")]
    pub downloads: Vec<DownloadEntry>,
    /// The directory of the project file; paths are relative to it.
    #[serde(skip)]
    pub base: PathBuf,
}

/// One `[[subject]]`: a schema file registered under a subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectEntry {
    /// The subject.
    pub subject: String,
    /// The schema file.
    pub file: PathBuf,
    /// `AVRO`, `JSON` or `PROTOBUF`; from the file extension when absent.
    #[serde(default, rename = "type")]
    pub schema_type: Option<String>,
    /// Register with `normalize=true`.
    #[serde(default)]
    pub normalize: bool,
    /// The subject's compatibility level, set by `charter schema config`.
    #[serde(default)]
    pub compatibility: Option<String>,
    /// References to schemas registered under other subjects.
    #[serde(default)]
    pub references: Vec<RemoteReference>,
    /// Schema files inlined before upload.
    #[serde(default)]
    pub local_references: Vec<LocalReference>,
    /// Data-contract metadata, inline.
    #[serde(default)]
    pub metadata: Option<toml::Value>,
    /// Data-contract metadata, from a JSON file.
    #[serde(default)]
    pub metadata_file: Option<PathBuf>,
    /// Data-contract rule set, inline.
    #[serde(default)]
    pub rule_set: Option<toml::Value>,
    /// Data-contract rule set, from a JSON file.
    #[serde(default)]
    pub rule_set_file: Option<PathBuf>,
}

/// A reference to a schema under another subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteReference {
    /// The name the schema uses (Avro full name, JSON `$ref`, Protobuf import path).
    pub name: String,
    /// The referenced subject.
    pub subject: String,
    /// Its version; latest when absent or -1.
    #[serde(default)]
    pub version: Option<i32>,
}

/// A schema file inlined into the schema that names it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalReference {
    /// The name the schema uses (Avro full name, JSON `$ref`, Protobuf import path).
    pub name: String,
    /// The file.
    pub file: PathBuf,
}

/// One `[[download]]` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadEntry {
    /// One subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Every subject matching this regular expression (whole name).
    #[serde(default)]
    pub pattern: Option<String>,
    /// A version; latest when absent.
    #[serde(default)]
    pub version: Option<i32>,
    /// Where to write the files (relative to the project file); default `downloaded`.
    #[serde(default)]
    pub output_dir: Option<PathBuf>,
    /// Also write `<subject>-metadata.json`.
    #[serde(default)]
    pub metadata: bool,
    /// Also download referenced schemas (default true).
    #[serde(default = "yes")]
    pub references: bool,
}

fn yes() -> bool {
    true
}

impl Project {
    /// Reads and checks the project file at `path`.
    pub fn load(path: &Path) -> Result<Project> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::Input(format!("cannot read project file {}: {e}", path.display()))
        })?;
        let mut project: Project = toml::from_str(&text)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
        project.base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        for s in &project.subjects {
            s.schema_type()?;
            if let Some(level) = &s.compatibility {
                parse_level(level)?;
            }
        }
        for d in &project.downloads {
            if d.subject.is_some() == d.pattern.is_some() {
                return Err(CliError::Input(format!(
                    "{}: each [[download]] needs exactly one of `subject` or `pattern`",
                    path.display()
                )));
            }
        }
        Ok(project)
    }

    /// `path` relative to the project file.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base.join(path)
        }
    }

    /// The CSV `schema register` writes.
    pub fn registered_csv_path(&self) -> PathBuf {
        self.resolve(
            self.registered_csv
                .as_deref()
                .unwrap_or(Path::new("registered.csv")),
        )
    }

    /// The entries selected by `only` (all when empty); an unknown name is a usage error.
    pub fn select(&self, only: &[String]) -> Result<Vec<&SubjectEntry>> {
        for name in only {
            if !self.subjects.iter().any(|s| &s.subject == name) {
                return Err(CliError::Usage(format!(
                    "subject {name} is not listed in the project file"
                )));
            }
        }
        Ok(self
            .subjects
            .iter()
            .filter(|s| only.is_empty() || only.contains(&s.subject))
            .collect())
    }
}

/// Parses a compatibility level name (`BACKWARD`, `full_transitive`...).
pub fn parse_level(level: &str) -> Result<CompatibilityLevel> {
    serde_json::from_value(Value::String(level.trim().to_ascii_uppercase())).map_err(|_| {
        CliError::Usage(format!(
            "unknown compatibility level {level:?} (NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, \
             FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE)"
        ))
    })
}

/// The name of a compatibility level, as the registry spells it.
pub fn level_name(level: CompatibilityLevel) -> String {
    serde_json::to_value(level)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn read_json_file(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Input(format!("{} is not JSON: {e}", path.display())))
}

impl SubjectEntry {
    /// The schema format, from `type` or the file extension.
    pub fn schema_type(&self) -> Result<SchemaType> {
        if let Some(t) = &self.schema_type {
            return t.to_ascii_uppercase().parse().map_err(|_| {
                CliError::Input(format!(
                    "subject {}: unknown type {t:?} (AVRO, JSON, PROTOBUF)",
                    self.subject
                ))
            });
        }
        match self.file.extension().and_then(|e| e.to_str()) {
            Some("avsc") | Some("avro") => Ok(SchemaType::Avro),
            Some("json") => Ok(SchemaType::Json),
            Some("proto") => Ok(SchemaType::Protobuf),
            _ => Err(CliError::Input(format!(
                "subject {}: cannot tell the format of {} from its extension; set `type`",
                self.subject,
                self.file.display()
            ))),
        }
    }

    /// The request to send: the file's text with local references inlined, remote references
    /// (version -1 for latest), metadata and rule set.
    pub fn build(&self, project: &Project) -> Result<Schema> {
        let schema_type = self.schema_type()?;
        let path = project.resolve(&self.file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CliError::Input(format!(
                "subject {}: cannot read {}: {e}",
                self.subject,
                path.display()
            ))
        })?;
        let mut locals = Vec::new();
        for l in &self.local_references {
            let p = project.resolve(&l.file);
            let t = std::fs::read_to_string(&p).map_err(|e| {
                CliError::Input(format!(
                    "subject {}: cannot read local reference {}: {e}",
                    self.subject,
                    p.display()
                ))
            })?;
            locals.push((l.name.clone(), t));
        }
        let text = if locals.is_empty() {
            text
        } else {
            inline_local(schema_type, &text, &locals)
                .map_err(|e| CliError::Input(format!("subject {}: {e}", self.subject)))?
        };
        let metadata = match (&self.metadata, &self.metadata_file) {
            (Some(v), _) => Some(toml_to_json(v)),
            (None, Some(f)) => Some(read_json_file(&project.resolve(f))?),
            (None, None) => None,
        };
        let rule_set = match (&self.rule_set, &self.rule_set_file) {
            (Some(v), _) => Some(toml_to_json(v)),
            (None, Some(f)) => Some(read_json_file(&project.resolve(f))?),
            (None, None) => None,
        };
        Ok(Schema {
            schema: text,
            schema_type,
            references: self
                .references
                .iter()
                .map(|r| SchemaReference::new(&r.name, &r.subject, r.version.unwrap_or(-1)))
                .collect(),
            metadata,
            rule_set,
        })
    }
}

/// Inlines local references into `text` (see the module documentation).
pub fn inline_local(
    schema_type: SchemaType,
    text: &str,
    locals: &[(String, String)],
) -> Result<String, String> {
    match schema_type {
        SchemaType::Avro => inline_avro(text, locals),
        SchemaType::Json => inline_json(text, locals),
        SchemaType::Protobuf => inline_proto(text, locals),
    }
}

/// Avro: the first use of each local type's name (in document order, which is the order Avro
/// defines names in) becomes the type's definition; later uses stay names. Repeated until no
/// more substitutions happen, so local types may use each other.
fn inline_avro(text: &str, locals: &[(String, String)]) -> Result<String, String> {
    let mut root: Value =
        serde_json::from_str(text).map_err(|e| format!("the schema is not JSON: {e}"))?;
    let mut pending: BTreeMap<String, Value> = BTreeMap::new();
    for (name, t) in locals {
        let v: Value = serde_json::from_str(t)
            .map_err(|e| format!("local reference {name} is not JSON: {e}"))?;
        pending.insert(name.clone(), v);
    }
    loop {
        let before = pending.len();
        let names: Vec<String> = pending.keys().cloned().collect();
        for name in names {
            let Some(def) = pending.get(&name).cloned() else {
                continue;
            };
            if substitute_avro(&mut root, "", &name, &def) {
                pending.remove(&name);
            }
        }
        if pending.is_empty() {
            break;
        }
        if pending.len() == before {
            let missing: Vec<_> = pending.keys().cloned().collect();
            return Err(format!(
                "local reference(s) not used by the schema: {}",
                missing.join(", ")
            ));
        }
    }
    serde_json::to_string_pretty(&root).map_err(|e| e.to_string())
}

/// The full name of a name written in namespace `ns`.
fn avro_full(name: &str, ns: &str) -> String {
    if name.contains('.') || ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}.{name}")
    }
}

/// Replaces the first use of `full` in `v` (namespace `ns`) with `def`; true if it did.
fn substitute_avro(v: &mut Value, ns: &str, full: &str, def: &Value) -> bool {
    match v {
        Value::String(s) if avro_full(s, ns) == full => {
            *v = def.clone();
            true
        }
        Value::Array(items) => items.iter_mut().any(|i| substitute_avro(i, ns, full, def)),
        Value::Object(obj) => {
            // A named type sets the namespace for what it contains.
            let mut inner_ns = ns.to_string();
            if let Some(Value::String(n)) = obj.get("name") {
                if obj.get("type").is_some_and(|t| {
                    matches!(t.as_str(), Some("record" | "enum" | "fixed" | "error"))
                }) {
                    let explicit = obj.get("namespace").and_then(Value::as_str);
                    let fullname = match explicit {
                        _ if n.contains('.') => n.clone(),
                        Some(x) if !x.is_empty() => format!("{x}.{n}"),
                        Some(_) => n.clone(),
                        None => avro_full(n, ns),
                    };
                    inner_ns = fullname
                        .rsplit_once('.')
                        .map(|(a, _)| a.to_string())
                        .unwrap_or_default();
                }
            }
            for key in ["type", "items", "values", "fields"] {
                if let Some(child) = obj.get_mut(key) {
                    if substitute_avro(child, &inner_ns, full, def) {
                        return true;
                    }
                }
            }
            false
        }
        _ => false,
    }
}

/// JSON Schema: each local file goes under `$defs/<name>`; `$ref`s equal to the name (or
/// starting with `name#`) are rewritten to point there.
fn inline_json(text: &str, locals: &[(String, String)]) -> Result<String, String> {
    let mut root: Value =
        serde_json::from_str(text).map_err(|e| format!("the schema is not JSON: {e}"))?;
    let mut defs = Vec::new();
    for (name, t) in locals {
        let mut v: Value = serde_json::from_str(t)
            .map_err(|e| format!("local reference {name} is not JSON: {e}"))?;
        if let Value::Object(o) = &mut v {
            // A nested `$id` would change how refs inside the definition resolve.
            o.remove("$id");
            o.remove("$schema");
        }
        defs.push((name.clone(), v));
    }
    for (name, _) in &defs {
        rewrite_refs(&mut root, name);
    }
    for (_, def) in defs.iter_mut() {
        for (name, _) in locals {
            rewrite_refs(def, name);
        }
    }
    let Value::Object(obj) = &mut root else {
        return Err("a JSON Schema with local references must be an object".into());
    };
    let entry = obj
        .entry("$defs")
        .or_insert_with(|| Value::Object(Default::default()));
    let Value::Object(d) = entry else {
        return Err("`$defs` is not an object".into());
    };
    for (name, def) in defs {
        d.insert(name, def);
    }
    serde_json::to_string_pretty(&root).map_err(|e| e.to_string())
}

fn json_pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn rewrite_refs(v: &mut Value, name: &str) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref") {
                let target = format!("#/$defs/{}", json_pointer_escape(name));
                if r == name {
                    *r = target;
                } else if let Some(rest) = r.strip_prefix(&format!("{name}#")) {
                    *r = format!("{target}{rest}");
                }
            }
            for (_, child) in o.iter_mut() {
                rewrite_refs(child, name);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rewrite_refs(c, name)),
        _ => {}
    }
}

/// Protobuf: `import "name";` is replaced by the imported file's definitions (its `syntax`,
/// `package` and `option` lines dropped, its own imports hoisted). Both files must share a
/// package, since type names are not rewritten.
fn inline_proto(text: &str, locals: &[(String, String)]) -> Result<String, String> {
    let package_of = |t: &str| -> Option<String> {
        t.lines()
            .map(str::trim)
            .find(|l| l.starts_with("package "))
            .map(|l| {
                l.trim_start_matches("package ")
                    .trim_end_matches(';')
                    .trim()
                    .to_string()
            })
    };
    let main_pkg = package_of(text);
    let mut out = text.to_string();
    let mut hoisted: Vec<String> = Vec::new();
    for (name, t) in locals {
        if package_of(t) != main_pkg {
            return Err(format!(
                "local reference {name} has another package than the schema; use a remote reference"
            ));
        }
        let import_line = format!("import \"{name}\";");
        if !out.lines().any(|l| l.trim() == import_line) {
            return Err(format!("the schema does not import {name}"));
        }
        let mut body = String::new();
        for line in t.lines() {
            let l = line.trim();
            if l.starts_with("syntax ") || l.starts_with("package ") || l.starts_with("option ") {
                continue;
            }
            if l.starts_with("import ") {
                hoisted.push(l.to_string());
                continue;
            }
            body.push_str(line);
            body.push('\n');
        }
        out = out
            .lines()
            .filter(|l| l.trim() != import_line)
            .collect::<Vec<_>>()
            .join("\n");
        out.push_str("\n\n");
        out.push_str(body.trim());
        out.push('\n');
    }
    // Hoisted imports go after the package line, each once, unless they were inlined too.
    hoisted.retain(|imp| {
        !locals
            .iter()
            .any(|(n, _)| imp == &format!("import \"{n}\";"))
            && !out.lines().any(|l| l.trim() == imp)
    });
    hoisted.dedup();
    if !hoisted.is_empty() {
        let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
        let at = lines
            .iter()
            .position(|l| l.trim().starts_with("package ") || l.trim().starts_with("syntax "))
            .map(|i| i + 1)
            .unwrap_or(0);
        for (i, imp) in hoisted.into_iter().enumerate() {
            lines.insert(at + i, imp);
        }
        out = lines.join("\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avro_first_use_becomes_the_definition() {
        let main = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
            {"name":"a","type":"Money"},{"name":"b","type":"shop.Money"}]}"#;
        let money = r#"{"type":"record","name":"Money","namespace":"shop","fields":[{"name":"c","type":"long"}]}"#;
        let out = inline_avro(main, &[("shop.Money".into(), money.into())]).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["fields"][0]["type"]["name"], "Money");
        assert_eq!(v["fields"][1]["type"], "shop.Money");
    }

    #[test]
    fn avro_nested_locals_and_unused() {
        let main = r#"{"type":"record","name":"A","fields":[{"name":"b","type":"B"}]}"#;
        let b = r#"{"type":"record","name":"B","fields":[{"name":"c","type":"C"}]}"#;
        let c = r#"{"type":"enum","name":"C","symbols":["X"]}"#;
        let out = inline_avro(main, &[("C".into(), c.into()), ("B".into(), b.into())]).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["fields"][0]["type"]["fields"][0]["type"]["type"], "enum");
        assert!(inline_avro(main, &[("Z".into(), c.into())])
            .unwrap_err()
            .contains("not used"));
    }

    #[test]
    fn json_goes_under_defs() {
        let main = r#"{"type":"object","properties":{"a":{"$ref":"address.json"}}}"#;
        let addr = r#"{"$id":"x","type":"object"}"#;
        let out = inline_json(main, &[("address.json".into(), addr.into())]).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["properties"]["a"]["$ref"], "#/$defs/address.json");
        assert_eq!(
            v["$defs"]["address.json"],
            serde_json::json!({"type":"object"})
        );
    }

    #[test]
    fn proto_import_is_flattened() {
        let main = "syntax = \"proto3\";\npackage p;\nimport \"money.proto\";\nmessage A { Money m = 1; }\n";
        let money = "syntax = \"proto3\";\npackage p;\nimport \"google/protobuf/timestamp.proto\";\nmessage Money { int64 c = 1; }\n";
        let out = inline_proto(main, &[("money.proto".into(), money.into())]).unwrap();
        assert!(!out.contains("import \"money.proto\""));
        assert!(out.contains("message Money"));
        assert!(out.contains("import \"google/protobuf/timestamp.proto\";"));
        let other = "syntax = \"proto3\";\npackage q;\nmessage Money {}\n";
        assert!(inline_proto(main, &[("money.proto".into(), other.into())]).is_err());
    }
}
