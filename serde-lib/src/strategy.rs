//! Subject name strategies: which registry subject a topic's keys or values use.
//!
//! The three Confluent strategies, plus any closure:
//!
//! ```
//! use charter_serde::strategy::{
//!     from_fn, RecordNameStrategy, SubjectNameStrategy, TopicNameStrategy, TopicRecordNameStrategy,
//! };
//!
//! assert_eq!(TopicNameStrategy.subject("orders", false, None).as_deref(), Some("orders-value"));
//! assert_eq!(TopicNameStrategy.subject("orders", true, None).as_deref(), Some("orders-key"));
//! assert_eq!(
//!     RecordNameStrategy.subject("orders", false, Some("com.acme.Order")).as_deref(),
//!     Some("com.acme.Order")
//! );
//! assert_eq!(
//!     TopicRecordNameStrategy.subject("orders", false, Some("com.acme.Order")).as_deref(),
//!     Some("orders-com.acme.Order")
//! );
//! // RecordName strategies need a record name.
//! assert_eq!(RecordNameStrategy.subject("orders", false, None), None);
//!
//! let custom = from_fn(|topic: &str, is_key: bool, _name: Option<&str>| {
//!     Some(format!("team-a.{topic}.{}", if is_key { "k" } else { "v" }))
//! });
//! assert_eq!(custom.subject("orders", true, None).as_deref(), Some("team-a.orders.k"));
//! ```
//!
//! The record name is the fully-qualified name of the schema's type; [`record_name`] finds it
//! for each format. Confluent's newer default, `AssociatedNameStrategy` (ask the registry's
//! associations API which subject is bound to a topic), is not implemented; a custom strategy
//! can wrap one.

use std::fmt;
use std::sync::Arc;

/// Chooses the subject of a topic's keys or values.
pub trait SubjectNameStrategy: Send + Sync {
    /// The subject for `topic`'s keys (`is_key`) or values, given the full name of the record
    /// type being written or read (when known). `None` when the strategy cannot name a subject
    /// from this input (a record-name strategy without a record name); a serializer treats that
    /// as an error, as Confluent's does.
    fn subject(&self, topic: &str, is_key: bool, record_name: Option<&str>) -> Option<String>;

    /// Whether [`subject`](Self::subject) needs the record name (Confluent's `usesSchema()`):
    /// a deserializer then needs the writer schema before it can choose a subject.
    fn uses_record_name(&self) -> bool {
        false
    }
}

impl<S: SubjectNameStrategy + ?Sized> SubjectNameStrategy for Arc<S> {
    fn subject(&self, topic: &str, is_key: bool, record_name: Option<&str>) -> Option<String> {
        (**self).subject(topic, is_key, record_name)
    }
    fn uses_record_name(&self) -> bool {
        (**self).uses_record_name()
    }
}

impl<S: SubjectNameStrategy + ?Sized> SubjectNameStrategy for Box<S> {
    fn subject(&self, topic: &str, is_key: bool, record_name: Option<&str>) -> Option<String> {
        (**self).subject(topic, is_key, record_name)
    }
    fn uses_record_name(&self) -> bool {
        (**self).uses_record_name()
    }
}

/// `<topic>-key` / `<topic>-value`: one subject per topic and side (Confluent's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicNameStrategy;

impl SubjectNameStrategy for TopicNameStrategy {
    fn subject(&self, topic: &str, is_key: bool, _: Option<&str>) -> Option<String> {
        Some(format!("{topic}-{}", if is_key { "key" } else { "value" }))
    }
}

/// The record's full name (`com.acme.Order`): one subject per type, shared by every topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordNameStrategy;

impl SubjectNameStrategy for RecordNameStrategy {
    fn subject(&self, _: &str, _: bool, record_name: Option<&str>) -> Option<String> {
        record_name.filter(|n| !n.is_empty()).map(str::to_string)
    }
    fn uses_record_name(&self) -> bool {
        true
    }
}

