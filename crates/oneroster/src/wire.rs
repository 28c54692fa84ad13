//! Envelopes shared by the server, the client SDK and the CLI.

use serde::{Deserialize, Serialize};

/// The 1.2 `imsx_codeMinor` vocabulary (rostering) that we emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeMinor {
    #[serde(rename = "invalid_filter_field")]
    InvalidFilterField,
    #[serde(rename = "invalid_selection_field")]
    InvalidSelectionField,
    #[serde(rename = "invaliddata")]
    InvalidData,
    #[serde(rename = "unauthorisedrequest")]
    UnauthorisedRequest,
    #[serde(rename = "forbidden")]
    Forbidden,
    #[serde(rename = "server_busy")]
    ServerBusy,
    #[serde(rename = "unknownobject")]
    UnknownObject,
    #[serde(rename = "internal_server_error")]
    InternalServerError,
}

/// The OneRoster error body, `imsx_StatusInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusInfo {
    #[serde(rename = "imsx_codeMajor")]
    pub code_major: String,
    #[serde(rename = "imsx_severity")]
    pub severity: String,
    #[serde(rename = "imsx_description")]
    pub description: String,
    #[serde(rename = "imsx_CodeMinor")]
    pub code_minor: CodeMinorList,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeMinorList {
    #[serde(rename = "imsx_codeMinorField")]
    pub fields: Vec<CodeMinorField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeMinorField {
    #[serde(rename = "imsx_codeMinorFieldName")]
    pub name: String,
    #[serde(rename = "imsx_codeMinorFieldValue")]
    pub value: CodeMinor,
}

impl StatusInfo {
    /// A `failure`/`error` body, the only kind 1.2 sends (success has no body).
    pub fn failure(code: CodeMinor, description: impl Into<String>) -> Self {
        Self {
            code_major: "failure".into(),
            severity: "error".into(),
            description: description.into(),
            code_minor: CodeMinorList {
                fields: vec![CodeMinorField {
                    name: "TargetEndSystem".into(),
                    value: code,
                }],
            },
        }
    }
}

/// The token endpoint's success body (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}
