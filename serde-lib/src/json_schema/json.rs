//! A small JSON layer that reproduces what Confluent's Jackson `ObjectMapper` does with a schema
//! text: numbers keep their literal (floats become exact `BigDecimal`s), object keys keep their
//! order (a repeated key keeps its first position and its last value), and output is compact.
//!
//! serde_json cannot be used for this without `arbitrary_precision`, which would change number
//! handling for the whole workspace, so parsing is done here.

use std::cmp::Ordering;
use std::fmt::Write as _;

/// Maximum nesting of arrays and objects, the same limit serde_json applies.
pub const MAX_DEPTH: usize = 128;

/// A JSON value as Confluent's schema code sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, kept exactly.
    Number(Num),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object; keys in document order, each key once.
    Object(Vec<(String, Json)>),
}

/// A JSON number as Jackson reads it with `USE_BIG_DECIMAL_FOR_FLOATS` and exact decimals:
/// integer literals become integers, any literal with a fraction or exponent a `BigDecimal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Num {
    /// How Jackson writes the number back (`BigDecimal.toString()` for decimals).
    text: String,
    /// Whether the literal had neither fraction nor exponent.
    integer: bool,
    /// The numeric value, for comparisons.
    value: Dec,
}

impl Num {
    /// Jackson's output for this number.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True for integer literals (Java `Integer`/`Long`/`BigInteger`), false for decimals.
    pub fn is_integer(&self) -> bool {
        self.integer
    }

    /// The exact numeric value.
    pub fn value(&self) -> &Dec {
        &self.value
    }
}

/// An exact decimal number: `digits × 10^exp`, with a sign. Zero has empty `digits`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dec {
    negative: bool,
    /// Significant digits without leading or trailing zeros (`""` for zero).
    digits: String,
    exp: i64,
}

impl Dec {
    /// Zero.
    pub fn zero() -> Dec {
        Dec {
            negative: false,
            digits: String::new(),
            exp: 0,
        }
    }

    fn from_parts(negative: bool, raw_digits: &str, exp: i64) -> Dec {
        let trimmed = raw_digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Dec::zero();
        }
        let without_trailing = trimmed.trim_end_matches('0');
        let removed = (trimmed.len() - without_trailing.len()) as i64;
        Dec {
            negative,
            digits: without_trailing.to_string(),
            exp: exp.saturating_add(removed),
        }
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// True for negative numbers.
    pub fn is_negative(&self) -> bool {
        self.negative && !self.is_zero()
    }

    /// Numeric comparison (Java `BigDecimal.compareTo`).
    pub fn cmp_value(&self, other: &Dec) -> Ordering {
        match (self.is_negative(), other.is_negative()) {
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let mag = cmp_magnitude(self, other);
        if self.is_negative() {
            mag.reverse()
        } else {
            mag
        }
    }

    /// Whether `self` is an integer multiple of `divisor` (Java
    /// `self.remainder(divisor).signum() == 0`). False when `divisor` is zero or the numbers are
    /// too far apart in scale to check.
    pub fn is_multiple_of(&self, divisor: &Dec) -> bool {
        if divisor.is_zero() {
            return false;
        }
        if self.is_zero() {
            return true;
        }
        let e = self.exp.min(divisor.exp);
        let (Some(a_shift), Some(b_shift)) = (
            usize::try_from(self.exp - e).ok(),
            usize::try_from(divisor.exp - e).ok(),
        ) else {
            return false;
        };
        if a_shift > 4096 || b_shift > 4096 {
            return false;
        }
        let mut a: Vec<u8> = self.digits.bytes().map(|b| b - b'0').collect();
        a.extend(std::iter::repeat_n(0, a_shift));
        let mut b: Vec<u8> = divisor.digits.bytes().map(|b| b - b'0').collect();
        b.extend(std::iter::repeat_n(0, b_shift));
        decimal_rem_is_zero(&a, &b)
    }

    /// The value as an `i64` when it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.exp < 0 || self.exp > 18 {
            return None;
        }
        let mut s = self.digits.clone();
        for _ in 0..self.exp {
            s.push('0');
        }
        let v: i64 = s.parse().ok()?;
        Some(if self.negative { -v } else { v })
    }
}