/// `<topic>-<record full name>`: one subject per topic and type (several types per topic).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopicRecordNameStrategy;

impl SubjectNameStrategy for TopicRecordNameStrategy {
    fn subject(&self, topic: &str, _: bool, record_name: Option<&str>) -> Option<String> {
        record_name
            .filter(|n| !n.is_empty())
            .map(|n| format!("{topic}-{n}"))
    }
    fn uses_record_name(&self) -> bool {
        true
    }
}

/// A strategy made from a closure; see [`from_fn`].
#[derive(Clone)]
pub struct FnStrategy<F> {
    f: F,
    uses_record_name: bool,
}

impl<F> fmt::Debug for FnStrategy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnStrategy")
            .field("uses_record_name", &self.uses_record_name)
            .finish_non_exhaustive()
    }
}

impl<F> FnStrategy<F> {
    /// Declares that the closure needs the record name.
    pub fn using_record_name(mut self) -> Self {
        self.uses_record_name = true;
        self
    }
}

/// A strategy from a closure `(topic, is_key, record_name) -> Option<subject>`.
pub fn from_fn<F>(f: F) -> FnStrategy<F>
where
    F: Fn(&str, bool, Option<&str>) -> Option<String> + Send + Sync,
{
    FnStrategy {
        f,
        uses_record_name: false,
    }
}

impl<F> SubjectNameStrategy for FnStrategy<F>
where
    F: Fn(&str, bool, Option<&str>) -> Option<String> + Send + Sync,
{
    fn subject(&self, topic: &str, is_key: bool, record_name: Option<&str>) -> Option<String> {
        (self.f)(topic, is_key, record_name)
    }
    fn uses_record_name(&self) -> bool {
        self.uses_record_name
    }
}

/// A built-in strategy by name, as found in configuration files: the Java class name (with or
/// without `io.confluent.kafka.serializers.subject.`), or `topic`, `record`, `topic_record`
/// (case-insensitive, as confluent-kafka-python's `TOPIC`, `RECORD`, `TOPIC_RECORD`).
///
/// ```
/// use charter_serde::strategy::by_name;
/// let s = by_name("io.confluent.kafka.serializers.subject.TopicRecordNameStrategy").unwrap();
/// assert_eq!(s.subject("t", false, Some("a.B")).as_deref(), Some("t-a.B"));
/// assert!(by_name("nope").is_none());
/// ```
pub fn by_name(name: &str) -> Option<Arc<dyn SubjectNameStrategy>> {
    let short = name
        .trim()
        .strip_prefix("io.confluent.kafka.serializers.subject.")
        .unwrap_or(name.trim());
    match short.to_ascii_lowercase().as_str() {
        "topicnamestrategy" | "topic" | "topic_name" => Some(Arc::new(TopicNameStrategy)),
        "recordnamestrategy" | "record" | "record_name" => Some(Arc::new(RecordNameStrategy)),
        "topicrecordnamestrategy" | "topic_record" | "topic_record_name" => {
            Some(Arc::new(TopicRecordNameStrategy))
        }
        _ => None,
    }
}

/// The record names Confluent's strategies use, per schema format.
pub mod record_name {
    use crate::avro::AvroSchema;
    use crate::json_schema::JsonSchema;
    use crate::protobuf::ProtobufSchema;

    /// The full name of an Avro schema's top-level named type (record, enum or fixed), `None`
    /// for a primitive, array, map or union.
    ///
    /// ```
    /// use charter_serde::avro::{AvroSchema, ParseOptions};
    /// let s = AvroSchema::parse(
    ///     r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[]}"#,
    ///     &[],
    ///     ParseOptions { validate: true },
    /// ).unwrap();
    /// assert_eq!(charter_serde::strategy::record_name::avro(&s).as_deref(), Some("com.acme.Order"));
    /// ```
    pub fn avro(schema: &AvroSchema) -> Option<String> {
        schema.full_name()
    }

