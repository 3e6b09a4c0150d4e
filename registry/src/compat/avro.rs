//! Avro compatibility, exactly as Confluent decides it.
//!
//! Confluent's `AvroSchema.isBackwardCompatible(previous)` is Apache Avro's Java
//! `SchemaCompatibility.checkReaderWriterCompatibility(reader = new, writer = previous)` and
//! nothing else; each incompatibility becomes one message. [`check`] reproduces that algorithm
//! (Avro 1.12.1), including its quirks, because the registry's answers must match Confluent's:
//!
//! - named types match on their *simple* names, or when a reader alias equals the writer's full
//!   name (so moving a type to another namespace is compatible);
//! - a writer union must have every branch readable; a reader union needs one branch that reads
//!   the writer; when both are unions, each unreadable writer branch is one
//!   `MISSING_UNION_BRANCH` (the detailed reasons are dropped);
//! - logical types are ignored, only the underlying types count;
//! - a reader field missing from the writer needs a default (any default, valid or not);
//! - reader/writer pairs are memoized by node identity and a pair met again while it is still
//!   being checked counts as compatible, which is how recursive types terminate. A memoized
//!   result is reused with the locations it was first computed at, as in Java.
//!
//! Java recurses; this walks an explicit stack instead, so deeply nested or long chains of named
//! types cannot overflow the stack. It also bounds the work (pairs visited, incompatibilities
//! recorded) so that crafted schemas cannot make it run for minutes or exhaust memory: a check
//! over budget fails closed, reported as one [`UNEXPECTED_EXCEPTION`] incompatibility, the way
//! Confluent reports a check that threw. Real schemas stay far below the budgets (a pair of
//! 300-record event unions uses under 5% of them).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use charter_serde::avro::{AvroSchema, AvroType, FieldNode, SchemaNode};

/// One reason why a reader cannot read a writer's data (Java
/// `SchemaCompatibility.Incompatibility`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// Java's `SchemaIncompatibilityType`: `NAME_MISMATCH`, `FIXED_SIZE_MISMATCH`,
    /// `MISSING_ENUM_SYMBOLS`, `READER_FIELD_MISSING_DEFAULT_VALUE`, `TYPE_MISMATCH` or
    /// `MISSING_UNION_BRANCH`. [`UNEXPECTED_EXCEPTION`] stands for a check that Java aborts with
    /// an exception, which Confluent reports as incompatible.
    pub error_type: &'static str,
    /// JSON-pointer-like path in the reader schema, as Java reports it (`/fields/1/type`, `/`).
    pub location: String,
    /// Java's message (`f2`, `reader type: INT not compatible with writer type: STRING`, …).
    pub message: String,
}

/// The error type of an [`Incompatibility`] that stands for an aborted check: Java throws when
/// a reader field and its aliases match several writer fields, and we stop schemas too complex
/// to compare. Its message is Confluent's `Unexpected exception during compatibility check: …`.
pub const UNEXPECTED_EXCEPTION: &str = "UNEXPECTED_EXCEPTION";

impl Incompatibility {
    /// Confluent's message for a BACKWARD check (reader = the new schema, writer = the old one),
    /// e.g. `{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f2' at path
    /// '/fields/1' in the new schema has no default value and is missing in the old schema',
    /// additionalInfo:'f2'}`.
    ///
    /// For a FORWARD check (the old schema reads the new one) use
    /// [`to_confluent_message_as`](Self::to_confluent_message_as)`("old", "new")`, as Confluent
    /// does.
    pub fn to_confluent_message(&self) -> String {
        self.to_confluent_message_as("new", "old")
    }

    /// Confluent's message with the reader and writer called `reader` and `writer`
    /// (Confluent's `Difference` templates, formatted by `SchemaValidatorBuilder`).
    pub fn to_confluent_message_as(&self, reader: &str, writer: &str) -> String {
        let path = &self.location;
        let msg = &self.message;
        let description = match self.error_type {
            UNEXPECTED_EXCEPTION => {
                return format!("Unexpected exception during compatibility check: {msg}")
            }
            "FIXED_SIZE_MISMATCH" => format!(
                "The size of FIXED type field at path '{path}' in the {reader} schema does not match with the {writer} schema"
            ),
            "TYPE_MISMATCH" => format!(
                "The type (path '{path}') of a field in the {reader} schema does not match with the {writer} schema"
            ),
            "NAME_MISMATCH" => format!("The name of the schema has changed (path '{path}')"),
            "MISSING_ENUM_SYMBOLS" => format!(
                "The {reader} schema is missing enum symbols '{msg}' at path '{path}' in the {writer} schema"
            ),
            "MISSING_UNION_BRANCH" => format!(
                "The {reader} schema is missing a type inside a union field at path '{path}' in the {writer} schema"
            ),
            "READER_FIELD_MISSING_DEFAULT_VALUE" => format!(
                "The field '{msg}' at path '{path}' in the {reader} schema has no default value and is missing in the {writer} schema"
            ),
            _ => String::new(),
        };
        format!(
            "{{errorType:'{}', description:'{description}', additionalInfo:'{msg}'}}",
            self.error_type
        )
    }
}

