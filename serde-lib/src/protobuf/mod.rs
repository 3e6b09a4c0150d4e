//! Protobuf schemas as Confluent Schema Registry handles them.
//!
//! A [`ProtobufSchema`] is parsed from `.proto` text or from the base64 `FileDescriptorProto`
//! that confluent-kafka-python registers, together with the files it imports (Confluent
//! references: name = import path). It is compiled with [protox](https://docs.rs/protox), a pure
//! Rust `protoc`, into a [`prost_reflect::DescriptorPool`]; from the compiled descriptors it keeps
//!
//! - an element model ([`ProtoFile`] and friends) shaped like the Square-Wire model Confluent's
//!   diff and printer work on (map fields as `map<K, V>`, proto3 `optional` without its synthetic
//!   oneof, labels only where written, type names as spelled in the source);
//! - the canonical text ([`ProtobufSchema::canonical`], Confluent's `canonicalString()`), the
//!   normal form ([`ProtobufSchema::normalized`]) and the serialized descriptor
//!   ([`ProtobufSchema::serialized`], `format=serialized`);
//! - Confluent's message indexes ([`ProtobufSchema::message_indexes`]).
//!
//! Well-known imports resolve without references: `google/protobuf/*.proto` (any, api,
//! descriptor, duration, empty, field_mask, source_context, struct, timestamp, type, wrappers),
//! `confluent/meta.proto`, `confluent/type/decimal.proto` and `google/type/*.proto`, as in
//! Confluent. A reference with the same name takes precedence.

mod builtin;
mod model;
mod print;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use base64::Engine as _;
use prost_reflect::prost_types::FileDescriptorProto;
use prost_reflect::{DescriptorPool, FileDescriptor, MessageDescriptor};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

pub use model::{
    EnumConstant, EnumElement, ExtendElement, FieldElement, FieldType, Label, MessageElement,
    OneOfElement, OptionElement, OptionValue, ProtoFile, Reserved, RpcElement, Scalar,
    ServiceElement,
};
/// The reflection crate the descriptors come from, re-exported so that users need not depend on
/// the exact version themselves.
pub use prost_reflect;

/// Why a Protobuf schema was rejected. The message is meant for people; file positions read
/// `schema.proto:LINE:COLUMN` for the schema itself and `<import path>:LINE:COLUMN` for a
/// reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    /// The text is not valid `.proto` syntax (nor a base64 `FileDescriptorProto`).
    #[error("{0}")]
    Syntax(String),
    /// The schema parses but does not compile: an unresolved type or import, a duplicate field
    /// number or name, a bad option, and so on.
    #[error("{0}")]
    Invalid(String),
    /// A reference could not be read.
    #[error("reference '{name}': {message}")]
    Reference {
        /// The reference name (import path).
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The compiler failed in an unexpected way (contained; reported rather than crashing).
    #[error("could not parse the schema: {0}")]
    Internal(String),
}

/// A parsed, compiled Protobuf schema. Cheap to clone (shared), `Send + Sync`.
#[derive(Clone)]
pub struct ProtobufSchema {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DescriptorPool,
    /// Models of every file of the pool, dependencies first.
    files: Vec<ProtoFile>,
    /// Index of the schema's own file in `files`.
    root: usize,
    types: HashMap<String, model::TypeLoc>,
    canonical: String,
    normalized: String,
    serialized: String,
}

/// A named type found by [`ProtobufSchema::find_type`].
#[derive(Debug, Clone, Copy)]
pub struct TypeRef<'a> {
    /// The file that defines it.
    pub file: &'a ProtoFile,
    /// Whether that file is the schema itself (not an import).
    pub in_schema: bool,
    /// The type.
    pub kind: TypeKind<'a>,
}

/// What a [`TypeRef`] is.
#[derive(Debug, Clone, Copy)]
pub enum TypeKind<'a> {
    /// A message.
    Message(&'a MessageElement),
    /// An enum.
    Enum(&'a EnumElement),
}

impl fmt::Debug for ProtobufSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtobufSchema")
            .field("canonical", &self.inner.canonical)
            .finish()
    }
}

/// The base name of the schema's own file in the compiled pool.
const ROOT_NAME: &str = "schema.proto";

