//! The element model of a `.proto` file: what Confluent's Square-Wire `ProtoFileElement` holds,
//! rebuilt from compiled descriptors.
//!
//! One model is built per file of the compiled pool (the schema and every file it imports). The
//! structure follows Confluent's conversion of a `FileDescriptorProto` (`ProtobufSchema.toProtoFile`)
//! with two refinements for schemas registered as `.proto` text, so that the model matches what
//! Wire's text parser gives there:
//! - the synthetic map-entry messages are dropped and the map field keeps its `map<K, V>` type;
//! - type names keep their spelling in the source (`Status`, `.foo.Bar`).
//!
//! Schemas given as a serialized `FileDescriptorProto` keep their map-entry messages (as
//! Confluent does), which also keeps their message indexes in step with clients that compute
//! indexes from descriptors (confluent-kafka-python).
//!
//! Every field also carries its *resolved* type ([`FieldType`]), which is what the compatibility
//! diff compares.
//!
//! Options are rebuilt from the compiled (interpreted) options the way Confluent rebuilds them
//! from a descriptor: a fixed list of built-in options, Confluent's `Meta` options, then custom
//! options by field number. proto2 groups are modelled as message-typed fields (Confluent's
//! model skips them).

use std::collections::HashMap;

use prost_reflect::prost_types::{
    field_descriptor_proto::{Label as PbLabel, Type as PbType},
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    ServiceDescriptorProto,
};
use prost_reflect::{
    DescriptorPool, DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MapKey,
    MessageDescriptor, ReflectMessage, Value,
};

/// Deepest message nesting the model follows (protox allows 31 in text; decoded descriptors are
/// bounded by prost's recursion limit of 100).
pub(crate) const MAX_NESTING: usize = 100;

/// A `.proto` file.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtoFile {
    /// The import path of the file (the schema itself gets an internal name).
    pub name: String,
    /// `package`, `None` when absent or empty.
    pub package: Option<String>,
    /// The declared syntax (`"proto2"`/`"proto3"`), `None` when the text declares none.
    pub syntax: Option<String>,
    /// Whether the file uses proto3 semantics.
    pub is_proto3: bool,
    /// Whether the file was given as `.proto` text (else as a serialized descriptor).
    pub from_text: bool,
    /// `import "…"` (weak imports included).
    pub imports: Vec<String>,
    /// `import public "…"`.
    pub public_imports: Vec<String>,
    /// File options.
    pub options: Vec<OptionElement>,
    /// Top-level messages, in declaration order.
    pub messages: Vec<MessageElement>,
    /// Top-level enums, in declaration order.
    pub enums: Vec<EnumElement>,
    /// Top-level `extend` blocks (grouped by extendee, in order of first appearance).
    pub extends: Vec<ExtendElement>,
    /// Services.
    pub services: Vec<ServiceElement>,
}

/// A message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageElement {
    /// Simple name.
    pub name: String,
    /// Fully-qualified name without a leading dot (`pkg.Outer.Inner`).
    pub full_name: String,
    /// Whether this is a map-entry message (only kept for schemas given as descriptors).
    pub is_map_entry: bool,
    /// Message options.
    pub options: Vec<OptionElement>,
    /// `reserved` statements, one value each (ranges first, then names).
    pub reserved: Vec<Reserved>,
    /// Fields outside any oneof (proto3 `optional` fields included).
    pub fields: Vec<FieldElement>,
    /// Real oneofs (never the synthetic ones of proto3 `optional`), empty ones dropped.
    pub oneofs: Vec<OneOfElement>,
    /// `extensions` ranges, inclusive.
    pub extension_ranges: Vec<(i32, i32)>,
    /// Nested messages, in declaration order.
    pub messages: Vec<MessageElement>,
    /// Nested enums, in declaration order.
    pub enums: Vec<EnumElement>,
    /// Nested `extend` blocks.
    pub extends: Vec<ExtendElement>,
}

/// A field label as written (Wire semantics: `None` when no label is written, which is the
/// case for proto3 singular fields, oneof members and map fields in text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// `optional`
    Optional,
    /// `required`
    Required,
    /// `repeated`
    Repeated,
}

impl Label {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Optional => "optional",
            Label::Required => "required",
            Label::Repeated => "repeated",
        }
    }
}

/// The scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Scalar {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
}

