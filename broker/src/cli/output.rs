//! What the client commands print: text for people (aligned tables, colour only on a
//! terminal), JSON for scripts, progress bars on stderr only when it is a terminal.
//!
//! Colour goes through `anstream`, which strips ANSI sequences when the stream is not a
//! terminal and honours `NO_COLOR` / `CLICOLOR_FORCE`, so piped output and CI logs stay plain.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use super::CliError;

/// The output format chosen with `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON: one document per command (one object per line for `consume`).
    Json,
}

/// Where and how a command prints.
#[derive(Debug, Clone)]
pub struct Output {
    format: OutputFormat,
}

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn paint(style: Style, s: &str) -> String {
    format!("{style}{s}{style:#}")
}

/// The printed width of `s`: characters outside ANSI escape sequences.
fn visible_width(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (false, _) => n += 1,
            // CSI sequences end with a letter (`m` for styles).
            (true, c) if c.is_ascii_alphabetic() => in_escape = false,
            (true, _) => {}
        }
    }
    n
}

impl Output {
    /// An output in `format`.
    pub fn new(format: OutputFormat) -> Self {
        Output { format }
    }

    /// Whether scripts asked for JSON.
    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Prints one JSON document (pretty) on stdout.
    pub fn json(&self, value: &Value) {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        );
    }

    /// Prints one JSON value on one line (JSON lines, for streams of records).
    pub fn json_line(&self, value: &Value) {
        println!("{value}");
    }

    /// Prints a line of text on stdout (ANSI stripped when stdout is not a terminal).
    pub fn line(&self, s: &str) {
        anstream::println!("{s}");
    }

    /// Prints a line on stderr (ANSI stripped when stderr is not a terminal).
    pub fn note(&self, s: &str) {
        anstream::eprintln!("{s}");
    }

    /// `s` in green.
    pub fn ok(&self, s: &str) -> String {
        paint(GREEN, s)
    }

    /// `s` in red.
    pub fn bad(&self, s: &str) -> String {
        paint(RED, s)
    }

    /// `s` in yellow.
    pub fn warn(&self, s: &str) -> String {
        paint(YELLOW, s)
    }

    /// `s` in bold.
    pub fn bold(&self, s: &str) -> String {
        paint(BOLD, s)
    }

    /// `s` dimmed.
    pub fn dim(&self, s: &str) -> String {
        paint(DIM, s)
    }

    /// Prints rows as a table with aligned columns under a bold header.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) {
        let mut widths: Vec<usize> = header.iter().map(|h| visible_width(h)).collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(visible_width(cell));
                }
            }
        }
        let render = |cells: Vec<String>| -> String {
            let last = cells.len().saturating_sub(1);
            cells
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == last {
                        c
                    } else {
                        let pad = widths
                            .get(i)
                            .copied()
                            .unwrap_or(0)
                            .saturating_sub(visible_width(&c));
                        format!("{c}{}", " ".repeat(pad))
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        let head = render(header.iter().map(|h| h.to_string()).collect());
        self.line(&self.bold(head.trim_end()));
        for row in rows {
            self.line(render(row.clone()).trim_end());
        }
    }

    /// A progress bar for `len` steps of a bulk operation. Hidden unless stderr is a terminal
    /// and the output is text (a bar in a CI log or around JSON is noise).
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.is_json() || !std::io::stderr().is_terminal() || len < 2 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        bar
    }
}

/// Prints a command's error on stderr, `error:` in red on a terminal.
pub fn print_error(e: &CliError) {
    anstream::eprintln!("{}: {e}", paint(RED.bold(), "error"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_ignores_ansi() {
        assert_eq!(visible_width(&paint(RED, "abc")), 3);
        assert_eq!(visible_width("héllo"), 5);
    }
}