fn cmp_magnitude(a: &Dec, b: &Dec) -> Ordering {
    match (a.is_zero(), b.is_zero()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    // Position of the most significant digit.
    let ta = a.exp + a.digits.len() as i64;
    let tb = b.exp + b.digits.len() as i64;
    if ta != tb {
        return ta.cmp(&tb);
    }
    // Same magnitude: compare digit strings padded with zeros on the right.
    let (da, db) = (a.digits.as_bytes(), b.digits.as_bytes());
    let n = da.len().max(db.len());
    for i in 0..n {
        let x = da.get(i).copied().unwrap_or(b'0');
        let y = db.get(i).copied().unwrap_or(b'0');
        if x != y {
            return x.cmp(&y);
        }
    }
    Ordering::Equal
}

/// `a mod b == 0` for decimal digit vectors (most significant first), `b` non-zero.
fn decimal_rem_is_zero(a: &[u8], b: &[u8]) -> bool {
    let b: Vec<u8> = b.iter().copied().skip_while(|d| *d == 0).collect();
    if b.is_empty() {
        return false;
    }
    let mut rem: Vec<u8> = Vec::new();
    for &d in a {
        rem.push(d);
        while rem.first() == Some(&0) {
            rem.remove(0);
        }
        while ge(&rem, &b) {
            sub_in_place(&mut rem, &b);
        }
    }
    rem.iter().all(|d| *d == 0)
}

fn ge(a: &[u8], b: &[u8]) -> bool {
    let a: &[u8] = {
        let i = a.iter().position(|d| *d != 0).unwrap_or(a.len());
        &a[i..]
    };
    if a.len() != b.len() {
        return a.len() > b.len();
    }
    a >= b
}

fn sub_in_place(a: &mut Vec<u8>, b: &[u8]) {
    let mut borrow = 0i16;
    let offset = a.len() - b.len();
    for i in (0..a.len()).rev() {
        let bd = if i >= offset { b[i - offset] as i16 } else { 0 };
        let mut v = a[i] as i16 - bd - borrow;
        if v < 0 {
            v += 10;
            borrow = 1;
        } else {
            borrow = 0;
        }
        a[i] = v as u8;
    }
    while a.first() == Some(&0) {
        a.remove(0);
    }
}

/// A JSON syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What went wrong.
    pub message: String,
    /// Byte offset in the input.
    pub offset: usize,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

/// Parses one JSON value; only whitespace may follow it.
pub fn parse(text: &str) -> Result<Json, SyntaxError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters after the JSON value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> SyntaxError {
        SyntaxError {
            message: msg.to_string(),
            offset: self.i,
        }
    }

    fn ws(&mut self) {
        while let Some(c) = self.s.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, SyntaxError> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(c) if c == b'-' || c.is_ascii_digit() => Ok(Json::Number(self.number()?)),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("recursion limit exceeded"));
        }
        self.i += 1;
        let mut members: Vec<(String, Json)> = Vec::new();
        // Key positions, built once an object is big enough for linear lookups to hurt.
        let mut index: Option<std::collections::HashMap<String, usize>> = None;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a string key"));
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':'"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth)?;
            // Jackson: a repeated key keeps its first position and takes the last value.
            if index.is_none() && members.len() >= 16 {
                index = Some(
                    members
                        .iter()
                        .enumerate()
                        .map(|(i, (k, _))| (k.clone(), i))
                        .collect(),
                );
            }
            let existing = match &index {
                Some(ix) => ix.get(&key).copied(),
                None => members.iter().position(|(k, _)| *k == key),
            };
            match existing {
                Some(pos) => members[pos].1 = v,
                None => {
                    if let Some(ix) = index.as_mut() {
                        ix.insert(key.clone(), members.len());
                    }
                    members.push((key, v));
                }
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("recursion limit exceeded"));
        }
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, SyntaxError> {
        let Some(chunk) = self.s.get(self.i..self.i + 4) else {
            return Err(self.err("truncated \\u escape"));
        };
        let mut v: u16 = 0;
        for &c in chunk {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape")),
            };
            v = v * 16 + d as u16;
        }
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input is a &str and we stopped on ASCII bytes, so this slice is valid UTF-8.
            out.push_str(self.text.get(start..self.i).unwrap_or_default());
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(self.err("lone surrogate in \\u escape"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("invalid surrogate pair"));
                                }
                                let cp = 0x10000
                                    + (((hi as u32) - 0xD800) << 10)
                                    + ((lo as u32) - 0xDC00);
                                char::from_u32(cp)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err("lone surrogate in \\u escape"));
                            } else {
                                char::from_u32(hi as u32)
                            };
                            match c {
                                Some(c) => out.push(c),
                                None => return Err(self.err("invalid \\u escape")),
                            }
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }

    fn number(&mut self) -> Result<Num, SyntaxError> {
        let start = self.i;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let int_start = self.i;
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(c) if c.is_ascii_digit() => {
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
            }
            _ => return Err(self.err("invalid number")),
        }
        let int_digits = &self.text[int_start..self.i];
        let mut frac_digits = "";
        if self.peek() == Some(b'.') {
            self.i += 1;
            let fs = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == fs {
                return Err(self.err("invalid number"));
            }
            frac_digits = &self.text[fs..self.i];
        }
        let mut exp: i64 = 0;
        let mut has_exp = false;
        if matches!(self.peek(), Some(b'e') | Some(b'E')) {
            has_exp = true;
            self.i += 1;
            let mut neg_exp = false;
            match self.peek() {
                Some(b'+') => self.i += 1,
                Some(b'-') => {
                    neg_exp = true;
                    self.i += 1
                }
                _ => {}
            }
            let es = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == es {
                return Err(self.err("invalid number"));
            }
            let e_text = &self.text[es..self.i];
            // BigDecimal's scale is an int; anything near that is refused like Java would.
            exp = match e_text.trim_start_matches('0').len() {
                0 => 0,
                n if n > 9 => return Err(self.err("number exponent out of range")),
                _ => e_text.parse::<i64>().unwrap_or(0),
            };
            if neg_exp {
                exp = -exp;
            }
        }
        let _ = start;
        let integer = frac_digits.is_empty() && !has_exp;
        let all_digits = format!("{int_digits}{frac_digits}");
        let value = Dec::from_parts(negative, &all_digits, exp - frac_digits.len() as i64);
        let text = if integer {
            let trimmed = int_digits.trim_start_matches('0');
            if trimmed.is_empty() {
                "0".to_string()
            } else if negative {
                format!("-{trimmed}")
            } else {
                trimmed.to_string()
            }
        } else {
            let scale = frac_digits.len() as i64 - exp;
            if !(-(i32::MAX as i64)..=i32::MAX as i64).contains(&scale) {
                return Err(self.err("number exponent out of range"));
            }
            big_decimal_to_string(negative, &all_digits, scale)
        };
        Ok(Num {
            text,
            integer,
            value,
        })
    }
}

