//! The `.proto` printer behind [`ProtobufSchema::canonical`](super::ProtobufSchema::canonical)
//! and [`ProtobufSchema::normalized`](super::ProtobufSchema::normalized), laid out as Confluent's
//! `ProtobufSchemaUtils.toString` lays out a Wire `ProtoFileElement`:
//!
//! `syntax`, `package`, imports, options, then messages before enums, then `extend` blocks and
//! services; inside a message: reserved, options, fields, oneofs, extension ranges, then nested
//! messages and nested enums; two-space indentation; sections separated by one blank line.
//! Departures from Confluent, for printed text that always compiles again: nested `extend`
//! blocks are printed (last in their message), custom options are named fully qualified, and
//! the normal form keeps a proto3 enum's zero value first when negative values sort before it.
//!
//! The normal form additionally sorts imports, options, fields (by number), oneofs (by their
//! first field), enum constants and reserved values, spells every named type fully-qualified
//! with a leading dot, writes map fields as `map<K, V>` without their entry messages, and sorts
//! the keys of message-valued options. Message order is kept: message indexes depend on it.

use super::model::{
    EnumConstant, EnumElement, ExtendElement, FieldElement, FieldType, MessageElement,
    OneOfElement, OptionElement, OptionValue, ProtoFile, Reserved, RpcElement, ServiceElement,
};

/// Prints `file`; `normalize` selects Confluent's normal form.
pub(crate) fn print_file(file: &ProtoFile, normalize: bool) -> String {
    let p = Printer {
        normalize,
        is_proto3: file.is_proto3,
    };
    let mut sb = String::new();
    if let Some(s) = &file.syntax {
        sb.push_str(&format!("syntax = \"{s}\";\n"));
    }
    if let Some(pkg) = &file.package {
        sb.push_str(&format!("package {pkg};\n"));
    }
    if !file.imports.is_empty() || !file.public_imports.is_empty() {
        sb.push('\n');
        for i in p.sorted_distinct(&file.imports) {
            sb.push_str(&format!("import \"{i}\";\n"));
        }
        for i in p.sorted_distinct(&file.public_imports) {
            sb.push_str(&format!("import public \"{i}\";\n"));
        }
    }
    if !file.options.is_empty() {
        sb.push('\n');
        for o in p.sorted_options(&file.options) {
            sb.push_str(&p.option_statement(o));
        }
    }
    if !file.messages.is_empty() || !file.enums.is_empty() {
        sb.push('\n');
        for m in &file.messages {
            if normalize && m.is_map_entry {
                continue;
            }
            sb.push_str(&p.message(m, 0));
        }
        for e in &file.enums {
            sb.push_str(&p.enumeration(e));
        }
    }
    if !file.extends.is_empty() {
        sb.push('\n');
        for e in &file.extends {
            sb.push_str(&p.extend(e));
        }
    }
    if !file.services.is_empty() {
        sb.push('\n');
        for s in &file.services {
            sb.push_str(&p.service(s));
        }
    }
    sb
}

struct Printer {
    normalize: bool,
    is_proto3: bool,
}