/// Can `reader` (the new schema) read data written with `writer` (the old one)? Returns every
/// incompatibility Java reports; empty means compatible.
///
/// ```
/// use charter_registry::compat::avro::check;
/// use charter_serde::avro::{AvroSchema, ParseOptions};
///
/// let opts = ParseOptions { validate: false };
/// let old = AvroSchema::parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#, &[], opts)?;
/// let new = AvroSchema::parse(
///     r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"b","type":"string"}]}"#,
///     &[],
///     opts,
/// )?;
/// let problems = check(&new, &old);
/// assert_eq!(problems.len(), 1);
/// assert_eq!(problems[0].error_type, "READER_FIELD_MISSING_DEFAULT_VALUE");
/// assert_eq!(problems[0].location, "/fields/1");
/// assert!(check(&old, &old).is_empty());
/// # Ok::<(), charter_serde::avro::AvroError>(())
/// ```
pub fn check(reader: &AvroSchema, writer: &AvroSchema) -> Vec<Incompatibility> {
    let mut checker = Checker::default();
    match checker.run(reader.root(), writer.root()) {
        Ok(result) => {
            let mut out = Vec::with_capacity(result.len());
            let mut total = 0;
            for raw in result.iter() {
                let (error_type, extra, message) = raw.detail.describe();
                let location = raw.path.format(extra);
                total += location.len();
                // Only crafted schemas (thousands of nested, incompatible records) get here.
                if total > MAX_LOCATION_BYTES && !out.is_empty() {
                    break;
                }
                out.push(Incompatibility {
                    error_type,
                    location,
                    message,
                });
            }
            out
        }
        Err(message) => vec![Incompatibility {
            error_type: UNEXPECTED_EXCEPTION,
            location: String::new(),
            message,
        }],
    }
}

/// At most this many reader/writer pairs are visited (memo hits included). Real schemas stay far
/// below: two unions of 300 twenty-field event records take about 90 000 per direction. Only
/// crafted ones (two unions of thousands of records) get here, where Java would run for minutes.
const MAX_STEPS: usize = 2_000_000;

/// Results longer than this are truncated. Java merges memoized lists into their parents, so a
/// type used twice per level doubles the list at every level; only emptiness decides
/// compatibility, and no one reads a thousand messages.
const MAX_INCOMPATIBILITIES: usize = 1000;

/// The returned locations stop being added once they total this many bytes. A location is as
/// long as the nesting it describes, so a crafted schema with thousands of nested, incompatible
/// records would otherwise produce gigabytes of them.
const MAX_LOCATION_BYTES: usize = 1 << 20;

/// At most this many incompatibilities are recorded (memoized results included). Java's
/// algorithm records them even for the union branches it merely probes: two unions of 300
/// twenty-field records record about 900 000 per direction. Crafted schemas could record far
/// more; each costs about 60 bytes here.
const MAX_RECORDED: usize = 3_000_000;