/// Java `BigDecimal.toString()` for `unscaled × 10^-scale`.
fn big_decimal_to_string(negative: bool, unscaled: &str, scale: i64) -> String {
    let coeff = unscaled.trim_start_matches('0');
    let coeff = if coeff.is_empty() { "0" } else { coeff };
    let sign = if negative && coeff != "0" { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{coeff}");
    }
    let len = coeff.len() as i64;
    let adjusted = -scale + (len - 1);
    if scale > 0 && adjusted >= -6 {
        let pad = scale - len;
        if pad >= 0 {
            let zeros = "0".repeat(pad as usize);
            format!("{sign}0.{zeros}{coeff}")
        } else {
            let split = (len - scale) as usize;
            format!("{sign}{}.{}", &coeff[..split], &coeff[split..])
        }
    } else {
        let mut s = format!("{sign}{}", &coeff[..1]);
        if coeff.len() > 1 {
            s.push('.');
            s.push_str(&coeff[1..]);
        }
        if adjusted != 0 {
            s.push('E');
            if adjusted > 0 {
                s.push('+');
            }
            let _ = write!(s, "{adjusted}");
        }
        s
    }
}

/// Writes `v` compactly the way Jackson does (keys in their order).
pub fn to_compact(v: &Json) -> String {
    let mut out = String::new();
    write_value(&mut out, v, false);
    out
}