impl Printer {
    fn sorted_distinct<'a>(&self, items: &'a [String]) -> Vec<&'a String> {
        let mut v: Vec<&String> = items.iter().collect();
        if self.normalize {
            v.sort();
            v.dedup();
        }
        v
    }

    fn sorted_options<'a>(&self, options: &'a [OptionElement]) -> Vec<&'a OptionElement> {
        let mut v: Vec<&OptionElement> = options.iter().collect();
        if self.normalize {
            v.sort_by(|a, b| a.name.cmp(&b.name));
        }
        v
    }

    fn message(&self, m: &MessageElement, depth: usize) -> String {
        let mut sb = format!("message {} {{", m.name);
        if !m.reserved.is_empty() {
            sb.push('\n');
            let mut reserved: Vec<&Reserved> = m.reserved.iter().collect();
            if self.normalize {
                reserved.sort_by(|a, b| {
                    reserved_key(a)
                        .cmp(&reserved_key(b))
                        .then_with(|| reserved_text(a).cmp(&reserved_text(b)))
                });
            }
            for r in reserved {
                append_indented(&mut sb, &format!("reserved {};\n", reserved_value(r)));
            }
        }
        if !m.options.is_empty() {
            sb.push('\n');
            for o in self.sorted_options(&m.options) {
                append_indented(&mut sb, &self.option_statement(o));
            }
        }
        if !m.fields.is_empty() {
            sb.push('\n');
            let mut fields: Vec<&FieldElement> = m.fields.iter().collect();
            if self.normalize {
                fields.sort_by_key(|f| f.number);
            }
            for f in fields {
                append_indented(&mut sb, &self.field(f));
            }
        }
        if !m.oneofs.is_empty() {
            sb.push('\n');
            let mut oneofs: Vec<(&OneOfElement, Vec<&FieldElement>)> = m
                .oneofs
                .iter()
                .map(|o| (o, o.fields.iter().collect()))
                .collect();
            if self.normalize {
                oneofs.retain(|(_, f)| !f.is_empty());
                for (_, f) in oneofs.iter_mut() {
                    f.sort_by_key(|f| f.number);
                }
                oneofs.sort_by_key(|(_, f)| f.first().map(|f| f.number).unwrap_or(0));
            }
            for (o, fields) in oneofs {
                let mut s = format!("oneof {} {{", o.name);
                if !fields.is_empty() {
                    s.push('\n');
                    for f in fields {
                        append_indented(&mut s, &self.field(f));
                    }
                }
                s.push_str("}\n");
                append_indented(&mut sb, &s);
            }
        }
        if !m.extension_ranges.is_empty() {
            sb.push('\n');
            for (start, end) in &m.extension_ranges {
                let s = if start == end {
                    format!("extensions {start};\n")
                } else if *end >= MAX_FIELD_NUMBER {
                    format!("extensions {start} to max;\n")
                } else {
                    format!("extensions {start} to {end};\n")
                };
                append_indented(&mut sb, &s);
            }
        }
        let nested_messages: Vec<&MessageElement> = m
            .messages
            .iter()
            .filter(|n| !(self.normalize && n.is_map_entry))
            .collect();
        if !m.messages.is_empty() || !m.enums.is_empty() {
            sb.push('\n');
            if depth < super::model::MAX_NESTING {
                for n in nested_messages {
                    append_indented(&mut sb, &self.message(n, depth + 1));
                }
            }
            for e in &m.enums {
                append_indented(&mut sb, &self.enumeration(e));
            }
        }
        // Confluent leaves nested `extend` blocks out; they are kept here so that the printed
        // text still compiles when the file uses its own nested extensions as options.
        if !m.extends.is_empty() {
            sb.push('\n');
            for e in &m.extends {
                append_indented(&mut sb, &self.extend(e));
            }
        }
        sb.push_str("}\n");
        sb
    }

    fn enumeration(&self, e: &EnumElement) -> String {
        let mut sb = format!("enum {} {{", e.name);
        if !e.options.is_empty() || !e.values.is_empty() {
            sb.push('\n');
        }
        for o in self.sorted_options(&e.options) {
            append_indented(&mut sb, &self.option_statement(o));
        }
        let mut values: Vec<&EnumConstant> = e.values.iter().collect();
        if self.normalize {
            values.sort_by(|a, b| a.number.cmp(&b.number).then_with(|| a.name.cmp(&b.name)));
            // proto3 wants the zero value first: with negative numbers, sorting alone would
            // print text that no longer compiles (Confluent's normal form has that flaw).
            if self.is_proto3 {
                if let Some(zero) = values.iter().position(|v| v.number == 0) {
                    values[..=zero].rotate_right(1);
                }
            }
        }
        for v in values {
            let mut s = format!("{} = {}", v.name, v.number);
            if !v.options.is_empty() {
                s.push(' ');
                let opts = self.sorted_options(&v.options);
                s.push_str(&self.bracket_options(&opts));
            }
            s.push_str(";\n");
            append_indented(&mut sb, &s);
        }
        sb.push_str("}\n");
        sb
    }

    fn field(&self, f: &FieldElement) -> String {
        let mut label = f.label;
        let type_text = if self.normalize {
            if matches!(f.field_type, FieldType::Map { .. }) {
                label = None;
            }
            f.field_type.normalized_name()
        } else {
            f.type_text.clone()
        };
        let mut sb = String::new();
        if let Some(l) = label {
            sb.push_str(l.as_str());
            sb.push(' ');
        }
        sb.push_str(&format!("{} {} = {}", type_text, f.name, f.number));

        let mut options: Vec<OptionElement> = f.options.clone();
        if let Some(d) = &f.default_value {
            options.push(OptionElement {
                name: "default".into(),
                parenthesized: false,
                value: default_value(&f.field_type, d),
            });
        }
        if let Some(j) = &f.json_name {
            options.push(OptionElement {
                name: "json_name".into(),
                parenthesized: false,
                value: OptionValue::String(j.clone()),
            });
        }
        if !options.is_empty() {
            sb.push(' ');
            let refs = self.sorted_options(&options);
            sb.push_str(&self.bracket_options(&refs));
        }
        sb.push_str(";\n");
        sb
    }

    fn extend(&self, e: &ExtendElement) -> String {
        let mut sb = format!("extend {} {{", e.extendee);
        if !e.fields.is_empty() {
            sb.push('\n');
            for f in &e.fields {
                append_indented(&mut sb, &self.field(f));
            }
        }
        sb.push_str("}\n");
        sb
    }

    fn service(&self, s: &ServiceElement) -> String {
        let mut sb = format!("service {} {{", s.name);
        if !s.options.is_empty() {
            sb.push('\n');
            for o in self.sorted_options(&s.options) {
                append_indented(&mut sb, &self.option_statement(o));
            }
        }
        if !s.rpcs.is_empty() {
            sb.push('\n');
            for r in &s.rpcs {
                append_indented(&mut sb, &self.rpc(r));
            }
        }
        sb.push_str("}\n");
        sb
    }

    fn rpc(&self, r: &RpcElement) -> String {
        let (input, output) = if self.normalize {
            (
                format!(".{}", r.input_full_name),
                format!(".{}", r.output_full_name),
            )
        } else {
            (r.input_type.clone(), r.output_type.clone())
        };
        let mut sb = format!("rpc {} (", r.name);
        if r.client_streaming {
            sb.push_str("stream ");
        }
        sb.push_str(&input);
        sb.push_str(") returns (");
        if r.server_streaming {
            sb.push_str("stream ");
        }
        sb.push_str(&output);
        sb.push(')');
        if !r.options.is_empty() {
            sb.push_str(" {\n");
            for o in self.sorted_options(&r.options) {
                append_indented(&mut sb, &self.option_statement(o));
            }
            sb.push('}');
        }
        sb.push_str(";\n");
        sb
    }

    fn option_statement(&self, o: &OptionElement) -> String {
        format!("option {};\n", self.option(o))
    }

    /// `[a = 1]`, or one option per line for several.
    fn bracket_options(&self, options: &[&OptionElement]) -> String {
        if options.len() == 1 {
            return format!("[{}]", self.option(options[0]));
        }
        let mut sb = String::from("[\n");
        for (i, o) in options.iter().enumerate() {
            let endl = if i + 1 < options.len() { "," } else { "" };
            append_indented(&mut sb, &format!("{}{endl}", self.option(o)));
        }
        sb.push(']');
        sb
    }

    fn option(&self, o: &OptionElement) -> String {
        let mut sb = if o.parenthesized {
            format!("({})", o.name)
        } else {
            o.name.clone()
        };
        match &o.value {
            OptionValue::String(s) => sb.push_str(&format!(" = \"{}\"", escape(s))),
            OptionValue::Bool(b) => sb.push_str(&format!(" = {b}")),
            OptionValue::Number(n) | OptionValue::Enum(n) => sb.push_str(&format!(" = {n}")),
            OptionValue::Map(m) => {
                sb.push_str(" = {\n");
                self.option_map(&mut sb, m, 0);
                sb.push('}');
            }
            OptionValue::List(l) => {
                sb.push_str(" = ");
                sb.push_str(&self.list_value(l, 0));
            }
        }
        sb
    }

    fn option_map(&self, sb: &mut String, map: &[(String, OptionValue)], depth: usize) {
        let mut entries: Vec<&(String, OptionValue)> = map.iter().collect();
        if self.normalize {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let last = entries.len().saturating_sub(1);
        for (i, (k, v)) in entries.into_iter().enumerate() {
            let endl = if i != last { "," } else { "" };
            append_indented(sb, &format!("{k}: {}{endl}", self.map_value(v, depth + 1)));
        }
    }

    fn map_value(&self, v: &OptionValue, depth: usize) -> String {
        if depth > super::model::MAX_NESTING {
            return String::new();
        }
        match v {
            OptionValue::String(s) => format!("\"{}\"", escape(s)),
            OptionValue::Bool(b) => b.to_string(),
            OptionValue::Number(n) | OptionValue::Enum(n) => n.clone(),
            OptionValue::Map(m) => {
                let mut sb = String::from("{\n");
                self.option_map(&mut sb, m, depth);
                sb.push('}');
                sb
            }
            OptionValue::List(l) => self.list_value(l, depth),
        }
    }

    fn list_value(&self, l: &[OptionValue], depth: usize) -> String {
        let mut sb = String::from("[\n");
        let last = l.len().saturating_sub(1);
        for (i, v) in l.iter().enumerate() {
            let endl = if i != last { "," } else { "" };
            append_indented(&mut sb, &format!("{}{endl}", self.map_value(v, depth + 1)));
        }
        sb.push(']');
        sb
    }
}

