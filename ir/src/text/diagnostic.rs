//! Located errors, rendered with the source line and a caret.

use std::fmt;

/// A byte range in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub file: String,
    /// 1-based line and column (in characters).
    pub line: usize,
    pub column: usize,
    pub message: String,
    source_line: String,
    width: usize,
}

impl ParseError {
    pub fn new(file: &str, src: &str, span: Span, message: impl Into<String>) -> ParseError {
        // Spans from callers may not fall on character boundaries; widen
        // them to the nearest ones rather than slicing inside a character.
        let mut start = span.start.min(src.len());
        while !src.is_char_boundary(start) {
            start -= 1;
        }
        let mut span_end = span.end.min(src.len());
        while !src.is_char_boundary(span_end) {
            span_end += 1;
        }
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line = src[..start].matches('\n').count() + 1;
        let column = src[line_start..start].chars().count() + 1;
        let end = span_end.clamp(start, line_end);
        ParseError {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
            source_line: src[line_start..line_end].to_string(),
            width: src[start..end].chars().count().max(1),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        writeln!(f, "{}", self.message)?;
        writeln!(f, "{pad}--> {}:{}:{}", self.file, self.line, self.column)?;
        writeln!(f, "{pad} |")?;
        writeln!(f, "{num} | {}", self.source_line)?;
        // Tabs keep their width so the caret lines up under them.
        let lead: String =
            self.source_line.chars().take(self.column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        write!(f, "{pad} | {lead}{}", "^".repeat(self.width))
    }
}

impl std::error::Error for ParseError {}
