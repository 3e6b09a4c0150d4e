//! A small JSON reader and writer that behave like the Jackson setup inside Avro's Java library.
//!
//! Why not `serde_json::Value`: the canonical text Confluent stores is produced by Jackson, and
//! three Jackson behaviours leak into it that `serde_json` cannot reproduce without extra
//! features:
//! - numbers keep their Jackson class: an integer literal is an `int` node if it fits 32 bits, a
//!   `long` node if it fits 64 bits and a `BigInteger` node otherwise, and any literal with a
//!   fraction or exponent is a `double` node, printed back with Java's `Double.toString`
//!   (`1e3` is stored as `1000.0`); default-value validation depends on these classes too;
//! - Avro enables `ALLOW_COMMENTS`, so `/* … */` and `// …` are accepted;
//! - strings are escaped with upper-case `\u00XX` escapes.
//!
//! The reader is recursive but refuses nesting deeper than [`MAX_DEPTH`], so hostile input cannot
//! exhaust the stack (this is also `serde_json`'s default limit).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Deepest nesting of arrays and objects accepted by [`parse`].
pub(crate) const MAX_DEPTH: usize = 128;

/// A parsed JSON value, with numbers classified the way Jackson classifies them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// An integer literal that fits in 64 bits (Jackson `IntNode` or `LongNode`).
    Int(i64),
    /// An integer literal too large for 64 bits (Jackson `BigIntegerNode`), as written (digits).
    BigInt(String),
    /// A literal with a fraction or an exponent (Jackson `DoubleNode`). May be infinite when the
    /// literal overflows, or NaN when Avro converted the text `"NaN"` for a float field.
    Double(f64),
    Str(String),
    Array(Vec<Json>),
    /// Members in document order; a repeated key keeps its first position and its last value,
    /// like Jackson's `ObjectNode`.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Looks up a member of an object (`None` for other values).
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Jackson `textValue()`: the string if this is a string, else nothing.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Jackson `isNumber()`.
    pub(crate) fn is_number(&self) -> bool {
        matches!(self, Json::Int(_) | Json::BigInt(_) | Json::Double(_))
    }

    /// Jackson `isInt()`: an integer literal that fits 32 bits.
    pub(crate) fn is_java_int(&self) -> bool {
        matches!(self, Json::Int(v) if i32::try_from(*v).is_ok())
    }

    /// Compact JSON as Jackson's `JsonNode.toString()` writes it.
    pub(crate) fn to_java_string(&self) -> String {
        let mut out = String::new();
        write_json(&mut out, self);
        out
    }
}