impl Scalar {
    /// The `.proto` keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Scalar::Double => "double",
            Scalar::Float => "float",
            Scalar::Int64 => "int64",
            Scalar::Uint64 => "uint64",
            Scalar::Int32 => "int32",
            Scalar::Fixed64 => "fixed64",
            Scalar::Fixed32 => "fixed32",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
            Scalar::Uint32 => "uint32",
            Scalar::Sfixed32 => "sfixed32",
            Scalar::Sfixed64 => "sfixed64",
            Scalar::Sint32 => "sint32",
            Scalar::Sint64 => "sint64",
        }
    }

    fn from_pb(t: PbType) -> Option<Scalar> {
        Some(match t {
            PbType::Double => Scalar::Double,
            PbType::Float => Scalar::Float,
            PbType::Int64 => Scalar::Int64,
            PbType::Uint64 => Scalar::Uint64,
            PbType::Int32 => Scalar::Int32,
            PbType::Fixed64 => Scalar::Fixed64,
            PbType::Fixed32 => Scalar::Fixed32,
            PbType::Bool => Scalar::Bool,
            PbType::String => Scalar::String,
            PbType::Bytes => Scalar::Bytes,
            PbType::Uint32 => Scalar::Uint32,
            PbType::Sfixed32 => Scalar::Sfixed32,
            PbType::Sfixed64 => Scalar::Sfixed64,
            PbType::Sint32 => Scalar::Sint32,
            PbType::Sint64 => Scalar::Sint64,
            PbType::Group | PbType::Message | PbType::Enum => return None,
        })
    }

    fn from_kind(kind: &Kind) -> Option<Scalar> {
        Some(match kind {
            Kind::Double => Scalar::Double,
            Kind::Float => Scalar::Float,
            Kind::Int64 => Scalar::Int64,
            Kind::Uint64 => Scalar::Uint64,
            Kind::Int32 => Scalar::Int32,
            Kind::Fixed64 => Scalar::Fixed64,
            Kind::Fixed32 => Scalar::Fixed32,
            Kind::Bool => Scalar::Bool,
            Kind::String => Scalar::String,
            Kind::Bytes => Scalar::Bytes,
            Kind::Uint32 => Scalar::Uint32,
            Kind::Sfixed32 => Scalar::Sfixed32,
            Kind::Sfixed64 => Scalar::Sfixed64,
            Kind::Sint32 => Scalar::Sint32,
            Kind::Sint64 => Scalar::Sint64,
            Kind::Message(_) | Kind::Enum(_) => return None,
        })
    }
}

/// The resolved type of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    /// A scalar.
    Scalar(Scalar),
    /// An enum, by fully-qualified name (no leading dot).
    Enum(String),
    /// A message (or group), by fully-qualified name (no leading dot).
    Message(String),
    /// A map (a field whose type is a map-entry message).
    Map {
        /// Key type (always a scalar).
        key: Box<FieldType>,
        /// Value type.
        value: Box<FieldType>,
    },
}

impl FieldType {
    /// The type as Confluent's normal form spells it: scalars by keyword, named types
    /// fully-qualified with a leading dot, maps as `map<K, V>`.
    pub fn normalized_name(&self) -> String {
        match self {
            FieldType::Scalar(s) => s.as_str().to_string(),
            FieldType::Enum(n) | FieldType::Message(n) => format!(".{n}"),
            FieldType::Map { key, value } => {
                format!(
                    "map<{}, {}>",
                    key.normalized_name(),
                    value.normalized_name()
                )
            }
        }
    }
}

/// A field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldElement {
    /// Field name.
    pub name: String,
    /// Field number.
    pub number: i32,
    /// Label as written (see [`Label`]).
    pub label: Option<Label>,
    /// The type as the source spells it (`int32`, `Status`, `.foo.Bar`, `map<string, Status>`).
    pub type_text: String,
    /// The resolved type.
    pub field_type: FieldType,
    /// `[default = …]` (proto2 only), as stored in the descriptor.
    pub default_value: Option<String>,
    /// An explicit `json_name`.
    pub json_name: Option<String>,
    /// Field options.
    pub options: Vec<OptionElement>,
}

/// A oneof.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOfElement {
    /// Oneof name.
    pub name: String,
    /// Its fields, in declaration order.
    pub fields: Vec<FieldElement>,
}

/// One value of a `reserved` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// A single number or an inclusive range.
    Range(i32, i32),
    /// A reserved name.
    Name(String),
}

/// An enum.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumElement {
    /// Simple name.
    pub name: String,
    /// Fully-qualified name without a leading dot.
    pub full_name: String,
    /// Enum options.
    pub options: Vec<OptionElement>,
    /// The constants, in declaration order.
    pub values: Vec<EnumConstant>,
    /// `reserved` statements, one value each (inclusive ranges first, then names).
    pub reserved: Vec<Reserved>,
}

/// An enum constant.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumConstant {
    /// Constant name.
    pub name: String,
    /// Its number.
    pub number: i32,
    /// Constant options.
    pub options: Vec<OptionElement>,
}

