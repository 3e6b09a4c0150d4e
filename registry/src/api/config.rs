//! `/config` and `/mode`: compatibility levels and registry modes, global and per subject.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use super::entities::{config_json, config_update_json, ConfigBody, ModeBody};
use super::extract::{JsonBody, Params};
use super::AppState;
use crate::error::RegistryError;
use crate::model::{CompatibilityLevel, Config, Mode, CONFIG_EXTRA_KEYS};

fn to_config(body: ConfigBody) -> Result<Config, RegistryError> {
    let level = body.compatibility.or(body.compatibility_level);
    let compatibility = match level {
        None => None,
        Some(l) => Some(
            l.parse::<CompatibilityLevel>()
                .map_err(|_| RegistryError::InvalidCompatibilityLevel)?,
        ),
    };
    let extras = body
        .extras
        .into_iter()
        .filter(|(k, v)| CONFIG_EXTRA_KEYS.contains(&k.as_str()) && !v.is_null())
        .collect();
    Ok(Config {
        compatibility,
        normalize: body.normalize,
        extras,
    })
}

pub async fn get_global(State(reg): State<AppState>) -> Result<Json<Value>, RegistryError> {
    Ok(Json(config_json(&reg.config(None, true)?)))
}

pub async fn put_global(
    State(reg): State<AppState>,
    JsonBody(body): JsonBody<ConfigBody>,
) -> Result<Json<Value>, RegistryError> {
    let stored = reg.set_config(None, to_config(body)?).await?;
    Ok(Json(config_update_json(&stored)))
}

pub async fn delete_global(State(reg): State<AppState>) -> Result<Json<Value>, RegistryError> {
    Ok(Json(config_json(&reg.delete_config(None).await?)))
}

pub async fn get_subject(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    let c = reg.config(Some(&subject), params.bool(&["defaultToGlobal"]))?;
    Ok(Json(config_json(&c)))
}

pub async fn put_subject(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    JsonBody(body): JsonBody<ConfigBody>,
) -> Result<Json<Value>, RegistryError> {
    let stored = reg.set_config(Some(&subject), to_config(body)?).await?;
    Ok(Json(config_update_json(&stored)))
}

pub async fn delete_subject(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
) -> Result<Json<Value>, RegistryError> {
    Ok(Json(config_json(&reg.delete_config(Some(&subject)).await?)))
}

fn to_mode(body: ModeBody) -> Result<Mode, RegistryError> {
    body.mode
        .as_deref()
        .ok_or(RegistryError::InvalidMode)?
        .parse()
        .map_err(|_| RegistryError::InvalidMode)
}

fn mode_json(m: Mode) -> Json<Value> {
    Json(json!({"mode": m.as_str()}))
}

pub async fn get_global_mode(State(reg): State<AppState>) -> Result<Json<Value>, RegistryError> {
    Ok(mode_json(reg.mode(None, true)?))
}

pub async fn put_global_mode(
    State(reg): State<AppState>,
    params: Params,
    JsonBody(body): JsonBody<ModeBody>,
) -> Result<Json<Value>, RegistryError> {
    let m = reg
        .set_mode(None, to_mode(body)?, params.bool(&["force"]))
        .await?;
    Ok(mode_json(m))
}

pub async fn delete_global_mode(State(reg): State<AppState>) -> Result<Json<Value>, RegistryError> {
    Ok(mode_json(reg.delete_mode(None).await?))
}

pub async fn get_subject_mode(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
) -> Result<Json<Value>, RegistryError> {
    Ok(mode_json(
        reg.mode(Some(&subject), params.bool(&["defaultToGlobal"]))?,
    ))
}

pub async fn put_subject_mode(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
    params: Params,
    JsonBody(body): JsonBody<ModeBody>,
) -> Result<Json<Value>, RegistryError> {
    let m = reg
        .set_mode(Some(&subject), to_mode(body)?, params.bool(&["force"]))
        .await?;
    Ok(mode_json(m))
}

pub async fn delete_subject_mode(
    State(reg): State<AppState>,
    Path(subject): Path<String>,
) -> Result<Json<Value>, RegistryError> {
    Ok(mode_json(reg.delete_mode(Some(&subject)).await?))
}