/// Parses one JSON document the way Avro's Jackson `ObjectMapper` does (comments allowed,
/// nothing but whitespace after the value).
pub(crate) fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser {
        src: text.as_bytes(),
        pos: 0,
    };
    p.skip_ws()?;
    if p.pos >= p.src.len() {
        return Err("No content to map due to end-of-input".to_string());
    }
    let value = p.value(0)?;
    p.skip_ws()?;
    if p.pos < p.src.len() {
        return Err(format!(
            "dangling content after end of schema at {}",
            p.position()
        ));
    }
    Ok(value)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn position(&self) -> String {
        let upto = &self.src[..self.pos.min(self.src.len())];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = upto.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        format!("line {line}, column {column}")
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at {}", self.position()))
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    /// Skips whitespace and comments (Jackson `ALLOW_COMMENTS`: `/* … */` and `// …`).
    fn skip_ws(&mut self) -> Result<(), String> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') => match self.src.get(self.pos + 1) {
                    Some(b'/') => {
                        while let Some(b) = self.peek() {
                            if b == b'\n' || b == b'\r' {
                                break;
                            }
                            self.pos += 1;
                        }
                    }
                    Some(b'*') => {
                        let start = self.pos;
                        self.pos += 2;
                        loop {
                            match self.peek() {
                                None => {
                                    self.pos = start;
                                    return self.err("Unexpected end-of-input in a comment");
                                }
                                Some(b'*') if self.src.get(self.pos + 1) == Some(&b'/') => {
                                    self.pos += 2;
                                    break;
                                }
                                Some(_) => self.pos += 1,
                            }
                        }
                    }
                    _ => return self.err("Unexpected character '/'"),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        match self.peek() {
            None => self.err("Unexpected end-of-input"),
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return self.err("JSON nesting is too deep");
                }
                self.object(depth + 1)
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return self.err("JSON nesting is too deep");
                }
                self.array(depth + 1)
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(c) => self.err(&format!("Unexpected character '{}'", char::from(c))),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if self.src[self.pos..].starts_with(word.as_bytes()) {
            let end = self.pos + word.len();
            // `truex` is one bad token, not `true` followed by garbage.
            if matches!(self.src.get(end), Some(c) if c.is_ascii_alphanumeric() || *c == b'_') {
                return self.err("Unrecognized token");
            }
            self.pos = end;
            Ok(value)
        } else {
            self.err("Unrecognized token")
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, String> {
        self.pos += 1; // '{'
        let mut members: Vec<(String, Json)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        self.skip_ws()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_ws()?;
            if self.peek() != Some(b'"') {
                return self.err("Expected a field name in double quotes");
            }
            let key = self.string()?;
            self.skip_ws()?;
            if self.peek() != Some(b':') {
                return self.err("Expected ':'");
            }
            self.pos += 1;
            self.skip_ws()?;
            let value = self.value(depth)?;
            match index.get(&key) {
                Some(&at) => members[at].1 = value,
                None => {
                    index.insert(key.clone(), members.len());
                    members.push((key, value));
                }
            }
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                _ => return self.err("Expected ',' or '}'"),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, String> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_ws()?;
            items.push(self.value(depth)?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return self.err("Expected ',' or ']'"),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.src.get(self.pos..self.pos + 4);
        let parsed = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match parsed {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.err("Invalid \\u escape"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            match std::str::from_utf8(&self.src[start..self.pos]) {
                Ok(s) => out.push_str(s),
                Err(_) => return self.err("Invalid UTF-8"),
            }
            match self.peek() {
                None => return self.err("Unexpected end-of-input in a string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(esc) = self.peek() else {
                        return self.err("Unexpected end-of-input in a string");
                    };
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                // A high surrogate must be followed by an escaped low surrogate.
                                if self.src.get(self.pos..self.pos + 2) != Some(b"\\u") {
                                    return self.err("Unpaired surrogate in \\u escape");
                                }
                                self.pos += 2;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return self.err("Unpaired surrogate in \\u escape");
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            match char::from_u32(code) {
                                Some(c) => out.push(c),
                                None => return self.err("Unpaired surrogate in \\u escape"),
                            }
                        }
                        _ => return self.err("Unrecognized character escape"),
                    }
                }
                Some(_) => return self.err("Illegal unquoted control character in a string"),
            }
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        let int_len = self.pos - int_start;
        if int_len == 0 {
            return self.err("Invalid number: no digits");
        }
        if int_len > 1 && self.src[int_start] == b'0' {
            return self.err("Invalid number: leading zeroes are not allowed");
        }
        let mut floating = false;
        if self.peek() == Some(b'.') {
            floating = true;
            self.pos += 1;
            let frac_start = self.pos;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
            if self.pos == frac_start {
                return self.err("Invalid number: decimal point not followed by a digit");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            floating = true;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let exp_start = self.pos;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
            if self.pos == exp_start {
                return self.err("Invalid number: exponent without digits");
            }
        }
        if matches!(self.peek(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'.') {
            return self.err("Invalid number");
        }
        // The slice holds only ASCII digits, signs, '.', 'e': valid UTF-8 by construction.
        let text = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("0");
        if floating {
            // Rust's float parser rounds correctly, like Java's `Double.parseDouble`.
            match text.parse::<f64>() {
                Ok(v) => Ok(Json::Double(v)),
                Err(_) => self.err("Invalid number"),
            }
        } else {
            match text.parse::<i64>() {
                Ok(v) => Ok(Json::Int(v)),
                Err(_) => Ok(Json::BigInt(text.to_string())),
            }
        }
    }
}

/// Writes `value` compactly, as Jackson's generator does.
pub(crate) fn write_json(out: &mut String, value: &Json) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Json::BigInt(digits) => out.push_str(digits),
        Json::Double(v) => write_double(out, *v),
        Json::Str(s) => write_str(out, s),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
    }
}

/// Writes a double as Jackson does: Java `Double.toString`, and the non-finite values as quoted
/// strings (`QUOTE_NON_NUMERIC_NUMBERS` is on by default).
pub(crate) fn write_double(out: &mut String, v: f64) {
    if v.is_finite() {
        out.push_str(&java_double_to_string(v));
    } else {
        out.push('"');
        out.push_str(&java_double_to_string(v));
        out.push('"');
    }
}