    /// The full name of a Protobuf message: `message` when given and defined by the schema or
    /// its imports, else the schema's first top-level message (Confluent's default).
    ///
    /// ```
    /// use charter_serde::protobuf::ProtobufSchema;
    /// let s = ProtobufSchema::parse(
    ///     "syntax = \"proto3\"; package acme; message A {} message B { message C {} }",
    ///     &[],
    ///     true,
    /// ).unwrap();
    /// use charter_serde::strategy::record_name::protobuf;
    /// assert_eq!(protobuf(&s, None).as_deref(), Some("acme.A"));
    /// assert_eq!(protobuf(&s, Some("acme.B.C")).as_deref(), Some("acme.B.C"));
    /// assert_eq!(protobuf(&s, Some(".acme.B")).as_deref(), Some("acme.B"));
    /// assert_eq!(protobuf(&s, Some("acme.Nope")), None);
    /// ```
    pub fn protobuf(schema: &ProtobufSchema, message: Option<&str>) -> Option<String> {
        match message {
            Some(m) => schema
                .message_descriptor(m)
                .map(|d| d.full_name().to_string()),
            None => schema.first_message_name(),
        }
    }

    /// A JSON Schema's root `title`, which Confluent uses as the record name.
    ///
    /// ```
    /// use charter_serde::json_schema::JsonSchema;
    /// let s = JsonSchema::parse(r#"{"title":"com.acme.Order","type":"object"}"#, &[], true).unwrap();
    /// assert_eq!(charter_serde::strategy::record_name::json(&s).as_deref(), Some("com.acme.Order"));
    /// ```
    pub fn json(schema: &JsonSchema) -> Option<String> {
        schema.node(schema.root()).title.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins() {
        assert_eq!(
            TopicNameStrategy.subject("t", true, Some("x.Y")).unwrap(),
            "t-key"
        );
        assert_eq!(
            TopicNameStrategy.subject("t", false, None).unwrap(),
            "t-value"
        );
        assert!(!TopicNameStrategy.uses_record_name());
        assert_eq!(
            RecordNameStrategy.subject("t", true, Some("x.Y")).unwrap(),
            "x.Y"
        );
        assert_eq!(RecordNameStrategy.subject("t", true, Some("")), None);
        assert!(RecordNameStrategy.uses_record_name());
        assert_eq!(
            TopicRecordNameStrategy
                .subject("t", true, Some("x.Y"))
                .unwrap(),
            "t-x.Y"
        );
        assert_eq!(TopicRecordNameStrategy.subject("t", true, None), None);
        // Key and value of one topic share a TopicRecordName subject, as in Confluent.
        assert_eq!(
            TopicRecordNameStrategy.subject("t", false, Some("x.Y")),
            TopicRecordNameStrategy.subject("t", true, Some("x.Y"))
        );
    }

    #[test]
    fn dynamic_and_custom() {
        let all: Vec<Arc<dyn SubjectNameStrategy>> = vec![
            by_name("TopicNameStrategy").unwrap(),
            by_name("RECORD").unwrap(),
            by_name("topic_record").unwrap(),
            Arc::new(
                from_fn(|t: &str, _, n: Option<&str>| n.map(|n| format!("{t}/{n}")))
                    .using_record_name(),
            ),
        ];
        let got: Vec<_> = all
            .iter()
            .map(|s| s.subject("t", false, Some("a.B")))
            .collect();
        assert_eq!(
            got,
            [
                Some("t-value".into()),
                Some("a.B".into()),
                Some("t-a.B".into()),
                Some("t/a.B".into())
            ]
        );
        assert_eq!(all.iter().filter(|s| s.uses_record_name()).count(), 3);
        let boxed: Box<dyn SubjectNameStrategy> = Box::new(TopicNameStrategy);
        assert_eq!(boxed.subject("x", true, None).unwrap(), "x-key");
    }
}
