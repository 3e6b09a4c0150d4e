//! Errors of the registry client.

/// Why a registry call failed.
///
/// Registry answers other than 2xx are [`Error::Registry`] and carry the HTTP status and
/// Confluent's `error_code` (for example 404/40401 "Subject not found", 409 incompatible,
/// 422/42201 invalid schema). A body that is not a Confluent error gets `error_code` 50005,
/// as in Confluent's Java client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry answered with a non-2xx status.
    #[error("registry error {status} (error_code {error_code}): {message}")]
    Registry {
        /// The HTTP status.
        status: u16,
        /// Confluent's `error_code` (for example 40401, 40403, 42201).
        error_code: i32,
        /// Confluent's `message`.
        message: String,
    },
    /// No answer: connection refused or reset, timeout, TLS failure, and so on.
    #[error("transport error calling {url}: {source}")]
    Transport {
        /// The URL that was called.
        url: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// The registry answered 2xx, but the body is not what the call expects.
    #[error("cannot decode the registry's answer from {url}: {message}")]
    Decode {
        /// The URL that was called.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The client configuration is unusable (bad URL, bad certificate, bad header).
    #[error("invalid registry client configuration: {0}")]
    Config(String),
    /// A bearer-token provider failed.
    #[error("bearer token provider failed: {0}")]
    Token(String),
    /// The blocking facade's runtime could not run the call.
    #[error("registry client runtime: {0}")]
    Runtime(String),
}

/// The statuses Confluent's Java and Python clients retry (and fail over on): 408, 429, 500,
/// 502, 503, 504.
pub fn is_retriable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

impl Error {
    /// Whether retrying the call (or calling another registry URL) may succeed: transport
    /// errors and the statuses of [`is_retriable_status`]. Everything else (404, 409, 422,
    /// 401, 403, decoding errors) is permanent.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Registry { status, .. } => is_retriable_status(*status),
            Error::Transport { .. } => true,
            Error::Decode { .. } | Error::Config(_) | Error::Token(_) | Error::Runtime(_) => false,
        }
    }

    /// The HTTP status of a registry error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Registry { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Confluent's `error_code` of a registry error.
    pub fn error_code(&self) -> Option<i32> {
        match self {
            Error::Registry { error_code, .. } => Some(*error_code),
            _ => None,
        }
    }

    /// `true` for a 404 answer (unknown subject, version or schema id).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

/// The result type of the registry client.
pub type Result<T, E = Error> = std::result::Result<T, E>;