impl ProtobufSchema {
    /// Parses a schema.
    ///
    /// - `text`: `.proto` source, or the base64 of a binary `FileDescriptorProto` (what
    ///   confluent-kafka-python registers). Like Confluent, text is tried first and base64 only
    ///   when the text does not parse.
    /// - `references`: `(import path, file)` for every file the schema imports, directly or not;
    ///   each file is `.proto` text or a base64 descriptor. Order does not matter.
    /// - `validate`: strict for new schemas, lenient for stored versions. For Protobuf the two
    ///   are the same: every schema is fully compiled (imports present, types resolved, numbers
    ///   unique), because the diff and the message indexes need resolved descriptors. Confluent
    ///   parses stored versions without resolving types, so a stored version that never
    ///   compiled would load there and not here; versions registered through this code always
    ///   compile.
    pub fn parse(
        text: &str,
        references: &[(&str, &str)],
        validate: bool,
    ) -> Result<ProtobufSchema, ProtobufError> {
        let _ = validate;
        match catch_unwind(AssertUnwindSafe(|| parse_inner(text, references))) {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unexpected failure".to_string());
                Err(ProtobufError::Internal(msg))
            }
        }
    }

    /// Confluent's canonical text (`canonicalString()`): the schema printed in Wire's layout
    /// from its descriptor. Comments and formatting do not survive, so reformatted copies of a
    /// schema have the same canonical text; type names keep their spelling. Message order is
    /// kept; top-level and nested enums come after the messages.
    pub fn canonical(&self) -> String {
        self.inner.canonical.clone()
    }

    /// Confluent's normal form (`normalize=true`): the canonical layout with imports, options,
    /// fields, oneofs, enum constants and reserved values sorted, every named type fully
    /// qualified with a leading dot, and map fields written as `map<K, V>`.
    pub fn normalized(&self) -> String {
        self.inner.normalized.clone()
    }

    /// The base64 of the schema's binary `FileDescriptorProto` (`format=serialized`), with
    /// resolved type names, extension options kept and source info dropped.
    pub fn serialized(&self) -> String {
        self.inner.serialized.clone()
    }

    /// The compiled descriptors: the schema's file and every file it imports. Decode payloads
    /// with `prost_reflect::DynamicMessage::decode(schema.message_descriptor(name)?, bytes)`.
    pub fn descriptor_pool(&self) -> &DescriptorPool {
        &self.inner.pool
    }

    /// The schema's own file in [`descriptor_pool`](Self::descriptor_pool).
    pub fn file_descriptor(&self) -> Option<FileDescriptor> {
        self.inner
            .pool
            .get_file_by_name(&self.inner.files[self.inner.root].name)
    }

    /// A message of the pool by fully-qualified name (a leading dot is allowed).
    pub fn message_descriptor(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.inner
            .pool
            .get_message_by_name(full_name.strip_prefix('.').unwrap_or(full_name))
    }

    /// The schema's own file.
    pub fn file(&self) -> &ProtoFile {
        &self.inner.files[self.inner.root]
    }

    /// Every file of the schema, imports first (the schema's own file among them).
    pub fn files(&self) -> &[ProtoFile] {
        &self.inner.files
    }

    /// A message or enum defined in the schema or one of its imports, by fully-qualified name
    /// (a leading dot is allowed).
    pub fn find_type(&self, full_name: &str) -> Option<TypeRef<'_>> {
        let name = full_name.strip_prefix('.').unwrap_or(full_name);
        let loc = self.inner.types.get(name)?;
        let file = self.inner.files.get(loc.file)?;
        let (last, parents) = loc.path.split_last()?;
        let mut messages = &file.messages;
        let mut enums = &file.enums;
        for &i in parents {
            let m = messages.get(i)?;
            messages = &m.messages;
            enums = &m.enums;
        }
        let kind = if loc.is_enum {
            TypeKind::Enum(enums.get(*last)?)
        } else {
            TypeKind::Message(messages.get(*last)?)
        };
        Some(TypeRef {
            file,
            in_schema: loc.file == self.inner.root,
            kind,
        })
    }

    /// Confluent's message indexes of a message of the schema: the position among the messages
    /// at each nesting level (`[0]` = first top-level message, `[1, 0]` = first message nested
    /// in the second). `full_name` is fully qualified (package included; a leading dot is
    /// allowed). `None` if the schema's own file does not define it.
    pub fn message_indexes(&self, full_name: &str) -> Option<Vec<i32>> {
        let name = full_name.strip_prefix('.').unwrap_or(full_name);
        let file = self.file();
        let local = match &file.package {
            Some(p) => name.strip_prefix(p.as_str())?.strip_prefix('.')?,
            None => name,
        };
        let mut messages = &file.messages;
        let mut out = Vec::new();
        for part in local.split('.') {
            let i = messages.iter().position(|m| m.name == part)?;
            out.push(i32::try_from(i).ok()?);
            messages = &messages[i].messages;
        }
        Some(out)
    }

    /// The fully-qualified name of the message at `indexes` (see
    /// [`message_indexes`](Self::message_indexes)); `None` for an empty, negative or
    /// out-of-range path.
    pub fn message_name(&self, indexes: &[i32]) -> Option<String> {
        let mut messages = &self.file().messages;
        let mut found: Option<&MessageElement> = None;
        for &i in indexes {
            let m = messages.get(usize::try_from(i).ok()?)?;
            messages = &m.messages;
            found = Some(m);
        }
        found.map(|m| m.full_name.clone())
    }

    /// Whether `indexes` name a message of the schema (what [`message_name`](Self::message_name)
    /// checks, without allocating: the deserializers' per-record check).
    pub fn has_message_at(&self, indexes: &[i32]) -> bool {
        let mut messages = &self.file().messages;
        for &i in indexes {
            match usize::try_from(i).ok().and_then(|i| messages.get(i)) {
                Some(m) => messages = &m.messages,
                None => return false,
            }
        }
        !indexes.is_empty()
    }

    /// The fully-qualified name of the first top-level message (what Confluent's
    /// RecordNameStrategy and `[0]` message index use), `None` if there is none.
    pub fn first_message_name(&self) -> Option<String> {
        self.file().messages.first().map(|m| m.full_name.clone())
    }
}