/// An `extend` block.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtendElement {
    /// The extended message as the source spells it.
    pub extendee: String,
    /// The extension fields.
    pub fields: Vec<FieldElement>,
}

/// A service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceElement {
    /// Service name.
    pub name: String,
    /// Service options.
    pub options: Vec<OptionElement>,
    /// Its methods.
    pub rpcs: Vec<RpcElement>,
}

/// A service method.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcElement {
    /// Method name.
    pub name: String,
    /// Request type as the source spells it.
    pub input_type: String,
    /// Response type as the source spells it.
    pub output_type: String,
    /// Fully-qualified request type (no leading dot).
    pub input_full_name: String,
    /// Fully-qualified response type (no leading dot).
    pub output_full_name: String,
    /// `stream` request.
    pub client_streaming: bool,
    /// `stream` response.
    pub server_streaming: bool,
    /// Method options.
    pub options: Vec<OptionElement>,
}

/// An option, as Confluent rebuilds it from a descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionElement {
    /// Option name (`java_package`, `confluent.field_meta`).
    pub name: String,
    /// Whether the name is printed in parentheses (custom options).
    pub parenthesized: bool,
    /// The value.
    pub value: OptionValue,
}

/// An option value.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// A string (printed quoted and escaped).
    String(String),
    /// `true`/`false`.
    Bool(bool),
    /// A number, already formatted.
    Number(String),
    /// An enum constant name.
    Enum(String),
    /// A message value: `key: value` pairs in order.
    Map(Vec<(String, OptionValue)>),
    /// A repeated value inside a message value.
    List(Vec<OptionValue>),
}

// ------------------------------------------------------------------------------------- building

/// Builds the model of `resolved` (a file of `pool`). `source` is the same file as given (text
/// parsed without resolution, or the decoded descriptor): it supplies the spelling of type names
/// and the explicit `json_name`s. `syntax_declared` tells whether text declared a `syntax`.
pub(crate) fn build_file(
    pool: &DescriptorPool,
    resolved: &FileDescriptorProto,
    source: &FileDescriptorProto,
    from_text: bool,
    syntax_declared: bool,
) -> ProtoFile {
    let syntax_str = resolved.syntax.as_deref().unwrap_or("");
    let is_proto3 = syntax_str == "proto3";
    let syntax = if from_text {
        if is_proto3 {
            Some("proto3".to_string())
        } else if syntax_declared {
            Some("proto2".to_string())
        } else {
            None
        }
    } else {
        match syntax_str {
            "proto2" | "proto3" => Some(syntax_str.to_string()),
            _ => None,
        }
    };
    let package = resolved.package.clone().filter(|p| !p.is_empty());
    let b = Builder {
        pool,
        from_text,
        is_proto3,
        package: package.clone().unwrap_or_default(),
    };

    let public: Vec<usize> = resolved
        .public_dependency
        .iter()
        .filter_map(|&i| usize::try_from(i).ok())
        .collect();
    let mut imports = Vec::new();
    let mut public_imports = Vec::new();
    for (i, dep) in resolved.dependency.iter().enumerate() {
        if public.contains(&i) {
            public_imports.push(dep.clone());
        } else {
            imports.push(dep.clone());
        }
    }

    let file_desc = pool.get_file_by_name(resolved.name());
    let options = file_desc
        .as_ref()
        .map(|f| file_options(&f.options()))
        .unwrap_or_default();

    let scope = b.package.clone();
    let messages = resolved
        .message_type
        .iter()
        .enumerate()
        .filter(|(_, m)| !(from_text && is_map_entry(m)))
        .map(|(i, m)| {
            let src = source.message_type.get(i).filter(|s| s.name == m.name);
            b.message(m, src, &scope, 0)
        })
        .collect();
    let enums = resolved
        .enum_type
        .iter()
        .map(|e| b.enumeration(e, &scope))
        .collect();
    let extends = b.extends(&resolved.extension, &source.extension);
    let services = resolved
        .service
        .iter()
        .enumerate()
        .map(|(i, s)| b.service(s, source.service.get(i)))
        .collect();

    ProtoFile {
        name: resolved.name().to_string(),
        package,
        syntax,
        is_proto3,
        from_text,
        imports,
        public_imports,
        options,
        messages,
        enums,
        extends,
        services,
    }
}

fn is_map_entry(m: &DescriptorProto) -> bool {
    m.options
        .as_ref()
        .and_then(|o| o.map_entry)
        .unwrap_or(false)
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

struct Builder<'a> {
    pool: &'a DescriptorPool,
    from_text: bool,
    is_proto3: bool,
    package: String,
}

