//! Tokens of the text format.

use super::diagnostic::Span;
use crate::graph::is_name_char;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// `%name`
    Value(String),
    /// `@name`
    Global(String),
    /// A bare word: keywords, op names, dtypes, `true`, `nan`, dimension names.
    Ident(String),
    /// A number as written (sign included), parsed where its type is known.
    Number(String),
    Str(String),
    Punct(&'static str),
    Eof,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Value(s) => format!("'%{s}'"),
            Tok::Global(s) => format!("'@{s}'"),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Number(s) => format!("number {s}"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Punct(p) => format!("'{p}'"),
            Tok::Eof => "end of file".to_string(),
        }
    }
}

const PUNCTS: [&str; 10] = ["->", "(", ")", "[", "]", "{", "}", ",", ":", "="];

/// Splits `src` into tokens; `//` starts a comment to the end of the line.
pub fn tokenize(src: &str) -> Result<Vec<(Tok, Span)>, (Span, String)> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = src[i..].chars().next().unwrap();
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(src.len(), |n| i + n);
            continue;
        }
        let start = i;
        let word_end = |from: usize| src[from..].find(|ch: char| !is_name_char(ch)).map_or(src.len(), |n| from + n);
        let tok = if c == '%' || c == '@' {
            let end = word_end(i + 1);
            if end == i + 1 {
                return Err((Span::new(i, i + 1), format!("expected a name after '{c}'")));
            }
            let name = src[i + 1..end].to_string();
            i = end;
            if c == '%' {
                Tok::Value(name)
            } else {
                Tok::Global(name)
            }
        } else if c.is_ascii_digit() || ((c == '-' || c == '+') && next_starts_number(src, i + 1)) {
            i += 1;
            while i < bytes.len() {
                let b = bytes[i] as char;
                let exp_sign = (b == '-' || b == '+') && matches!(bytes[i - 1], b'e' | b'E');
                if b.is_ascii_alphanumeric() || b == '.' || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            Tok::Number(src[start..i].to_string())
        } else if c == '-' && src[i + 1..].starts_with("inf") {
            i = word_end(i + 1);
            Tok::Number(src[start..i].to_string())
        } else if c.is_ascii_alphabetic() || c == '_' {
            i = word_end(i);
            Tok::Ident(src[start..i].to_string())
        } else if c == '"' {
            let close = src[i + 1..]
                .find(['"', '\n'])
                .map(|n| i + 1 + n)
                .filter(|&n| bytes[n] == b'"')
                .ok_or((Span::new(i, i + 1), "unterminated string".to_string()))?;
            i = close + 1;
            Tok::Str(src[start + 1..close].to_string())
        } else if let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            i += p.len();
            Tok::Punct(p)
        } else {
            return Err((Span::new(i, i + c.len_utf8()), format!("unexpected character '{c}'")));
        };
        out.push((tok, Span::new(start, i)));
    }
    out.push((Tok::Eof, Span::new(src.len(), src.len())));
    Ok(out)
}

fn next_starts_number(src: &str, i: usize) -> bool {
    src[i..].chars().next().is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let toks: Vec<Tok> =
            tokenize("%x: f32[2] -> (@w.1 -1.5e-3, -inf) // c\n\"s\"").unwrap().into_iter().map(|t| t.0).collect();
        assert_eq!(
            toks,
            vec![
                Tok::Value("x".into()),
                Tok::Punct(":"),
                Tok::Ident("f32".into()),
                Tok::Punct("["),
                Tok::Number("2".into()),
                Tok::Punct("]"),
                Tok::Punct("->"),
                Tok::Punct("("),
                Tok::Global("w.1".into()),
                Tok::Number("-1.5e-3".into()),
                Tok::Punct(","),
                Tok::Number("-inf".into()),
                Tok::Punct(")"),
                Tok::Str("s".into()),
                Tok::Eof
            ]
        );
    }
}
