//! `/subjects/*`: subjects, versions, registration, lookup and deletes.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::entities::{version_json, SchemaBody};
use super::extract::{parse_version, JsonBody, Params};
use super::AppState;
use crate::error::RegistryError;

/// `GET /subjects`. Also reads `subject`/`deleted_only`, which confluent-kafka-python sends
/// instead of `subjectPrefix`/`deletedOnly`.
pub async fn list(
    State(reg): State<AppState>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let prefix = params.str(&["subjectPrefix", "subject"]).unwrap_or("");
    // `:*:` is Confluent's "all contexts" prefix; with one context it means everything.
    let prefix = if prefix == ":*:" { "" } else { prefix };
    let subjects = reg.subjects(
        prefix,
        params.bool(&["deleted"]),
        params.bool(&["deletedOnly", "deleted_only"]),
    );
    Ok(Json(json!(params.paginate(
        subjects,
        usize::MAX,
        usize::MAX
    )?)))
}

/// `GET /subjects/{s}/versions`.
pub async fn versions(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let versions = reg.versions(
        &subject,
        params.bool(&["deleted"]),
        params.bool(&["deletedOnly", "deleted_only"]),
    )?;
    Ok(Json(json!(params.paginate(
        versions,
        usize::MAX,
        usize::MAX
    )?)))
}

/// `POST /subjects/{s}/versions`: register.
pub async fn register(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Json<Value>, RegistryError> {
    let req = body.into_request()?;
    let r = reg
        .register(&subject, req, params.bool(&["normalize"]))
        .await?;
    let mut out = serde_json::Map::new();
    out.insert("id".into(), json!(r.id));
    out.insert("version".into(), json!(r.version));
    out.insert("guid".into(), json!(r.schema.guid));
    out.insert(
        "schemaType".into(),
        json!(r.schema.content.schema_type.0.as_str()),
    );
    if !r.schema.content.references.is_empty() {
        out.insert("references".into(), json!(r.schema.content.references));
    }
    if let Some(m) = &r.schema.content.metadata {
        out.insert("metadata".into(), m.clone());
    }
    if let Some(rs) = &r.schema.content.rule_set {
        out.insert("ruleSet".into(), rs.clone());
    }
    out.insert("schema".into(), json!(r.schema.content.schema));
    out.insert("ts".into(), json!(r.ts));
    out.insert("deleted".into(), json!(false));
    Ok(Json(Value::Object(out)))
}

/// `POST /subjects/{s}`: lookup.
pub async fn lookup(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Json<Value>, RegistryError> {
    let req = body.into_request()?;
    let v = reg.lookup(
        &subject,
        &req,
        params.bool(&["normalize"]),
        params.bool(&["deleted"]),
    )?;
    let text = reg.formatted(&v.schema, params.str(&["format"]));
    Ok(Json(version_json(&v, text)))
}

/// Resolves a version and its schema text in the requested `format`.
fn version_get(
    reg: &AppState,
    subject: &str,
    v: &str,
    params: &Params,
) -> Result<(crate::registry::VersionView, String), RegistryError> {
    let spec = parse_version(v)?;
    let view = reg.version(subject, spec, params.bool(&["deleted"]))?;
    let text = reg.formatted(&view.schema, params.str(&["format"]));
    Ok((view, text))
}

/// `GET /subjects/{s}/versions/{v}`.
pub async fn get_version(
    State(reg): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let (view, text) = version_get(&reg, &subject, &v, &params)?;
    Ok(Json(version_json(&view, text)))
}

/// `GET /subjects/{s}/metadata?key=k&value=v[&key=..&value=..]`: the latest version whose
/// metadata properties carry every pair (keys and values are paired in order, as JAX-RS
/// hands them to Confluent's resource).
pub async fn latest_with_metadata(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let wanted: Vec<(String, String)> = params
        .all("key")
        .iter()
        .cloned()
        .zip(params.all("value").iter().cloned())
        .collect();
    let view = reg.latest_with_metadata(&subject, &wanted, params.bool(&["deleted"]))?;
    let text = reg.formatted(&view.schema, params.str(&["format"]));
    Ok(Json(version_json(&view, text)))
}

/// `GET /subjects/{s}/versions/{v}/schema`: the raw schema text.
pub async fn version_raw(
    State(reg): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
) -> Result<Response, RegistryError> {
    let (_, text) = version_get(&reg, &subject, &v, &params)?;
    Ok(text.into_response())
}

/// `GET /subjects/{s}/versions/{v}/referencedby`.
pub async fn referenced_by(
    State(reg): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let ids = reg.referenced_by(&subject, parse_version(&v)?, params.bool(&["deleted"]))?;
    Ok(Json(json!(params.paginate(ids, 1000, 1000)?)))
}

/// `DELETE /subjects/{s}/versions/{v}`: answers the bare version number.
pub async fn delete_version(
    State(reg): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let deleted = reg
        .delete_version(&subject, parse_version(&v)?, params.bool(&["permanent"]))
        .await?;
    Ok(Json(json!(deleted)))
}

/// `DELETE /subjects/{s}`: answers the deleted version numbers.
pub async fn delete(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let versions = reg
        .delete_subject(&subject, params.bool(&["permanent"]))
        .await?;
    Ok(Json(json!(versions)))
}
