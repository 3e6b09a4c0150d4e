// TEMPORARY STUB written by the lead so the registry compiles; helper-1 replaces this whole file.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions { pub validate: bool }
#[derive(Debug, Clone)]
pub struct AvroSchema { text: String }
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct AvroError(String);
impl AvroSchema {
    pub fn parse(text: &str, _references: &[&str], _opts: ParseOptions) -> Result<AvroSchema, AvroError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| AvroError(e.to_string()))?;
        Ok(AvroSchema { text: v.to_string() })
    }
    pub fn canonical(&self) -> String { self.text.clone() }
    pub fn normalized(&self) -> String { self.text.clone() }
    pub fn resolved(&self) -> String { self.text.clone() }
    pub fn full_name(&self) -> Option<String> { None }
}