/// Writes `v` compactly with every object's keys sorted (Java `String` order), as Confluent's
/// `normalize()` does.
pub fn to_sorted_compact(v: &Json) -> String {
    let mut out = String::new();
    write_value(&mut out, v, true);
    out
}

/// Java `String.compareTo`: UTF-16 code unit order.
pub fn java_string_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn write_value(out: &mut String, v: &Json, sorted: bool) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.text),
        Json::String(s) => write_string(out, s),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, sorted);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            let mut refs: Vec<&(String, Json)> = members.iter().collect();
            if sorted {
                refs.sort_by(|a, b| java_string_cmp(&a.0, &b.0));
            }
            for (i, (k, val)) in refs.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, val, sorted);
            }
            out.push('}');
        }
    }
}

/// Jackson's string escaping: `"`, `\` and control characters only (upper-case hex).
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Json {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// Equality as Java sees `Map`/`List` values built from JSON: object member order does not
    /// matter; numbers are equal when they are the same kind (integer or decimal) with the same
    /// value and, for decimals, the same scale.
    pub fn java_equals(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Object(a), Json::Object(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter()
                            .find(|(k2, _)| k2 == k)
                            .is_some_and(|(_, v2)| v.java_equals(v2))
                    })
            }
            (Json::Array(a), Json::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.java_equals(y))
            }
            (Json::Number(a), Json::Number(b)) => a.integer == b.integer && a.text == b.text,
            _ => self == other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        to_compact(&parse(s).expect("valid"))
    }

    #[test]
    fn numbers_follow_jackson() {
        assert_eq!(canon("[1, -0, 0.50, 1e2, 1.5E3, 0.000001, 0.0000001, -0.0, 100e-2, 12345678901234567890]"),
            "[1,0,0.50,1E+2,1.5E+3,0.000001,1E-7,0.0,1.00,12345678901234567890]");
        assert_eq!(canon("1E0"), "1");
        assert_eq!(canon("0e5"), "0E+5");
        assert!(parse("1e99999999999").is_err());
    }

    #[test]
    fn strings_and_keys() {
        assert_eq!(
            canon(r#"{"a":"\u0001\/x","b":1,"a":2}"#),
            r#"{"a":2,"b":1}"#
        );
        assert_eq!(canon(r#""\u00e9\ud83d\ude00""#), "\"é😀\"");
        assert_eq!(canon("\"\\u001f\""), "\"\\u001F\"");
        assert!(parse(r#""\ud800""#).is_err());
        assert!(parse("{} x").is_err());
        assert!(parse("[1,]").is_err());
    }

    #[test]
    fn depth_limit() {
        let deep = "[".repeat(129) + &"]".repeat(129);
        assert!(parse(&deep).is_err());
        let ok = "[".repeat(128) + &"]".repeat(128);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn sorted_output_uses_utf16_order() {
        let v = parse(r#"{"b":1,"a":{"z":1,"y":2},"\uffff":0,"😀":0}"#).expect("valid");
        assert_eq!(
            to_sorted_compact(&v),
            "{\"a\":{\"y\":2,\"z\":1},\"b\":1,\"😀\":0,\"\u{ffff}\":0}"
        );
    }

    #[test]
    fn decimals_compare_and_divide() {
        let d = |s: &str| match parse(s).expect("valid") {
            Json::Number(n) => n.value,
            _ => unreachable!(),
        };
        assert_eq!(d("0.5").cmp_value(&d("0.50")), Ordering::Equal);
        assert_eq!(d("-1").cmp_value(&d("0.5")), Ordering::Less);
        assert_eq!(d("10").cmp_value(&d("9.99")), Ordering::Greater);
        assert!(d("10").is_multiple_of(&d("0.5")));
        assert!(!d("0.5").is_multiple_of(&d("10")));
        assert!(d("30").is_multiple_of(&d("10")));
        assert!(!d("11").is_multiple_of(&d("10")));
        assert!(!d("1").is_multiple_of(&d("0")));
        assert_eq!(d("1e3").to_i64(), Some(1000));
        assert_eq!(d("-12").to_i64(), Some(-12));
        assert_eq!(d("1.5").to_i64(), None);
    }
}
