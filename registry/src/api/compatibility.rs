//! `/compatibility/*`: may this schema be registered?

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::entities::SchemaBody;
use super::extract::{parse_version, JsonBody, Params};
use super::AppState;
use crate::compat::CompatibilityResult;
use crate::error::RegistryError;

/// `POST /compatibility/subjects/{s}/versions`: against every version registration would use.
pub async fn against_all(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Json<Value>, RegistryError> {
    let verbose = params.bool(&["verbose"]);
    let req = body.into_request()?;
    let r = reg.check_compatibility(&subject, None, &req, params.bool(&["normalize"]), verbose)?;
    Ok(Json(result_json(r, verbose)))
}

/// `POST /compatibility/subjects/{s}/versions/{v}`: against that one version.
pub async fn against_version(
    State(reg): State<AppState>,
    Path((subject, v)): Path<(String, String)>,
    params: Params,
    JsonBody(body): JsonBody<SchemaBody>,
) -> Result<Json<Value>, RegistryError> {
    let verbose = params.bool(&["verbose"]);
    let spec = parse_version(&v)?;
    let req = body.into_request()?;
    let r = reg.check_compatibility(
        &subject,
        Some(spec),
        &req,
        params.bool(&["normalize"]),
        verbose,
    )?;
    Ok(Json(result_json(r, verbose)))
}

/// `messages` appears only with `verbose=true`.
fn result_json(r: CompatibilityResult, verbose: bool) -> Value {
    if verbose {
        json!({"is_compatible": r.is_compatible, "messages": r.messages})
    } else {
        json!({"is_compatible": r.is_compatible})
    }
}