// ----------------------------------------------------------------------------------- parsing

/// A file given to the compiler, with what the model needs from its source form.
struct Given {
    file: File,
    from_text: bool,
}

fn parse_inner(text: &str, references: &[(&str, &str)]) -> Result<ProtobufSchema, ProtobufError> {
    let mut given: HashMap<String, Given> = HashMap::new();
    for (name, content) in references {
        if given.contains_key(*name) {
            continue;
        }
        let g = read_file(name, content).map_err(|message| ProtobufError::Reference {
            name: name.to_string(),
            message,
        })?;
        given.insert(name.to_string(), g);
    }
    let root_name = (0..)
        .map(|i| {
            if i == 0 {
                ROOT_NAME.to_string()
            } else {
                format!("schema_{i}.proto")
            }
        })
        .find(|n| !given.contains_key(n))
        .unwrap_or_else(|| ROOT_NAME.to_string());
    let root = read_file(&root_name, text).map_err(ProtobufError::Syntax)?;
    given.insert(root_name.clone(), root);

    let mut chain = ChainFileResolver::new();
    chain.add(GivenResolver {
        files: given
            .iter()
            .map(|(k, v)| (k.clone(), v.file.clone()))
            .collect(),
    });
    chain.add(BuiltinResolver);
    chain.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(chain);
    compiler.include_imports(true);
    compiler
        .open_file(&root_name)
        .map_err(|e| ProtobufError::Invalid(format!("{e:?}")))?;
    let pool = compiler.descriptor_pool();

    let mut files = Vec::new();
    let mut root = None;
    for fd in pool.files() {
        let resolved = fd.file_descriptor_proto();
        let name = fd.name().to_string();
        if name == root_name {
            root = Some(files.len());
        }
        let built = match given.get(&name) {
            Some(g) => {
                let source = g.file.file_descriptor_proto();
                model::build_file(
                    &pool,
                    resolved,
                    source,
                    g.from_text,
                    syntax_declared(source),
                )
            }
            None => match builtin::get(&name).and_then(|t| File::from_source(&name, t).ok()) {
                Some(f) => {
                    let source = f.file_descriptor_proto();
                    model::build_file(&pool, resolved, source, true, syntax_declared(source))
                }
                None => model::build_file(&pool, resolved, resolved, false, false),
            },
        };
        files.push(built);
    }
    let root =
        root.ok_or_else(|| ProtobufError::Internal("the schema's file is missing".into()))?;
    let types = model::index_types(&files);
    let canonical = print::print_file(&files[root], false);
    let normalized = print::print_file(&files[root], true);
    let serialized = pool
        .get_file_by_name(&root_name)
        .map(|f| {
            base64::engine::general_purpose::STANDARD.encode(strip_source_info(&f.encode_to_vec()))
        })
        .unwrap_or_default();
    Ok(ProtobufSchema {
        inner: Arc::new(Inner {
            pool,
            files,
            root,
            types,
            canonical,
            normalized,
            serialized,
        }),
    })
}