/// What an incompatibility is about; its type, location suffix and message derive from it, and
/// are only formatted for the final output (most recorded ones never are).
#[derive(Clone)]
enum Detail<'a> {
    /// `NAME_MISMATCH`: `expected: <writer full name>`.
    Name(SchemaNode<'a>),
    /// `FIXED_SIZE_MISMATCH`: writer size, reader size.
    Size(u32, u32),
    /// `MISSING_ENUM_SYMBOLS`: `[A, B]`.
    Symbols(Rc<str>),
    /// `READER_FIELD_MISSING_DEFAULT_VALUE`: the reader field.
    MissingDefault(FieldNode<'a>),
    /// `TYPE_MISMATCH`: reader type, writer type.
    Types(AvroType, AvroType),
    /// `MISSING_UNION_BRANCH`: the writer type no reader branch reads.
    Lacking(AvroType),
}

impl Detail<'_> {
    /// Java's incompatibility type, the location token after the path, and the message.
    fn describe(&self) -> (&'static str, Option<&'static str>, String) {
        match self {
            Detail::Name(writer) => (
                "NAME_MISMATCH",
                Some("name"),
                format!("expected: {}", writer.full_name().unwrap_or_default()),
            ),
            Detail::Size(expected, found) => (
                "FIXED_SIZE_MISMATCH",
                Some("size"),
                format!("expected: {expected}, found: {found}"),
            ),
            Detail::Symbols(list) => ("MISSING_ENUM_SYMBOLS", Some("symbols"), list.to_string()),
            Detail::MissingDefault(field) => (
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                None,
                field.name().to_string(),
            ),
            Detail::Types(reader, writer) => (
                "TYPE_MISMATCH",
                None,
                format!(
                    "reader type: {} not compatible with writer type: {}",
                    reader.java_name(),
                    writer.java_name()
                ),
            ),
            Detail::Lacking(writer) => (
                "MISSING_UNION_BRANCH",
                None,
                format!("reader union lacking writer type: {}", writer.java_name()),
            ),
        }
    }
}

/// An incompatibility as recorded. Java merges lists by copying references; this is small
/// enough to copy, and its location is a path shared with its neighbours (copying strings as long
/// as the nesting would make deep schemas quadratic).
#[derive(Clone)]
struct Raw<'a> {
    path: Rc<Path>,
    detail: Detail<'a>,
}

/// A result: empty when compatible.
type Res<'a> = Rc<Vec<Raw<'a>>>;

/// One element of Java's location stack.
#[derive(Clone, Copy)]
enum Token {
    /// The first element of every location (Java's `ROOT_REFERENCE_TOKEN`, the empty string).
    Root,
    Text(&'static str),
    Index(usize),
}

/// A location kept by an incompatibility: a persistent list sharing its prefix with others.
struct Path {
    parent: Option<Rc<Path>>,
    token: Token,
}

impl Path {
    /// Java `Incompatibility.getLocation()`: the tokens after the root, `/`-separated.
    fn format(&self, extra: Option<&'static str>) -> String {
        let mut tokens: Vec<Token> = Vec::new();
        let mut at = Some(self);
        while let Some(p) = at {
            tokens.push(p.token);
            at = p.parent.as_deref();
        }
        tokens.pop(); // Java ignores the root element
        tokens.reverse();
        let mut parts: Vec<String> = tokens
            .iter()
            .map(|t| match t {
                Token::Root => String::new(),
                Token::Text(s) => (*s).to_string(),
                Token::Index(i) => i.to_string(),
            })
            .collect();
        if let Some(extra) = extra {
            parts.push(extra.to_string());
        }
        let escaped: Vec<String> = parts
            .iter()
            .map(|p| p.replace('~', "~0").replace('/', "~1"))
            .collect();
        format!("/{}", escaped.join("/"))
    }
}

impl Drop for Path {
    /// Unlinks the chain iteratively: the default drop would recurse once per element.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(rc) = next {
            match Rc::try_unwrap(rc) {
                Ok(mut p) => next = p.parent.take(),
                Err(_) => break,
            }
        }
    }
}

/// One of Java's location deques. Pushing and popping tokens is free; the persistent [`Path`]
/// an incompatibility keeps is built only when one is recorded, sharing what was built before.
#[derive(Default)]
struct Location {
    tokens: Vec<Token>,
    /// `built[i]` is the path of `tokens[..=i]`; never longer than `tokens`.
    built: Vec<Rc<Path>>,
}

impl Location {
    fn reset(&mut self, root: &Rc<Path>) {
        self.tokens.clear();
        self.built.clear();
        self.tokens.push(Token::Root);
        self.built.push(Rc::clone(root));
    }

    fn pop(&mut self) {
        // The root token is never popped: pushes and pops are balanced above it.
        if self.tokens.len() > 1 {
            self.tokens.pop();
        }
        self.built.truncate(self.tokens.len());
    }

    fn path(&mut self) -> Rc<Path> {
        while self.built.len() < self.tokens.len() {
            let token = self.tokens[self.built.len()];
            let parent = self.built.last().cloned();
            self.built.push(Rc::new(Path { parent, token }));
        }
        match self.built.last() {
            Some(p) => Rc::clone(p),
            None => Rc::new(Path {
                parent: None,
                token: Token::Root,
            }),
        }
    }
}

/// A cheap hasher for the memo's integer keys (node ids: not attacker-chosen hash input).
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

enum Memo<'a> {
    InProgress,
    Done(Res<'a>),
}

