//! `/`, `/v1/metadata/*` and `/schemas/*`: root, cluster metadata and schemas by id.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::entities::{schema_json, version_json};
use super::extract::Params;
use super::AppState;
use crate::error::RegistryError;
use crate::model::SchemaId;
use crate::schema::SUPPORTED_TYPES;

/// `GET /` and `POST /`: the liveness no-op.
pub async fn root() -> Json<Value> {
    Json(json!({}))
}

/// `GET /v1/metadata/id`.
pub async fn cluster_id(State(reg): State<AppState>) -> Json<Value> {
    Json(json!({
        "scope": {
            "path": [],
            "clusters": {
                "kafka-cluster": reg.cluster_id(),
                "schema-registry-cluster": "schema-registry"
            }
        }
    }))
}

/// `GET /v1/metadata/version`.
pub async fn server_version() -> Json<Value> {
    Json(json!({"version": env!("CARGO_PKG_VERSION"), "commitId": "charter"}))
}

/// `GET /schemas/types`.
pub async fn types() -> Json<Value> {
    Json(json!(SUPPORTED_TYPES
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()))
}

/// A non-integer id is a 404, as JAX-RS answers a failed path conversion.
fn parse_id(id: &str) -> Result<SchemaId, RegistryError> {
    id.trim().parse().map_err(|_| RegistryError::NotFound)
}

/// `GET /schemas/ids/{id}`.
pub async fn by_id(
    State(reg): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let schema = reg.schema_by_id(parse_id(&id)?)?;
    let text = reg.formatted(&schema, params.str(&["format"]));
    let max_id = params.bool(&["fetchMaxId"]).then(|| reg.max_id());
    Ok(Json(schema_json(&schema, text, max_id)))
}

/// `GET /schemas/guids/{guid}` (Confluent 8.x): the schema a header-mode record names. The
/// answer is `GET /schemas/ids/{id}`'s plus the `id`.
pub async fn by_guid(
    State(reg): State<AppState>,
    Path(guid): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let id = reg
        .id_for_guid(&guid.trim().to_ascii_lowercase())
        .ok_or(RegistryError::SchemaNotFound)?;
    let schema = reg.schema_by_id(id)?;
    let text = reg.formatted(&schema, params.str(&["format"]));
    let mut out = schema_json(&schema, text, None);
    if let Some(m) = out.as_object_mut() {
        m.insert("id".into(), json!(id));
    }
    Ok(Json(out))
}

/// `GET /schemas/ids/{id}/schema`: the raw schema text.
pub async fn by_id_raw(
    State(reg): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, RegistryError> {
    let schema = reg.schema_by_id(parse_id(&id)?)?;
    Ok(reg
        .formatted(&schema, params.str(&["format"]))
        .into_response())
}

/// `GET /schemas/ids/{id}/subjects`.
pub async fn id_subjects(
    State(reg): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let deleted = params.bool(&["deleted"]);
    let filter = params.str(&["subject"]);
    let mut subjects: Vec<String> = reg
        .id_usages(parse_id(&id)?)?
        .into_iter()
        .filter(|(s, _, d)| (deleted || !d) && filter.is_none_or(|f| f == s))
        .map(|(s, _, _)| s)
        .collect();
    subjects.dedup();
    Ok(Json(json!(params.paginate(
        subjects,
        usize::MAX,
        usize::MAX
    )?)))
}

/// `GET /schemas/ids/{id}/versions`.
pub async fn id_versions(
    State(reg): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let deleted = params.bool(&["deleted"]);
    let filter = params.str(&["subject"]);
    let versions: Vec<Value> = reg
        .id_usages(parse_id(&id)?)?
        .into_iter()
        .filter(|(s, _, d)| (deleted || !d) && filter.is_none_or(|f| f == s))
        .map(|(s, v, _)| json!({"subject": s, "version": v}))
        .collect();
    Ok(Json(json!(params.paginate(
        versions,
        usize::MAX,
        usize::MAX
    )?)))
}

/// `GET /schemas`: subject-versions with their schemas; default and maximum page 1000.
pub async fn list(
    State(reg): State<AppState>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let prefix = params.str(&["subjectPrefix"]).unwrap_or("");
    let all = reg.all_versions(
        prefix,
        params.bool(&["deleted"]),
        params.bool(&["latestOnly"]),
    );
    let page = params.paginate(all, 1000, 1000)?;
    let out: Vec<Value> = page
        .iter()
        .map(|v| version_json(v, v.schema.content.schema.clone()))
        .collect();
    Ok(Json(Value::Array(out)))
}
