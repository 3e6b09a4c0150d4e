//! Every way a registry request can fail, and its Confluent error code.
//!
//! The mapping to HTTP status and `error_code` lives here and only here
//! (see [`RegistryError::status`] and [`RegistryError::error_code`]); the REST layer renders
//! `{"error_code": …, "message": …}` from it. Client mistakes are never 5xx: Confluent clients
//! retry 5xx responses.

use crate::model::Version;

/// A failed registry operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {0} not found.")]
    VersionNotFound(i64),
    #[error("Schema {0} not found")]
    SchemaIdNotFound(i64),
    #[error("Schema not found")]
    SchemaNotFound,
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error("Subject '{0}' Version {1} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, Version),
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, Version),
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectConfigNotFound(String),
    #[error("Subject '{0}' does not have subject-level mode configured")]
    SubjectModeNotFound(String),
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]", .messages.join(", "))]
    Incompatible {
        subject: String,
        messages: Vec<String>,
    },
    /// The message is complete, e.g. `Invalid schema of type AVRO, details: …` or `Empty schema`.
    #[error("{0}")]
    InvalidSchema(String),
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidCompatibilityLevel,
    #[error("Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT.")]
    InvalidMode,
    #[error("{0}")]
    OperationNotPermitted(String),
    #[error("One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={0},version={1}}}.")]
    Referenced(String, Version),
    #[error("The specified subject '{0}' is not a valid.")]
    InvalidSubject(String),
    #[error("Error while storing the schema: {0}")]
    Store(String),
    /// A replicated write planned against state that changed before it committed; the
    /// registry plans it again (see `replicated.rs`), so clients see this only when that keeps
    /// failing.
    #[error("Error while storing the schema: concurrent writes kept changing the registry ({0})")]
    Stale(String),

    // Errors of the HTTP framing, with Confluent's (rest-utils) texts.
    #[error("HTTP 404 Not Found")]
    NotFound,
    #[error("HTTP 405 Method Not Allowed")]
    MethodNotAllowed,
    #[error("HTTP 406 Not Acceptable")]
    NotAcceptable,
    #[error("HTTP 415 Unsupported Media Type")]
    UnsupportedMediaType,
    #[error("Request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// Malformed or unmappable JSON; the message says where.
    #[error("{0}")]
    BadRequest(String),
    /// A request that parses but is missing what it needs.
    #[error("{0}")]
    Unprocessable(String),
}

impl RegistryError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        use RegistryError::*;
        match self {
            SubjectNotFound(_)
            | VersionNotFound(_)
            | SchemaIdNotFound(_)
            | SchemaNotFound
            | SubjectSoftDeleted(_)
            | SubjectNotSoftDeleted(_)
            | VersionSoftDeleted(..)
            | VersionNotSoftDeleted(..)
            | SubjectConfigNotFound(_)
            | SubjectModeNotFound(_)
            | NotFound => 404,
            Incompatible { .. } => 409,
            InvalidSchema(_)
            | InvalidVersion(_)
            | InvalidCompatibilityLevel
            | InvalidMode
            | OperationNotPermitted(_)
            | Referenced(..)
            | InvalidSubject(_)
            | Unprocessable(_) => 422,
            Store(_) | Stale(_) => 500,
            MethodNotAllowed => 405,
            NotAcceptable => 406,
            UnsupportedMediaType => 415,
            PayloadTooLarge(_) => 413,
            BadRequest(_) => 400,
        }
    }

    /// Confluent's `error_code`.
    pub fn error_code(&self) -> u32 {
        use RegistryError::*;
        match self {
            SubjectNotFound(_) => 40401,
            VersionNotFound(_) => 40402,
            SchemaIdNotFound(_) | SchemaNotFound => 40403,
            SubjectSoftDeleted(_) => 40404,
            SubjectNotSoftDeleted(_) => 40405,
            VersionSoftDeleted(..) => 40406,
            VersionNotSoftDeleted(..) => 40407,
            SubjectConfigNotFound(_) => 40408,
            SubjectModeNotFound(_) => 40409,
            // Confluent 7.x and early 8.x answer 409; clients key off the HTTP status.
            Incompatible { .. } => 409,
            InvalidSchema(_) => 42201,
            InvalidVersion(_) => 42202,
            InvalidCompatibilityLevel => 42203,
            InvalidMode => 42204,
            OperationNotPermitted(_) => 42205,
            Referenced(..) => 42206,
            InvalidSubject(_) => 42208,
            Store(_) | Stale(_) => 50001,
            NotFound => 404,
            MethodNotAllowed => 405,
            NotAcceptable => 406,
            UnsupportedMediaType => 415,
            PayloadTooLarge(_) => 413,
            BadRequest(_) => 400,
            Unprocessable(_) => 422,
        }
    }
}
