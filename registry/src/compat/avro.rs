// TEMPORARY STUB written by the lead so the registry compiles; helper-1 replaces this whole file.
use charter_serde::avro::AvroSchema;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    pub error_type: &'static str,
    pub location: String,
    pub message: String,
}
impl Incompatibility {
    pub fn to_confluent_message(&self) -> String {
        self.message.clone()
    }
}
pub fn check(_reader: &AvroSchema, _writer: &AvroSchema) -> Vec<Incompatibility> {
    Vec::new()
}
