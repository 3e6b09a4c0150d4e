//! Just enough RFC 3986 to resolve `$ref` and `$id` values against a base URI.

/// A URI split into its five components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Uri {
    pub scheme: Option<String>,
    pub authority: Option<String>,
    pub path: String,
    pub query: Option<String>,
    pub fragment: Option<String>,
}

impl Uri {
    /// Splits `s` with the RFC 3986 appendix B grammar (never fails).
    pub fn parse(s: &str) -> Uri {
        let mut rest = s;
        let mut fragment = None;
        if let Some(i) = rest.find('#') {
            fragment = Some(rest[i + 1..].to_string());
            rest = &rest[..i];
        }
        let mut query = None;
        if let Some(i) = rest.find('?') {
            query = Some(rest[i + 1..].to_string());
            rest = &rest[..i];
        }
        let mut scheme = None;
        if let Some(i) = rest.find(':') {
            let candidate = &rest[..i];
            let valid = candidate
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && candidate
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                && !candidate.contains('/');
            if valid {
                scheme = Some(candidate.to_ascii_lowercase());
                rest = &rest[i + 1..];
            }
        }
        let mut authority = None;
        if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('/').unwrap_or(after.len());
            authority = Some(after[..end].to_string());
            rest = &after[end..];
        }
        Uri {
            scheme,
            authority,
            path: rest.to_string(),
            query,
            fragment,
        }
    }

    /// RFC 3986 §5.2.2: `reference` resolved against `self`.
    pub fn resolve(&self, reference: &str) -> Uri {
        let r = Uri::parse(reference);
        let (scheme, authority, path, query);
        if r.scheme.is_some() {
            scheme = r.scheme;
            authority = r.authority;
            path = remove_dot_segments(&r.path);
            query = r.query;
        } else {
            scheme = self.scheme.clone();
            if r.authority.is_some() {
                authority = r.authority;
                path = remove_dot_segments(&r.path);
                query = r.query;
            } else {
                authority = self.authority.clone();
                if r.path.is_empty() {
                    path = self.path.clone();
                    query = r.query.or_else(|| self.query.clone());
                } else {
                    if r.path.starts_with('/') {
                        path = remove_dot_segments(&r.path);
                    } else {
                        let merged = if self.authority.is_some() && self.path.is_empty() {
                            format!("/{}", r.path)
                        } else {
                            match self.path.rfind('/') {
                                Some(i) => format!("{}{}", &self.path[..=i], r.path),
                                None => r.path.clone(),
                            }
                        };
                        path = remove_dot_segments(&merged);
                    }
                    query = r.query;
                }
            }
        }
        Uri {
            scheme,
            authority,
            path,
            query,
            fragment: r.fragment,
        }
    }

    /// The URI without its fragment.
    pub fn without_fragment(&self) -> Uri {
        Uri {
            fragment: None,
            ..self.clone()
        }
    }
}

impl std::fmt::Display for Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(s) = &self.scheme {
            write!(f, "{s}:")?;
        }
        if let Some(a) = &self.authority {
            write!(f, "//{a}")?;
        }
        f.write_str(&self.path)?;
        if let Some(q) = &self.query {
            write!(f, "?{q}")?;
        }
        if let Some(fr) = &self.fragment {
            write!(f, "#{fr}")?;
        }
        Ok(())
    }
}

fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    // Work segment by segment.
    let mut segs: Vec<&str> = Vec::new();
    if absolute {
        input = &input[1..];
    }
    for seg in input.split('/') {
        segs.push(seg);
    }
    let last_index = segs.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, seg) in segs.iter().enumerate() {
        match *seg {
            "." => {
                if i == last_index {
                    trailing_slash = true;
                }
            }
            ".." => {
                output.pop();
                if i == last_index {
                    trailing_slash = true;
                }
            }
            s => output.push(s),
        }
    }
    let mut out = String::new();
    if absolute {
        out.push('/');
    }
    out.push_str(&output.join("/"));
    if trailing_slash && !out.ends_with('/') {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_examples() {
        let base = Uri::parse("http://a/b/c/d;p?q");
        let cases = [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("", "http://a/b/c/d;p?q"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("g:h", "g:h"),
        ];
        for (r, want) in cases {
            assert_eq!(base.resolve(r).to_string(), want, "{r}");
        }
        assert_eq!(
            Uri::parse("mem://input").resolve("other.json").to_string(),
            "mem://input/other.json"
        );
        assert_eq!(Uri::parse("urn:x").resolve("#/a").to_string(), "urn:x#/a");
    }
}