impl Builder<'_> {
    fn message(
        &self,
        res: &DescriptorProto,
        src: Option<&DescriptorProto>,
        scope: &str,
        depth: usize,
    ) -> MessageElement {
        let name = res.name().to_string();
        let full_name = join(scope, &name);
        let desc = self.pool.get_message_by_name(&full_name);
        let options = desc
            .as_ref()
            .map(|d| message_options(&d.options()))
            .unwrap_or_default();

        let mut fields = Vec::new();
        let mut oneofs: Vec<OneOfElement> = res
            .oneof_decl
            .iter()
            .map(|o| OneOfElement {
                name: o.name().to_string(),
                fields: Vec::new(),
            })
            .collect();
        for (i, rf) in res.field.iter().enumerate() {
            let sf = src
                .and_then(|s| s.field.get(i))
                .filter(|sf| sf.number == rf.number);
            let in_oneof = rf.oneof_index.is_some() && !rf.proto3_optional();
            let fdesc = desc
                .as_ref()
                .and_then(|d| u32::try_from(rf.number()).ok().and_then(|n| d.get_field(n)));
            let field = self.field(rf, sf, src, in_oneof, fdesc.as_ref());
            match rf.oneof_index.and_then(|i| usize::try_from(i).ok()) {
                Some(idx) if in_oneof && idx < oneofs.len() => oneofs[idx].fields.push(field),
                _ => fields.push(field),
            }
        }
        oneofs.retain(|o| !o.fields.is_empty());

        let mut messages = Vec::new();
        if depth < MAX_NESTING {
            for (i, m) in res.nested_type.iter().enumerate() {
                if self.from_text && is_map_entry(m) {
                    continue;
                }
                let s = src
                    .and_then(|s| s.nested_type.get(i))
                    .filter(|s| s.name == m.name);
                messages.push(self.message(m, s, &full_name, depth + 1));
            }
        }
        let enums = res
            .enum_type
            .iter()
            .map(|e| self.enumeration(e, &full_name))
            .collect();

        let mut reserved: Vec<Reserved> = res
            .reserved_range
            .iter()
            .map(|r| Reserved::Range(r.start(), r.end().saturating_sub(1)))
            .collect();
        reserved.extend(res.reserved_name.iter().cloned().map(Reserved::Name));
        let extension_ranges = res
            .extension_range
            .iter()
            .map(|r| (r.start(), r.end().saturating_sub(1)))
            .collect();
        let extends = self.extends(
            &res.extension,
            src.map(|s| s.extension.as_slice()).unwrap_or(&[]),
        );

        MessageElement {
            name,
            full_name,
            is_map_entry: is_map_entry(res),
            options,
            reserved,
            fields,
            oneofs,
            extension_ranges,
            messages,
            enums,
            extends,
        }
    }

    fn field(
        &self,
        rf: &FieldDescriptorProto,
        sf: Option<&FieldDescriptorProto>,
        src_parent: Option<&DescriptorProto>,
        in_oneof: bool,
        desc: Option<&FieldDescriptor>,
    ) -> FieldElement {
        let field_type = self.resolve_type(rf);
        let is_map = matches!(field_type, FieldType::Map { .. });
        let label = if in_oneof || (is_map && self.from_text) {
            None
        } else if rf.proto3_optional() {
            Some(Label::Optional)
        } else {
            match rf.label() {
                PbLabel::Repeated => Some(Label::Repeated),
                _ if self.is_proto3 => None,
                PbLabel::Required => Some(Label::Required),
                PbLabel::Optional => Some(Label::Optional),
            }
        };
        let type_text = self.type_text(rf, sf, src_parent, &field_type);
        let default_value = if self.is_proto3 {
            None
        } else {
            rf.default_value.clone()
        };
        let json_name = match sf {
            Some(sf) if self.from_text => sf.json_name.clone(),
            None if self.from_text => None,
            // protoc fills in json_name for every field of a descriptor; only a non-default
            // one was written by someone.
            _ => sf
                .unwrap_or(rf)
                .json_name
                .clone()
                .filter(|j| *j != default_json_name(rf.name())),
        };
        let options = desc
            .map(|d| field_options(&d.options()))
            .unwrap_or_default();
        FieldElement {
            name: rf.name().to_string(),
            number: rf.number(),
            label,
            type_text,
            field_type,
            default_value,
            json_name,
            options,
        }
    }

    /// The spelling of a field's type: as written in the source (text), else as the descriptor
    /// names it. Text map fields become `map<K, V>`.
    fn type_text(
        &self,
        rf: &FieldDescriptorProto,
        sf: Option<&FieldDescriptorProto>,
        src_parent: Option<&DescriptorProto>,
        field_type: &FieldType,
    ) -> String {
        let f = sf.unwrap_or(rf);
        if let (true, FieldType::Map { key, value }) = (self.from_text, field_type) {
            // Find the source map-entry message to spell the value type as written.
            let entry_name = rf.type_name().rsplit('.').next().unwrap_or_default();
            let written_value = src_parent
                .and_then(|p| p.nested_type.iter().find(|n| n.name() == entry_name))
                .and_then(|e| e.field.iter().find(|f| f.number() == 2))
                .map(|vf| spelled(vf, value));
            let key_text = key.normalized_name();
            let value_text = written_value.unwrap_or_else(|| value.normalized_name());
            return format!("map<{key_text}, {value_text}>");
        }
        spelled(f, field_type)
    }

    fn resolve_type(&self, rf: &FieldDescriptorProto) -> FieldType {
        if let Some(s) = rf
            .r#type
            .and_then(|t| PbType::try_from(t).ok())
            .and_then(Scalar::from_pb)
        {
            if rf.type_name.is_none() {
                return FieldType::Scalar(s);
            }
        }
        let name = rf.type_name().trim_start_matches('.');
        if let Some(m) = self.pool.get_message_by_name(name) {
            if m.is_map_entry() {
                return map_type(&m);
            }
            return FieldType::Message(m.full_name().to_string());
        }
        if let Some(e) = self.pool.get_enum_by_name(name) {
            return FieldType::Enum(e.full_name().to_string());
        }
        match rf.r#type.and_then(|t| PbType::try_from(t).ok()) {
            Some(PbType::Enum) => FieldType::Enum(name.to_string()),
            _ => FieldType::Message(name.to_string()),
        }
    }

    fn enumeration(&self, res: &EnumDescriptorProto, scope: &str) -> EnumElement {
        let name = res.name().to_string();
        let full_name = join(scope, &name);
        let desc = self.pool.get_enum_by_name(&full_name);
        let options = desc
            .as_ref()
            .map(|d| enum_options(&d.options()))
            .unwrap_or_default();
        let values = res
            .value
            .iter()
            .map(|v| EnumConstant {
                name: v.name().to_string(),
                number: v.number(),
                options: desc
                    .as_ref()
                    .and_then(|d| d.get_value_by_name(v.name()))
                    .map(|d| enum_value_options(&d.options()))
                    .unwrap_or_default(),
            })
            .collect();
        let mut reserved: Vec<Reserved> = res
            .reserved_range
            .iter()
            .map(|r| Reserved::Range(r.start(), r.end()))
            .collect();
        reserved.extend(res.reserved_name.iter().cloned().map(Reserved::Name));
        EnumElement {
            name,
            full_name,
            options,
            values,
            reserved,
        }
    }

    fn extends(
        &self,
        res: &[FieldDescriptorProto],
        src: &[FieldDescriptorProto],
    ) -> Vec<ExtendElement> {
        let mut out: Vec<ExtendElement> = Vec::new();
        for (i, rf) in res.iter().enumerate() {
            let sf = src.get(i).filter(|s| s.number == rf.number);
            let extendee = if self.from_text {
                sf.map(|s| s.extendee().to_string())
                    .unwrap_or_else(|| rf.extendee().to_string())
            } else {
                rf.extendee().to_string()
            };
            let ext_desc = self
                .pool
                .get_message_by_name(rf.extendee().trim_start_matches('.'))
                .and_then(|m| {
                    u32::try_from(rf.number())
                        .ok()
                        .and_then(|n| m.get_extension(n))
                });
            let mut field = self.field(rf, sf, None, false, None);
            if let Some(ext) = ext_desc {
                field.options = field_options(&ext.options());
            }
            match out.iter_mut().find(|e| e.extendee == extendee) {
                Some(e) => e.fields.push(field),
                None => out.push(ExtendElement {
                    extendee,
                    fields: vec![field],
                }),
            }
        }
        out
    }

    fn service(
        &self,
        res: &ServiceDescriptorProto,
        src: Option<&ServiceDescriptorProto>,
    ) -> ServiceElement {
        let full_name = join(&self.package, res.name());
        let desc = self.pool.get_service_by_name(&full_name);
        let options = desc
            .as_ref()
            .map(|d| {
                let o = d.options();
                let mut out = Vec::new();
                push_builtin(&mut out, &o, "deprecated");
                out.extend(custom_options(&o));
                out
            })
            .unwrap_or_default();
        let method_descs: Vec<_> = desc
            .as_ref()
            .map(|d| d.methods().collect())
            .unwrap_or_default();
        let rpcs = res
            .method
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let sm = src
                    .and_then(|s| s.method.get(i))
                    .filter(|s| s.name == m.name);
                let (input_type, output_type) = match (self.from_text, sm) {
                    (true, Some(sm)) => (sm.input_type().to_string(), sm.output_type().to_string()),
                    _ => (m.input_type().to_string(), m.output_type().to_string()),
                };
                let options = method_descs
                    .get(i)
                    .filter(|d| d.name() == m.name())
                    .map(|d| {
                        let o = d.options();
                        let mut out = Vec::new();
                        push_builtin(&mut out, &o, "deprecated");
                        push_builtin(&mut out, &o, "idempotency_level");
                        out.extend(custom_options(&o));
                        out
                    })
                    .unwrap_or_default();
                RpcElement {
                    name: m.name().to_string(),
                    input_type,
                    output_type,
                    input_full_name: m.input_type().trim_start_matches('.').to_string(),
                    output_full_name: m.output_type().trim_start_matches('.').to_string(),
                    client_streaming: m.client_streaming(),
                    server_streaming: m.server_streaming(),
                    options,
                }
            })
            .collect();
        ServiceElement {
            name: res.name().to_string(),
            options,
            rpcs,
        }
    }
}