/// A reader/writer comparison waiting for the result of a nested one.
enum Frame<'a> {
    /// Java `getCompatibility`: memoizes the pair's result and pops its location token.
    Get { key: (usize, usize), fresh: bool },
    /// Java `checkReaderWriterRecordFields`, at reader field `next`.
    Record {
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        acc: Vec<Raw<'a>>,
        next: usize,
    },
    /// Both unions: writer branch `next` against the whole reader union.
    UnionUnion {
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        acc: Vec<Raw<'a>>,
        next: usize,
    },
    /// Writer union, reader not: the reader against writer branch `next`.
    WriterUnion {
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        acc: Vec<Raw<'a>>,
        next: usize,
    },
    /// Reader union, writer not: the first reader branch that reads the writer wins.
    ReaderUnion {
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        next: usize,
    },
}

enum Step<'a> {
    /// Compare `reader` with `writer`. `fresh` starts a new location stack, as Java's
    /// two-argument `getCompatibility(reader, writer)` does; otherwise `token` is pushed onto
    /// the current one.
    Call {
        token: Token,
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        fresh: bool,
    },
    Return(Res<'a>),
}

struct Checker<'a> {
    memo: IdMap<(usize, usize), Memo<'a>>,
    /// Java's location deques, innermost last (a fresh comparison starts a new one).
    locations: Vec<Location>,
    /// Location stacks no longer in use, kept to avoid reallocating them.
    spare: Vec<Location>,
    /// Writer records' fields by name (Java `getField`), built on first use.
    field_index: IdMap<usize, HashMap<&'a str, FieldNode<'a>>>,
    /// The shared empty (compatible) result.
    empty: Res<'a>,
    /// The shared root of every location.
    root: Rc<Path>,
    steps: usize,
    recorded: usize,
}

impl Default for Checker<'_> {
    fn default() -> Self {
        Checker {
            memo: IdMap::default(),
            locations: Vec::new(),
            spare: Vec::new(),
            field_index: IdMap::default(),
            empty: Rc::new(Vec::new()),
            root: Rc::new(Path {
                parent: None,
                token: Token::Root,
            }),
            steps: 0,
            recorded: 0,
        }
    }
}

fn merge<'a>(acc: &mut Vec<Raw<'a>>, more: &[Raw<'a>]) {
    let room = MAX_INCOMPATIBILITIES.saturating_sub(acc.len());
    acc.extend(more.iter().take(room).cloned());
}

/// Java `String.compareTo` order (UTF-16 code units), which `TreeSet<String>` uses.
fn java_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

