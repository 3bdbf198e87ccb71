//! An example IoT API guarded by Keygate: devices and their measurements, kept in memory, every
//! route guarded by `keygate_client` with a permission on the resource `device:{id}` in one
//! workspace.
//!
//! | route | permission | resource |
//! |---|---|---|
//! | `GET /devices` | `devices:read` (held on any device) | lists only the devices the caller may read (`devices:read` on `device:{id}`) |
//! | `GET /devices/{id}` | `devices:read` | `device:{id}` |
//! | `DELETE /devices/{id}` | `devices:delete` | `device:{id}` |
//! | `GET /devices/{id}/measurements` | `measurements:read` | `device:{id}` |
//! | `POST /devices/{id}/measurements` | `measurements:write` | `device:{id}` |
//! | `GET /healthz` | none | none |

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use keygate_client::{Guard, Identity, PresentedToken, Question, Rejection, Verifier};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The devices every new instance starts with.
pub const SEEDED: [(&str, &str); 3] = [
    ("abc", "Boiler room thermometer"),
    ("xyz", "Roof wind sensor"),
    ("demo", "Public demo thermometer"),
];

/// A device and its measurements, oldest first.
#[derive(Debug, Clone)]
struct Device {
    name: String,
    measurements: Vec<Measurement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub time: DateTime<Utc>,
    pub value: f64,
    pub unit: Option<String>,
    /// The Keygate user who posted it.
    pub recorded_by: Option<String>,
}

/// The in-memory device store, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct Devices(Arc<RwLock<BTreeMap<String, Device>>>);

impl Devices {
    /// The [`SEEDED`] devices, each without measurements.
    pub fn seeded() -> Self {
        let devices = SEEDED
            .iter()
            .map(|(id, name)| {
                let device = Device {
                    name: (*name).to_owned(),
                    measurements: Vec::new(),
                };
                ((*id).to_owned(), device)
            })
            .collect();
        Devices(Arc::new(RwLock::new(devices)))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Device>> {
        // A panic while holding the lock leaves plain data behind, still consistent.
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Device>> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
    devices: Devices,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

/// The API over the [`SEEDED`] devices, asking Keygate through `verifier` (whose workspace is the
/// one every route is judged in).
pub fn router(verifier: Verifier) -> Router {
    router_with(verifier, Devices::seeded())
}

/// The API over `devices`.
pub fn router_with(verifier: Verifier, devices: Devices) -> Router {
    let on_device =
        |permission: &str| Guard::new(verifier.clone(), permission).resource("device:{id}");
    Router::new()
        .route(
            "/devices",
            get(list_devices).route_layer(Guard::new(verifier.clone(), "devices:read")),
        )
        .route(
            "/devices/{id}",
            get(show_device)
                .route_layer(on_device("devices:read"))
                .merge(delete(delete_device).route_layer(on_device("devices:delete"))),
        )
        .route(
            "/devices/{id}/measurements",
            get(list_measurements)
                .route_layer(on_device("measurements:read"))
                .merge(post(add_measurement).route_layer(on_device("measurements:write"))),
        )
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .fallback(|| async { ApiError::NotFound("no such route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(AppState { verifier, devices })
}

/// Every refusal and failure, as `{"error":{"code","message"}}`.
#[derive(Debug)]
enum ApiError {
    Keygate(Rejection),
    NotFound(&'static str),
    MethodNotAllowed,
    BadRequest { code: &'static str, message: String },
    UnsupportedMediaType,
    PayloadTooLarge,
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        ApiError::Keygate(r)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            JsonRejection::JsonSyntaxError(_) => ApiError::BadRequest {
                code: "malformed_json",
                message: format!("malformed JSON: {}", innermost(&r)),
            },
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            other => ApiError::BadRequest {
                code: "invalid_body",
                message: format!("invalid request body: {}", innermost(&other)),
            },
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest {
            code: "invalid_path",
            message: r.body_text(),
        }
    }
}

/// The innermost message of a rejection: serde's own words, without axum's preamble.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    inner.to_string()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::Keygate(r) => return r.into_response(),
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what.to_owned()),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route".to_owned(),
            ),
            ApiError::BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "request body too large".to_owned(),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a JSON body with Content-Type: application/json".to_owned(),
            ),
        };
        (
            status,
            Json(json!({"error": {"code": code, "message": message}})),
        )
            .into_response()
    }
}

#[derive(Serialize)]
struct DeviceListJson {
    devices: Vec<DeviceJson>,
}

#[derive(Serialize)]
struct DeviceJson {
    id: String,
    name: String,
    measurements: usize,
}

fn device_json(id: &str, device: &Device) -> DeviceJson {
    DeviceJson {
        id: id.to_owned(),
        name: device.name.clone(),
        measurements: device.measurements.len(),
    }
}

/// The devices the caller may read: the guard checks that `devices:read` is held at all, then
/// each device is asked about (answers come from the verifier's cache after the first call).
async fn list_devices(
    State(state): State<AppState>,
    token: PresentedToken,
) -> Result<Json<DeviceListJson>, ApiError> {
    let all: Vec<(String, Device)> = state
        .devices
        .read()
        .iter()
        .map(|(id, d)| (id.clone(), d.clone()))
        .collect();
    let mut readable = Vec::new();
    for (id, device) in &all {
        let resource = format!("device:{id}");
        let allowed = state
            .verifier
            .allows(Question {
                token: token.as_deref(),
                permission: Some("devices:read"),
                resource: Some(&resource),
                ..Question::default()
            })
            .await
            .map_err(Rejection::from)?;
        if allowed {
            readable.push(device_json(id, device));
        }
    }
    Ok(Json(DeviceListJson { devices: readable }))
}

async fn show_device(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<DeviceJson>, ApiError> {
    let Path(id) = path?;
    let devices = state.devices.read();
    let device = devices
        .get(&id)
        .ok_or(ApiError::NotFound("no such device"))?;
    Ok(Json(device_json(&id, device)))
}

async fn delete_device(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = path?;
    match state.devices.write().remove(&id) {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError::NotFound("no such device")),
    }
}

async fn list_measurements(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(id) = path?;
    let devices = state.devices.read();
    let device = devices
        .get(&id)
        .ok_or(ApiError::NotFound("no such device"))?;
    Ok(Json(
        json!({"device": id, "measurements": device.measurements}),
    ))
}

/// A new measurement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMeasurement {
    value: f64,
    #[serde(default)]
    unit: Option<String>,
}

/// Longest unit accepted, in characters.
const MAX_UNIT: usize = 32;

async fn add_measurement(
    State(state): State<AppState>,
    identity: Identity,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<NewMeasurement>, JsonRejection>,
) -> Result<(StatusCode, Json<Measurement>), ApiError> {
    let Path(id) = path?;
    let Json(new) = body?;
    if new
        .unit
        .as_ref()
        .is_some_and(|u| u.chars().count() > MAX_UNIT)
    {
        return Err(ApiError::BadRequest {
            code: "invalid_body",
            message: format!("unit: at most {MAX_UNIT} characters"),
        });
    }
    let measurement = Measurement {
        time: Utc::now(),
        value: new.value,
        unit: new.unit,
        recorded_by: identity.user_id().map(|u| u.to_string()),
    };
    let mut devices = state.devices.write();
    let device = devices
        .get_mut(&id)
        .ok_or(ApiError::NotFound("no such device"))?;
    device.measurements.push(measurement.clone());
    Ok((StatusCode::CREATED, Json(measurement)))
}