/// A field's type as the given descriptor proto spells it.
fn spelled(f: &FieldDescriptorProto, resolved: &FieldType) -> String {
    if let Some(t) = &f.type_name {
        if !t.is_empty() {
            return t.clone();
        }
    }
    match f
        .r#type
        .and_then(|t| PbType::try_from(t).ok())
        .and_then(Scalar::from_pb)
    {
        Some(s) => s.as_str().to_string(),
        None => resolved.normalized_name(),
    }
}

fn kind_type(kind: &Kind) -> FieldType {
    match kind {
        Kind::Message(m) if m.is_map_entry() => map_type(m),
        Kind::Message(m) => FieldType::Message(m.full_name().to_string()),
        Kind::Enum(e) => FieldType::Enum(e.full_name().to_string()),
        other => FieldType::Scalar(Scalar::from_kind(other).unwrap_or(Scalar::Bytes)),
    }
}

fn map_type(entry: &MessageDescriptor) -> FieldType {
    // A map entry always has a key (1) and a value (2); a map value is never itself a map.
    let key = entry
        .get_field(1)
        .map(|f| kind_type(&f.kind()))
        .unwrap_or(FieldType::Scalar(Scalar::String));
    let value = entry
        .get_field(2)
        .map(|f| match f.kind() {
            Kind::Message(m) => FieldType::Message(m.full_name().to_string()),
            other => kind_type(&other),
        })
        .unwrap_or(FieldType::Scalar(Scalar::String));
    FieldType::Map {
        key: Box::new(key),
        value: Box::new(value),
    }
}