impl<'a> Checker<'a> {
    fn run(&mut self, reader: SchemaNode<'a>, writer: SchemaNode<'a>) -> Result<Res<'a>, String> {
        let mut frames: Vec<Frame<'a>> = Vec::new();
        let mut step = Step::Call {
            token: Token::Root,
            reader,
            writer,
            fresh: true,
        };
        loop {
            step = match step {
                Step::Call {
                    token,
                    reader,
                    writer,
                    fresh,
                } => self.enter(&mut frames, token, reader, writer, fresh)?,
                Step::Return(result) => match frames.pop() {
                    None => return Ok(result),
                    Some(frame) => self.resume(&mut frames, frame, result)?,
                },
            };
        }
    }

    fn location(&mut self) -> &mut Location {
        if self.locations.is_empty() {
            let mut fresh = Location::default();
            fresh.reset(&self.root);
            self.locations.push(fresh);
        }
        let last = self.locations.len() - 1;
        &mut self.locations[last]
    }

    fn push_token(&mut self, token: Token) {
        self.location().tokens.push(token);
    }

    fn pop_token(&mut self) {
        self.location().pop();
    }

    /// Records an incompatibility at the current location.
    fn incompatible(&mut self, detail: Detail<'a>) -> Result<Raw<'a>, String> {
        self.recorded += 1;
        if self.recorded > MAX_RECORDED {
            return Err(format!(
                "the schemas are too complex to compare (more than {MAX_RECORDED} incompatibilities)"
            ));
        }
        Ok(Raw {
            path: self.location().path(),
            detail,
        })
    }

    /// Java `getCompatibility(token, reader, writer, location)`.
    fn enter(
        &mut self,
        frames: &mut Vec<Frame<'a>>,
        token: Token,
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        fresh: bool,
    ) -> Result<Step<'a>, String> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(format!(
                "the schemas are too complex to compare (more than {MAX_STEPS} type pairs)"
            ));
        }
        if fresh {
            let mut location = self.spare.pop().unwrap_or_default();
            location.reset(&self.root);
            self.locations.push(location);
        } else {
            self.push_token(token);
        }
        let key = (reader.id(), writer.id());
        let known = match self.memo.get(&key) {
            // A pair met again while it is being checked: compatible unless proven otherwise.
            Some(Memo::InProgress) => Some(self.empty.clone()),
            Some(Memo::Done(result)) => Some(result.clone()),
            None => None,
        };
        if let Some(result) = known {
            self.leave(fresh);
            return Ok(Step::Return(result));
        }
        self.memo.insert(key, Memo::InProgress);
        frames.push(Frame::Get { key, fresh });
        self.calculate(frames, reader, writer)
    }

    fn leave(&mut self, fresh: bool) {
        if fresh {
            if let Some(location) = self.locations.pop() {
                self.spare.push(location);
            }
        } else {
            self.pop_token();
        }
    }

    fn result(&self, acc: Vec<Raw<'a>>) -> Res<'a> {
        if acc.is_empty() {
            self.empty.clone()
        } else {
            Rc::new(acc)
        }
    }

    fn resume(
        &mut self,
        frames: &mut Vec<Frame<'a>>,
        frame: Frame<'a>,
        result: Res<'a>,
    ) -> Result<Step<'a>, String> {
        match frame {
            Frame::Get { key, fresh } => {
                self.memo.insert(key, Memo::Done(result.clone()));
                self.leave(fresh);
                Ok(Step::Return(result))
            }
            Frame::Record {
                reader,
                writer,
                mut acc,
                next,
            } => {
                merge(&mut acc, &result);
                self.pop_token(); // the field position
                self.record_fields(frames, reader, writer, acc, next + 1)
            }
            Frame::UnionUnion {
                reader,
                writer,
                mut acc,
                next,
            } => {
                if !result.is_empty() && acc.len() < MAX_INCOMPATIBILITIES {
                    let branch_type = writer
                        .branch_at(next)
                        .map_or(AvroType::Null, |b| b.avro_type());
                    acc.push(self.incompatible(Detail::Lacking(branch_type))?);
                }
                self.pop_token(); // the writer branch index
                self.union_union(frames, reader, writer, acc, next + 1)
            }
            Frame::WriterUnion {
                reader,
                writer,
                mut acc,
                next,
            } => {
                merge(&mut acc, &result);
                self.writer_union(frames, reader, writer, acc, next + 1)
            }
            Frame::ReaderUnion {
                reader,
                writer,
                next,
            } => {
                if result.is_empty() {
                    return Ok(Step::Return(self.empty.clone()));
                }
                self.reader_union(frames, reader, writer, next + 1)
            }
        }
    }

    /// Java `calculateCompatibility`.
    fn calculate(
        &mut self,
        frames: &mut Vec<Frame<'a>>,
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
    ) -> Result<Step<'a>, String> {
        use AvroType::*;
        let (rt, wt) = (reader.avro_type(), writer.avro_type());
        if rt == wt {
            return match rt {
                Null | Boolean | Int | Long | Float | Double | Bytes | String => {
                    Ok(Step::Return(self.empty.clone()))
                }
                Array => Ok(match (reader.items(), writer.items()) {
                    (Some(r), Some(w)) => Step::Call {
                        token: Token::Text("items"),
                        reader: r,
                        writer: w,
                        fresh: false,
                    },
                    _ => Step::Return(self.empty.clone()),
                }),
                Map => Ok(match (reader.values(), writer.values()) {
                    (Some(r), Some(w)) => Step::Call {
                        token: Token::Text("values"),
                        reader: r,
                        writer: w,
                        fresh: false,
                    },
                    _ => Step::Return(self.empty.clone()),
                }),
                Fixed => {
                    let mut acc = self.check_names(reader, writer)?;
                    let (expected, found) = (writer.fixed_size(), reader.fixed_size());
                    if expected != found {
                        let detail = Detail::Size(expected.unwrap_or(0), found.unwrap_or(0));
                        acc.push(self.incompatible(detail)?);
                    }
                    Ok(Step::Return(self.result(acc)))
                }
                Enum => {
                    let mut acc = self.check_names(reader, writer)?;
                    let reader_symbols: HashSet<&str> = reader
                        .symbols()
                        .iter()
                        .map(std::string::String::as_str)
                        .collect();
                    let mut missing: Vec<&str> = writer
                        .symbols()
                        .iter()
                        .map(std::string::String::as_str)
                        .filter(|s| !reader_symbols.contains(s))
                        .collect();
                    missing.sort_by(|a, b| java_cmp(a, b));
                    missing.dedup();
                    let reader_default_ok = reader
                        .enum_default()
                        .is_some_and(|d| reader_symbols.contains(d));
                    if !missing.is_empty() && !reader_default_ok {
                        let list: Rc<str> = format!("[{}]", missing.join(", ")).into();
                        acc.push(self.incompatible(Detail::Symbols(list))?);
                    }
                    Ok(Step::Return(self.result(acc)))
                }
                Record => {
                    let acc = self.check_names(reader, writer)?;
                    self.push_token(Token::Text("fields"));
                    self.record_fields(frames, reader, writer, acc, 0)
                }
                Union => self.union_union(frames, reader, writer, Vec::new(), 0),
            };
        }
        if wt == Union {
            return self.writer_union(frames, reader, writer, Vec::new(), 0);
        }
        let promotable = match rt {
            Long => wt == Int,
            Float => matches!(wt, Int | Long),
            Double => matches!(wt, Int | Long | Float),
            Bytes => wt == String,
            String => wt == Bytes,
            Union => return self.reader_union(frames, reader, writer, 0),
            Null | Boolean | Int | Array | Map | Fixed | Enum | Record => false,
        };
        if promotable {
            return Ok(Step::Return(self.empty.clone()));
        }
        let mismatch = self.incompatible(Detail::Types(rt, wt))?;
        Ok(Step::Return(Rc::new(vec![mismatch])))
    }

    /// Java `checkSchemaNames`: equal simple names, or a reader alias equal to the writer's full
    /// name.
    fn check_names(
        &mut self,
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
    ) -> Result<Vec<Raw<'a>>, String> {
        let writer_full = writer.full_name().unwrap_or_default();
        if reader.name() == writer.name() || reader.aliases().iter().any(|a| a == writer_full) {
            return Ok(Vec::new());
        }
        Ok(vec![self.incompatible(Detail::Name(writer))?])
    }

    /// Java `lookupWriterField`: the writer field named like the reader field or one of its
    /// aliases. Several matches make Java throw.
    fn lookup_writer_field(
        &mut self,
        writer: SchemaNode<'a>,
        reader_field: FieldNode<'a>,
    ) -> Result<Option<FieldNode<'a>>, String> {
        let index = self.field_index.entry(writer.id()).or_insert_with(|| {
            let mut map = HashMap::new();
            for f in writer.fields() {
                map.entry(f.name()).or_insert(f);
            }
            map
        });
        let mut found: Option<FieldNode<'a>> = index.get(reader_field.name()).copied();
        let mut matches = usize::from(found.is_some());
        for alias in reader_field.aliases() {
            if let Some(f) = index.get(alias.as_str()) {
                found = Some(*f);
                matches += 1;
            }
        }
        if matches > 1 {
            return Err(format!(
                "Reader record field {} type:{} pos:{} matches multiple fields in writer record schema {}",
                reader_field.name(),
                reader_field.schema().avro_type().java_name(),
                reader_field.position(),
                writer.to_json()
            ));
        }
        Ok(found)
    }

    /// Java `checkReaderWriterRecordFields`, from reader field `next` on. The `fields` token is
    /// on the location stack; it is popped when the last field is done.
    fn record_fields(
        &mut self,
        frames: &mut Vec<Frame<'a>>,
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        mut acc: Vec<Raw<'a>>,
        mut next: usize,
    ) -> Result<Step<'a>, String> {
        while let Some(field) = reader.field_at(next) {
            self.push_token(Token::Index(field.position()));
            let call = match self.lookup_writer_field(writer, field)? {
                Some(writer_field) => Some((field.schema(), writer_field.schema())),
                None if field.has_default() => None,
                // An enum with its own default is checked against the whole writer record (which
                // always fails as a type mismatch, but with that message).
                None if field.schema().avro_type() == AvroType::Enum
                    && field.schema().enum_default().is_some() =>
                {
                    Some((field.schema(), writer))
                }
                None => {
                    if acc.len() < MAX_INCOMPATIBILITIES {
                        acc.push(self.incompatible(Detail::MissingDefault(field))?);
                    }
                    None
                }
            };
            if let Some((reader_type, writer_type)) = call {
                frames.push(Frame::Record {
                    reader,
                    writer,
                    acc,
                    next,
                });
                return Ok(Step::Call {
                    token: Token::Text("type"),
                    reader: reader_type,
                    writer: writer_type,
                    fresh: false,
                });
            }
            self.pop_token();
            next += 1;
        }
        self.pop_token(); // "fields"
        Ok(Step::Return(self.result(acc)))
    }

    fn union_union(
        &mut self,
        frames: &mut Vec<Frame<'a>>,
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        acc: Vec<Raw<'a>>,
        next: usize,
    ) -> Result<Step<'a>, String> {
        let Some(branch) = writer.branch_at(next) else {
            return Ok(Step::Return(self.result(acc)));
        };
        self.push_token(Token::Index(next));
        frames.push(Frame::UnionUnion {
            reader,
            writer,
            acc,
            next,
        });
        Ok(Step::Call {
            token: Token::Root,
            reader,
            writer: branch,
            fresh: true,
        })
    }

    fn writer_union(
        &mut self,
        frames: &mut Vec<Frame<'a>>,
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        acc: Vec<Raw<'a>>,
        next: usize,
    ) -> Result<Step<'a>, String> {
        let Some(branch) = writer.branch_at(next) else {
            return Ok(Step::Return(self.result(acc)));
        };
        frames.push(Frame::WriterUnion {
            reader,
            writer,
            acc,
            next,
        });
        Ok(Step::Call {
            token: Token::Index(next),
            reader,
            writer: branch,
            fresh: false,
        })
    }

    fn reader_union(
        &mut self,
        frames: &mut Vec<Frame<'a>>,
        reader: SchemaNode<'a>,
        writer: SchemaNode<'a>,
        next: usize,
    ) -> Result<Step<'a>, String> {
        let Some(branch) = reader.branch_at(next) else {
            let lacking = self.incompatible(Detail::Lacking(writer.avro_type()))?;
            return Ok(Step::Return(Rc::new(vec![lacking])));
        };
        frames.push(Frame::ReaderUnion {
            reader,
            writer,
            next,
        });
        Ok(Step::Call {
            token: Token::Root,
            reader: branch,
            writer,
            fresh: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_serde::avro::ParseOptions;

    fn parse(text: &str) -> AvroSchema {
        AvroSchema::parse(text, &[], ParseOptions { validate: false }).expect("test schema parses")
    }

    fn summary(reader: &str, writer: &str) -> Vec<String> {
        check(&parse(reader), &parse(writer))
            .iter()
            .map(|i| format!("{} {} {}", i.error_type, i.location, i.message))
            .collect()
    }

    #[test]
    fn recursive_types_terminate() {
        let list = r#"{"type":"record","name":"L","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","L"]}]}"#;
        let list_long = r#"{"type":"record","name":"L","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","L"]}]}"#;
        assert!(summary(list_long, list).is_empty());
        assert_eq!(
            summary(list, list_long),
            vec!["TYPE_MISMATCH /fields/0/type reader type: INT not compatible with writer type: LONG"]
        );
    }

    #[test]
    fn union_locations_follow_java() {
        assert_eq!(
            summary(r#"["null","long"]"#, r#"["null","int","string"]"#),
            vec!["MISSING_UNION_BRANCH /2 reader union lacking writer type: STRING"]
        );
        assert_eq!(
            summary(r#""int""#, r#"["null","int"]"#),
            vec!["TYPE_MISMATCH /0 reader type: INT not compatible with writer type: NULL"]
        );
        assert_eq!(
            summary(r#"["null","int"]"#, r#""string""#),
            vec!["MISSING_UNION_BRANCH / reader union lacking writer type: STRING"]
        );
    }

    #[test]
    fn ambiguous_aliases_abort_like_java() {
        let reader =
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","aliases":["b"]}]}"#;
        let writer = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}"#;
        let result = check(&parse(reader), &parse(writer));
        assert_eq!(result.len(), 1);
        assert_eq!(result[0].error_type, UNEXPECTED_EXCEPTION);
        assert!(result[0]
            .to_confluent_message()
            .starts_with("Unexpected exception during compatibility check: Reader record field a type:INT pos:0 matches multiple fields"));
    }

    #[test]
    fn confluent_message_templates() {
        let inc = Incompatibility {
            error_type: "READER_FIELD_MISSING_DEFAULT_VALUE",
            location: "/fields/1".into(),
            message: "f2".into(),
        };
        assert_eq!(
            inc.to_confluent_message(),
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f2' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'f2'}"
        );
        assert_eq!(
            inc.to_confluent_message_as("old", "new"),
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f2' at path '/fields/1' in the old schema has no default value and is missing in the new schema', additionalInfo:'f2'}"
        );
    }

    #[test]
    fn long_chains_check_without_recursion() {
        // 20 000 named types, each used before it is defined: the comparison goes 20 000 deep.
        let n = 20_000;
        let build = |last: &str, each: &str| {
            let mut fields = vec![r#"{"name":"start","type":"T0"}"#.to_string()];
            for i in 0..n {
                fields.push(format!(
                    r#"{{"name":"d{i}","type":{{"type":"record","name":"T{i}","fields":[{{"name":"x","type":"T{}"}},{{"name":"y","type":"{each}"}}]}}}}"#,
                    i + 1
                ));
            }
            fields.push(format!(
                r#"{{"name":"last","type":{{"type":"record","name":"T{n}","fields":[{{"name":"v","type":"{last}"}}]}}}}"#
            ));
            parse(&format!(
                r#"{{"type":"record","name":"R","fields":[{}]}}"#,
                fields.join(",")
            ))
        };
        let (int, long) = (build("int", "int"), build("long", "int"));
        assert!(check(&long, &int).is_empty());
        // Java reports the deep mismatch once per field that reaches it (memo hits included):
        // 20 002 times; the byte cap on locations keeps the first few.
        let problems = check(&int, &long);
        assert!(problems.iter().all(|p| p.error_type == "TYPE_MISMATCH"));
        assert!(problems[0]
            .location
            .starts_with("/fields/0/type/fields/0/type/fields/0/type"));

        // An incompatibility at every level: the output stays bounded.
        let (a, b) = (build("int", "int"), build("int", "string"));
        let problems = check(&a, &b);
        assert!(!problems.is_empty() && problems.len() <= MAX_INCOMPATIBILITIES);
        let bytes: usize = problems.iter().map(|p| p.location.len()).sum();
        assert!(bytes <= MAX_LOCATION_BYTES + problems[problems.len() - 1].location.len());
    }

    #[test]
    fn big_event_unions_are_checked() {
        // One topic, many event types: 300 records of 20 fields, the new version adds a field
        // with a default to each. Every writer branch is tried against the reader branches in
        // order, and Java checks the fields of each pair even when the names differ.
        let union = |extra: bool| {
            let branches: Vec<String> = (0..300)
                .map(|i| {
                    let mut fields: Vec<String> = (0..20)
                        .map(|j| format!(r#"{{"name":"e{i}f{j}","type":"string"}}"#))
                        .collect();
                    fields.push(r#"{"name":"id","type":"long"}"#.to_string());
                    if extra {
                        fields.push(r#"{"name":"added","type":"int","default":0}"#.to_string());
                    }
                    format!(
                        r#"{{"type":"record","name":"Event{i}","fields":[{}]}}"#,
                        fields.join(",")
                    )
                })
                .collect();
            parse(&format!("[{}]", branches.join(",")))
        };
        let (old, new) = (union(false), union(true));
        let started = std::time::Instant::now();
        assert!(check(&new, &old).is_empty());
        let forward = check(&old, &new);
        eprintln!("300-record unions: {:?}", started.elapsed());
        assert!(forward.is_empty());
    }

    #[test]
    fn huge_union_pairs_hit_the_step_budget() {
        // 2 500 records against 2 500 others: 6 million pairs, more than the step budget.
        let union = |prefix: &str| {
            let branches: Vec<String> = (0..2500)
                .map(|i| format!(r#"{{"type":"record","name":"{prefix}{i}","fields":[]}}"#))
                .collect();
            parse(&format!("[{}]", branches.join(",")))
        };
        let started = std::time::Instant::now();
        let result = check(&union("A"), &union("B"));
        eprintln!("union x union: {:?}", started.elapsed());
        assert_eq!(result.len(), 1);
        assert_eq!(result[0].error_type, UNEXPECTED_EXCEPTION);
        assert!(result[0].message.contains("too complex"));
    }

    #[test]
    fn exponential_sharing_is_capped() {
        // Each level uses the previous type twice: Java's merged lists double per level.
        let mut defs =
            String::from(r#"{"type":"record","name":"T0","fields":[{"name":"x","type":"int"}]}"#);
        for i in 1..30 {
            defs = format!(
                r#"{{"type":"record","name":"T{i}","fields":[{{"name":"a","type":{defs}}},{{"name":"b","type":"T{}"}}]}}"#,
                i - 1
            );
        }
        let reader = parse(&defs);
        let writer = parse(&defs.replace(
            r#""name":"x","type":"int""#,
            r#""name":"x","type":"string""#,
        ));
        let result = check(&reader, &writer);
        assert!(!result.is_empty());
        assert!(result.len() <= MAX_INCOMPATIBILITIES);
    }
}