/// Reads one file: `.proto` text, or else a base64 `FileDescriptorProto` (renamed to `name`).
/// The error is the text parser's, which is the useful one unless the input was meant as base64.
fn read_file(name: &str, content: &str) -> Result<Given, String> {
    let text_err = match File::from_source(name, content) {
        Ok(file) => {
            return Ok(Given {
                file,
                from_text: true,
            })
        }
        Err(e) => format!("{e:?}"),
    };
    let trimmed = content.trim();
    if trimmed.is_empty()
        || !trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
    {
        return Err(text_err);
    }
    let Ok(mut bytes) = base64::engine::general_purpose::STANDARD.decode(trimmed) else {
        return Err(text_err);
    };
    let not_descriptor =
        |e: &dyn fmt::Display| format!("{text_err} (nor is it a base64 FileDescriptorProto: {e})");
    // Only a well-formed message may be extended: protobuf keeps the last value of a singular
    // field, so appending `name = <name>` renames the file.
    if let Err(e) = <FileDescriptorProto as prost_reflect::prost::Message>::decode(bytes.as_slice())
    {
        return Err(not_descriptor(&e));
    }
    bytes.push(0x0a);
    encode_varint(name.len() as u64, &mut bytes);
    bytes.extend_from_slice(name.as_bytes());
    match File::decode_file_descriptor_proto(bytes.as_slice()) {
        Ok(file) if file.name() == name => Ok(Given {
            file,
            from_text: false,
        }),
        Ok(_) => Err(not_descriptor(&"cannot be renamed")),
        Err(e) => Err(not_descriptor(&e)),
    }
}

/// Whether parsed text declared a `syntax` (source info has a location for field 12).
fn syntax_declared(source: &FileDescriptorProto) -> bool {
    source
        .source_code_info
        .as_ref()
        .is_some_and(|sci| sci.location.iter().any(|l| l.path == [12]))
}

fn encode_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Drops `source_code_info` (field 9) from an encoded `FileDescriptorProto`; returns the input
/// unchanged if it cannot be walked.
fn strip_source_info(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let Some(key) = read_varint(bytes, &mut pos) else {
            return bytes.to_vec();
        };
        let end = match key & 7 {
            0 => match read_varint(bytes, &mut pos) {
                Some(_) => pos,
                None => return bytes.to_vec(),
            },
            1 => pos + 8,
            2 => match read_varint(bytes, &mut pos).and_then(|l| usize::try_from(l).ok()) {
                Some(len) => pos.saturating_add(len),
                None => return bytes.to_vec(),
            },
            5 => pos + 4,
            _ => return bytes.to_vec(),
        };
        if end > bytes.len() {
            return bytes.to_vec();
        }
        if key >> 3 != 9 {
            out.extend_from_slice(&bytes[start..end]);
        }
        pos = end;
    }
    out
}

/// Serves the schema and its references.
struct GivenResolver {
    files: HashMap<String, File>,
}

impl FileResolver for GivenResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        self.files
            .get(name)
            .cloned()
            .ok_or_else(|| protox::Error::file_not_found(name))
    }
}

/// Serves Confluent's bundled files (see [`builtin`]).
struct BuiltinResolver;

impl FileResolver for BuiltinResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match builtin::get(name) {
            Some(text) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}