// -------------------------------------------------------------------------------------- options

const CONFLUENT_PREFIX: &str = "confluent.";

fn file_options(o: &DynamicMessage) -> Vec<OptionElement> {
    let mut out = Vec::new();
    for name in [
        "java_package",
        "java_outer_classname",
        "java_multiple_files",
        "java_generate_equals_and_hash",
        "java_string_check_utf8",
        "optimize_for",
        "go_package",
        "cc_generic_services",
        "java_generic_services",
        "py_generic_services",
        "php_generic_services",
        "deprecated",
        "cc_enable_arenas",
        "objc_class_prefix",
        "csharp_namespace",
        "swift_prefix",
        "php_class_prefix",
        "php_namespace",
        "php_metadata_namespace",
        "ruby_package",
    ] {
        push_builtin(&mut out, o, name);
    }
    push_meta(&mut out, o, "confluent.file_meta");
    out.extend(custom_options(o));
    out
}

fn message_options(o: &DynamicMessage) -> Vec<OptionElement> {
    let mut out = Vec::new();
    for name in ["no_standard_descriptor_accessor", "deprecated", "map_entry"] {
        push_builtin(&mut out, o, name);
    }
    push_meta(&mut out, o, "confluent.message_meta");
    out.extend(custom_options(o));
    out
}

fn field_options(o: &DynamicMessage) -> Vec<OptionElement> {
    let mut out = Vec::new();
    for name in ["ctype", "packed", "jstype", "deprecated"] {
        push_builtin(&mut out, o, name);
    }
    push_meta(&mut out, o, "confluent.field_meta");
    out.extend(custom_options(o));
    out
}

fn enum_options(o: &DynamicMessage) -> Vec<OptionElement> {
    let mut out = Vec::new();
    for name in ["allow_alias", "deprecated"] {
        push_builtin(&mut out, o, name);
    }
    push_meta(&mut out, o, "confluent.enum_meta");
    out.extend(custom_options(o));
    out
}

fn enum_value_options(o: &DynamicMessage) -> Vec<OptionElement> {
    let mut out = Vec::new();
    push_builtin(&mut out, o, "deprecated");
    push_meta(&mut out, o, "confluent.enum_value_meta");
    out.extend(custom_options(o));
    out
}

