//! Reading and writing catalog documents as YAML or JSON, with errors that give the path.

use super::spec::CatalogDocument;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// From a file name: `.json` is JSON, anything else YAML (a superset of JSON).
    pub fn of_path(path: &str) -> Format {
        if path.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

fn unreadable(path: String, message: String) -> AppError {
    AppError::BadRequest {
        code: "unreadable_catalog",
        field: Some(path).filter(|p| p != "."),
        message,
    }
}

pub fn parse(text: &str, format: Format) -> AppResult<CatalogDocument> {
    match format {
        Format::Json => {
            let de = &mut serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de)
                .map_err(|e| unreadable(e.path().to_string(), e.into_inner().to_string()))
        }
        Format::Yaml => {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de)
                .map_err(|e| unreadable(e.path().to_string(), e.into_inner().to_string()))
        }
    }
}

pub fn render(doc: &CatalogDocument, format: Format) -> AppResult<String> {
    match format {
        Format::Json => serde_json::to_string_pretty(doc)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| AppError::Internal(e.to_string())),
        Format::Yaml => {
            serde_yaml_ng::to_string(doc).map_err(|e| AppError::Internal(e.to_string()))
        }
    }
}