/// The largest field number (`max`).
const MAX_FIELD_NUMBER: i32 = 536_870_911;

fn default_value(t: &FieldType, d: &str) -> OptionValue {
    match t {
        FieldType::Scalar(super::model::Scalar::String) => OptionValue::String(d.to_string()),
        // The descriptor keeps bytes defaults C-escaped already: quote them as they are.
        FieldType::Scalar(super::model::Scalar::Bytes) => OptionValue::Number(format!("\"{d}\"")),
        FieldType::Scalar(super::model::Scalar::Bool) => OptionValue::Bool(d == "true"),
        FieldType::Scalar(_) => OptionValue::Number(d.to_string()),
        _ => OptionValue::Enum(d.to_string()),
    }
}

fn reserved_key(r: &Reserved) -> i32 {
    match r {
        Reserved::Range(start, _) => *start,
        Reserved::Name(_) => i32::MAX,
    }
}

fn reserved_text(r: &Reserved) -> String {
    match r {
        Reserved::Range(a, b) if a == b => a.to_string(),
        Reserved::Range(a, b) => format!("{a}..{b}"),
        Reserved::Name(n) => n.clone(),
    }
}

fn reserved_value(r: &Reserved) -> String {
    match r {
        Reserved::Range(a, b) if a == b => a.to_string(),
        Reserved::Range(a, b) => format!("{a} to {b}"),
        Reserved::Name(n) => format!("\"{n}\""),
    }
}

/// Indents every line of `value` by two spaces. Lines are split as Java's `String.split` does,
/// which drops trailing empty strings (an empty `value` stays one empty line).
fn append_indented(sb: &mut String, value: &str) {
    let mut lines: Vec<&str> = value.split('\n').collect();
    if !value.is_empty() {
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
    }
    for line in lines {
        sb.push_str("  ");
        sb.push_str(line);
        sb.push('\n');
    }
}

/// Confluent's `escapeChars`.
pub(crate) fn escape(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}