/// A built-in option, when explicitly set.
fn push_builtin(out: &mut Vec<OptionElement>, o: &DynamicMessage, name: &str) {
    let Some(fd) = o.descriptor().get_field_by_name(name) else {
        return;
    };
    if !o.has_field(&fd) {
        return;
    }
    let value = o.get_field(&fd);
    out.push(OptionElement {
        name: name.to_string(),
        parenthesized: false,
        value: primitive(&value, &fd.kind()),
    });
}

/// Confluent's `Meta` options (`confluent.*_meta`), rebuilt as Confluent does: `doc`, then
/// `params` as a list of `{key, value}` (value first for `precision`/`scale`), then `tags`.
fn push_meta(out: &mut Vec<OptionElement>, o: &DynamicMessage, ext_name: &str) {
    let Some((_, value)) = o.extensions().find(|(e, _)| e.full_name() == ext_name) else {
        return;
    };
    let Value::Message(meta) = value else {
        return;
    };
    let mut map: Vec<(String, OptionValue)> = Vec::new();
    if let Some(doc) = meta.get_field_by_name("doc") {
        if let Value::String(s) = doc.as_ref() {
            if !s.is_empty() {
                map.push(("doc".into(), OptionValue::String(s.clone())));
            }
        }
    }
    if let Some(params) = meta.get_field_by_name("params") {
        if let Value::Map(m) = params.as_ref() {
            let mut entries: Vec<(String, String)> = m
                .iter()
                .filter_map(|(k, v)| match (k, v) {
                    (MapKey::String(k), Value::String(v)) => Some((k.clone(), v.clone())),
                    _ => None,
                })
                .collect();
            entries.sort();
            if !entries.is_empty() {
                let list = entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = ("key".to_string(), OptionValue::String(k.clone()));
                        let value = ("value".to_string(), OptionValue::String(v));
                        if k == "precision" || k == "scale" {
                            OptionValue::Map(vec![value, key])
                        } else {
                            OptionValue::Map(vec![key, value])
                        }
                    })
                    .collect();
                map.push(("params".into(), OptionValue::List(list)));
            }
        }
    }
    if let Some(tags) = meta.get_field_by_name("tags") {
        if let Value::List(l) = tags.as_ref() {
            let tags: Vec<OptionValue> = l
                .iter()
                .filter_map(|v| v.as_str().map(|s| OptionValue::String(s.to_string())))
                .collect();
            if !tags.is_empty() {
                map.push(("tags".into(), OptionValue::List(tags)));
            }
        }
    }
    if !map.is_empty() {
        out.push(OptionElement {
            name: ext_name.to_string(),
            parenthesized: true,
            value: OptionValue::Map(map),
        });
    }
}

/// Extension options other than Confluent's own, by field number; a repeated extension gives
/// one option per value.
fn custom_options(o: &DynamicMessage) -> Vec<OptionElement> {
    let mut exts: Vec<_> = o
        .extensions()
        .filter(|(e, _)| !e.full_name().starts_with(CONFLUENT_PREFIX))
        .collect();
    exts.sort_by_key(|(e, _)| e.number());
    let mut out = Vec::new();
    for (ext, value) in exts {
        let kind = ext.kind();
        let values: Vec<&Value> = match value {
            Value::List(l) => l.iter().collect(),
            v => vec![v],
        };
        for v in values {
            out.push(OptionElement {
                name: ext.full_name().to_string(),
                parenthesized: true,
                value: option_value(v, &kind, 0),
            });
        }
    }
    out
}

fn option_value(v: &Value, kind: &Kind, depth: usize) -> OptionValue {
    match v {
        Value::Message(m) => OptionValue::Map(message_map(m, depth + 1)),
        Value::List(l) => {
            OptionValue::List(l.iter().map(|v| option_value(v, kind, depth)).collect())
        }
        Value::Map(m) => {
            // A map field inside an option message: a list of `{key, value}` entries.
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                _ => Kind::String,
            };
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by_key(|(k, _)| map_key_text(k));
            OptionValue::List(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        OptionValue::Map(vec![
                            ("key".to_string(), map_key_value(k)),
                            ("value".to_string(), option_value(v, &value_kind, depth + 1)),
                        ])
                    })
                    .collect(),
            )
        }
        other => primitive(other, kind),
    }
}