/// Writes a float (Java `Float`) as Jackson does.
pub(crate) fn write_float(out: &mut String, v: f32) {
    if v.is_finite() {
        out.push_str(&java_float_to_string(v));
    } else {
        out.push('"');
        out.push_str(&java_double_to_string(f64::from(v)));
        out.push('"');
    }
}

/// Writes a JSON string literal with Jackson's escaping: `\"`, `\\`, the short escapes for
/// backspace, tab, newline, form feed and carriage return, `\u00XX` (upper-case hex) for the other
/// control characters, and everything else as is.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `Double.toString` (JDK 19+, shortest representation): plain notation for magnitudes in
/// `[1e-3, 1e7)`, computerized scientific notation (`1.0E10`, `1.5E-5`) otherwise, and always at
/// least one digit after the point.
pub(crate) fn java_double_to_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    // `{:e}` prints the shortest digits that read back to the same value.
    java_format(&format!("{v:e}"), v == 0.0, v.is_sign_negative(), v.abs())
}

/// Java's `Float.toString`, with the same layout rules as [`java_double_to_string`].
pub(crate) fn java_float_to_string(v: f32) -> String {
    if !v.is_finite() {
        return java_double_to_string(f64::from(v));
    }
    java_format(
        &format!("{v:e}"),
        v == 0.0,
        v.is_sign_negative(),
        f64::from(v.abs()),
    )
}

fn java_format(sci: &str, zero: bool, negative: bool, magnitude: f64) -> String {
    let sign = if negative { "-" } else { "" };
    if zero {
        return format!("{sign}0.0");
    }
    let body = sci.trim_start_matches('-');
    let (mantissa, exp) = body.split_once('e').unwrap_or((body, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    if (1e-3..1e7).contains(&magnitude) {
        if exp >= 0 {
            let point = usize::try_from(exp).unwrap_or(0) + 1;
            let (int_part, frac_part) = if digits.len() > point {
                (digits[..point].to_string(), digits[point..].to_string())
            } else {
                (
                    format!("{digits}{}", "0".repeat(point - digits.len())),
                    "0".to_string(),
                )
            };
            format!("{sign}{int_part}.{frac_part}")
        } else {
            let zeros = usize::try_from(-exp - 1).unwrap_or(0);
            format!("{sign}0.{}{digits}", "0".repeat(zeros))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Java's `String.compareTo`: compares UTF-16 code units, which is what `TreeSet<String>` and
/// `TreeMap<String, _>` sort by. It differs from Rust's byte order only for characters above
/// U+FFFF against characters in U+E000..U+FFFF.
pub(crate) fn java_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_jackson_class() {
        assert_eq!(parse("1").unwrap(), Json::Int(1));
        assert_eq!(parse("-0").unwrap(), Json::Int(0));
        assert_eq!(parse("4000000000").unwrap(), Json::Int(4_000_000_000));
        assert_eq!(
            parse("123456789012345678901234567890").unwrap(),
            Json::BigInt("123456789012345678901234567890".into())
        );
        assert_eq!(parse("1e3").unwrap(), Json::Double(1000.0));
        assert!(parse("01").is_err());
        assert!(parse("1.").is_err());
        assert!(parse("NaN").is_err());
    }

    #[test]
    fn comments_and_duplicate_keys() {
        let v = parse("/* c */ {\"a\": 1, // x\n \"b\": 2, \"a\": 3}").unwrap();
        assert_eq!(v.to_java_string(), "{\"a\":3,\"b\":2}");
        assert!(parse("{\"a\":1} x").is_err());
        assert!(parse("/* open").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn java_double_formatting() {
        assert_eq!(java_double_to_string(1.0), "1.0");
        assert_eq!(java_double_to_string(100.0), "100.0");
        assert_eq!(java_double_to_string(12.3), "12.3");
        assert_eq!(java_double_to_string(0.001), "0.001");
        assert_eq!(java_double_to_string(0.0001), "1.0E-4");
        assert_eq!(java_double_to_string(1e7), "1.0E7");
        assert_eq!(java_double_to_string(1.5e10), "1.5E10");
        assert_eq!(java_double_to_string(9999999.0), "9999999.0");
        assert_eq!(java_double_to_string(-0.0), "-0.0");
        assert_eq!(java_double_to_string(-2.5e-7), "-2.5E-7");
        assert_eq!(java_float_to_string(12.3_f32), "12.3");
        assert_eq!(java_float_to_string(0.1_f32), "0.1");
    }

    #[test]
    fn string_escaping_matches_jackson() {
        let mut out = String::new();
        write_str(&mut out, "a\"b\\c\n\u{1}é/");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001é/\"");
    }
}