fn map_key_text(k: &MapKey) -> String {
    match k {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(i) => i.to_string(),
        MapKey::I64(i) => i.to_string(),
        MapKey::U32(i) => i.to_string(),
        MapKey::U64(i) => i.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn map_key_value(k: &MapKey) -> OptionValue {
    match k {
        MapKey::Bool(b) => OptionValue::Bool(*b),
        MapKey::String(s) => OptionValue::String(s.clone()),
        other => OptionValue::Number(map_key_text(other)),
    }
}

/// The set fields of an option message value, by field number (extensions as `[full.name]`).
fn message_map(m: &DynamicMessage, depth: usize) -> Vec<(String, OptionValue)> {
    if depth > MAX_NESTING {
        return Vec::new();
    }
    let mut entries: Vec<(u32, String, OptionValue)> = m
        .fields()
        .filter(|(fd, v)| fd.supports_presence() || !v.is_default(&fd.kind()))
        .map(|(fd, v)| {
            (
                fd.number(),
                fd.name().to_string(),
                option_value(v, &fd.kind(), depth),
            )
        })
        .collect();
    entries.extend(m.extensions().map(|(ed, v)| {
        (
            ed.number(),
            format!("[{}]", ed.full_name()),
            option_value(v, &ed.kind(), depth),
        )
    }));
    entries.sort_by_key(|(n, _, _)| *n);
    entries.into_iter().map(|(_, k, v)| (k, v)).collect()
}

fn primitive(v: &Value, kind: &Kind) -> OptionValue {
    match v {
        Value::Bool(b) => OptionValue::Bool(*b),
        Value::I32(i) => OptionValue::Number(i.to_string()),
        Value::I64(i) => OptionValue::Number(i.to_string()),
        Value::U32(i) => OptionValue::Number(i.to_string()),
        Value::U64(i) => OptionValue::Number(i.to_string()),
        Value::F32(f) => OptionValue::Number(java_float(f64::from(*f), true)),
        Value::F64(f) => OptionValue::Number(java_float(*f, false)),
        Value::String(s) => OptionValue::String(s.clone()),
        Value::Bytes(b) => OptionValue::String(String::from_utf8_lossy(b).into_owned()),
        Value::EnumNumber(n) => OptionValue::Enum(enum_name(kind, *n)),
        Value::Message(m) => OptionValue::Map(message_map(m, 1)),
        Value::List(l) => OptionValue::List(l.iter().map(|v| primitive(v, kind)).collect()),
        Value::Map(_) => OptionValue::List(Vec::new()),
    }
}

fn enum_name(kind: &Kind, n: i32) -> String {
    match kind {
        Kind::Enum(e) => enum_value_name(e, n),
        _ => n.to_string(),
    }
}

fn enum_value_name(e: &EnumDescriptor, n: i32) -> String {
    e.get_value(n)
        .map(|v| v.name().to_string())
        .unwrap_or_else(|| n.to_string())
}

/// Java's `Double.toString`/`Float.toString` spelling: `1.0`, `1.5E10`, `1.0E-5`, `NaN`,
/// `Infinity`.
pub(crate) fn java_float(v: f64, single: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = if single {
            format!("{}", v as f32)
        } else {
            format!("{v}")
        };
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    let s = if single {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exp}")
}

// ------------------------------------------------------------------------------------ type index

/// Where a named type lives: file index and the chain of message indexes from the file down to
/// the type, then what it is.
#[derive(Debug, Clone)]
pub(crate) struct TypeLoc {
    pub file: usize,
    pub path: Vec<usize>,
    pub is_enum: bool,
}

/// Indexes every message and enum of every file by fully-qualified name.
pub(crate) fn index_types(files: &[ProtoFile]) -> HashMap<String, TypeLoc> {
    let mut out = HashMap::new();
    for (fi, f) in files.iter().enumerate() {
        for (i, e) in f.enums.iter().enumerate() {
            out.insert(
                e.full_name.clone(),
                TypeLoc {
                    file: fi,
                    path: vec![i],
                    is_enum: true,
                },
            );
        }
        let mut stack: Vec<(Vec<usize>, &MessageElement)> = f
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| (vec![i], m))
            .collect();
        while let Some((path, m)) = stack.pop() {
            for (i, e) in m.enums.iter().enumerate() {
                let mut p = path.clone();
                p.push(i);
                out.insert(
                    e.full_name.clone(),
                    TypeLoc {
                        file: fi,
                        path: p,
                        is_enum: true,
                    },
                );
            }
            for (i, n) in m.messages.iter().enumerate() {
                let mut p = path.clone();
                p.push(i);
                stack.push((p, n));
            }
            out.insert(
                m.full_name.clone(),
                TypeLoc {
                    file: fi,
                    path,
                    is_enum: false,
                },
            );
        }
    }
    out
}

/// The JSON name protoc derives from a field name: underscores dropped, the letter after each
/// one upper-cased (`ToJsonName` in protobuf's descriptor code).
fn default_json_name(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
