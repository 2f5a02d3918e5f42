//! The parser: text → [`Graph`], with every error located at a token.

use super::diagnostic::{ParseError, Span};
use super::lexer::{tokenize, Tok};
use crate::graph::{Graph, ValueId};
use crate::infer::infer_type;
use crate::op::{BinaryOp, Op, ReduceOp, SliceAxis, UnaryOp};
use crate::tensor::Data;
use crate::types::{Dim, TensorType};
use crate::{DType, Tensor};
use std::collections::HashMap;
use std::sync::Arc;

/// A parsed graph and, for each node, the span of its defining line.
#[derive(Debug)]
pub struct ParsedGraph {
    pub graph: Graph,
    pub node_spans: Vec<Span>,
}

/// Resolves `@key` constants: given the key and the declared type, returns
/// the data (the caller reads the side file).
pub type WeightLoader<'a> = dyn FnMut(&str, &TensorType) -> Result<Tensor, String> + 'a;

/// Parses one graph. Types are checked as the nodes are read, except where
/// a symbolic dimension makes a shape unknown (checked after binding).
pub fn parse_graph(src: &str, file: &str, weights: &mut WeightLoader) -> Result<ParsedGraph, ParseError> {
    let toks = tokenize(src).map_err(|(span, msg)| ParseError::new(file, src, span, msg))?;
    let mut p =
        Parser { src, file, toks, pos: 0, values: HashMap::new(), graph: Graph::new("g"), node_spans: Vec::new() };
    p.graph_def(weights)?;
    Ok(ParsedGraph { graph: p.graph, node_spans: p.node_spans })
}

#[derive(Clone, Debug)]
enum AttrValue {
    Number(String),
    Word(String),
    Str(String),
    List(Vec<(String, Span)>),
}

struct Attrs {
    items: Vec<(String, AttrValue, Span)>,
}

struct Parser<'a> {
    src: &'a str,
    file: &'a str,
    toks: Vec<(Tok, Span)>,
    pos: usize,
    values: HashMap<String, (ValueId, Span)>,
    graph: Graph,
    node_spans: Vec<Span>,
}

type PResult<T> = Result<T, ParseError>;

/// Largest element count a tensor type may have (far beyond any device).
const MAX_ELEMENTS: u64 = 1 << 48;

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].0
    }

    fn span(&self) -> Span {
        self.toks[self.pos].1
    }

    fn bump(&mut self) -> (Tok, Span) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn error<T>(&self, span: Span, msg: impl Into<String>) -> PResult<T> {
        Err(ParseError::new(self.file, self.src, span, msg))
    }

    fn expected<T>(&self, what: &str) -> PResult<T> {
        self.error(self.span(), format!("expected {what}, found {}", self.peek().describe()))
    }

    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Tok::Punct(q) if *q == p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> PResult<Span> {
        let span = self.span();
        if self.eat(p) {
            Ok(span)
        } else {
            self.expected(&format!("'{p}'"))
        }
    }

    fn keyword(&mut self, kw: &str) -> PResult<()> {
        match self.peek() {
            Tok::Ident(s) if s == kw => {
                self.bump();
                Ok(())
            }
            _ => self.expected(&format!("'{kw}'")),
        }
    }

    fn ident(&mut self, what: &str) -> PResult<(String, Span)> {
        match self.bump() {
            (Tok::Ident(s), span) => Ok((s, span)),
            (t, span) => self.error(span, format!("expected {what}, found {}", t.describe())),
        }
    }

    /// `a, b, c` up to (not including) the closing token, which is consumed.
    fn list<T>(&mut self, close: &str, mut item: impl FnMut(&mut Self) -> PResult<T>) -> PResult<Vec<T>> {
        let mut out = Vec::new();
        if self.eat(close) {
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            if self.eat(close) {
                return Ok(out);
            }
            if !self.eat(",") {
                return self.expected(&format!("',' or '{close}'"));
            }
        }
    }

    fn graph_def(&mut self, weights: &mut WeightLoader) -> PResult<()> {
        self.keyword("graph")?;
        match self.bump() {
            (Tok::Global(name), _) => self.graph.name = name,
            (t, span) => return self.error(span, format!("expected the graph name '@name', found {}", t.describe())),
        }
        self.expect("(")?;
        self.list(")", |p| {
            let (name, span) = p.value_name()?;
            p.expect(":")?;
            let ty = p.tensor_type()?;
            p.define(&name, span, None, ty)?;
            Ok(())
        })?;
        self.expect("->")?;
        self.expect("(")?;
        let result_types = self.list(")", |p| {
            let span = p.span();
            Ok((p.tensor_type()?, span))
        })?;
        self.expect("{")?;
        loop {
            match self.peek() {
                Tok::Ident(s) if s == "return" => break,
                Tok::Value(_) => self.statement(weights)?,
                _ => return self.expected("a statement '%name = ...' or 'return'"),
            }
        }
        self.bump();
        let returned = self.list_until_brace()?;
        if returned.len() != result_types.len() {
            let span = returned.first().map_or(self.span(), |r| r.1);
            return self.error(
                span,
                format!("the signature declares {} result(s) but return lists {}", result_types.len(), returned.len()),
            );
        }
        for ((v, span), (ty, _)) in returned.iter().zip(&result_types) {
            if self.graph.ty(*v) != ty {
                return self.error(
                    *span,
                    format!("returned value has type {} but the signature says {}", self.graph.ty(*v), ty),
                );
            }
            self.graph.outputs.push(*v);
        }
        match self.peek() {
            Tok::Eof => Ok(()),
            _ => self.expected("end of file after the graph"),
        }
    }

    /// `%a, %b }`: the returned values and the closing brace.
    fn list_until_brace(&mut self) -> PResult<Vec<(ValueId, Span)>> {
        let mut out = Vec::new();
        loop {
            out.push(self.use_value()?);
            if self.eat("}") {
                return Ok(out);
            }
            if !self.eat(",") {
                return self.expected("',' or '}'");
            }
        }
    }

    fn value_name(&mut self) -> PResult<(String, Span)> {
        match self.bump() {
            (Tok::Value(s), span) => Ok((s, span)),
            (t, span) => self.error(span, format!("expected a value '%name', found {}", t.describe())),
        }
    }

    fn use_value(&mut self) -> PResult<(ValueId, Span)> {
        let (name, span) = self.value_name()?;
        match self.values.get(&name) {
            Some(&(id, _)) => Ok((id, span)),
            None => self.error(span, format!("use of undefined value %{name}")),
        }
    }

    fn define(&mut self, name: &str, span: Span, node: Option<(Op, Vec<ValueId>)>, ty: TensorType) -> PResult<ValueId> {
        if let Some(&(_, first)) = self.values.get(name) {
            let line = ParseError::new(self.file, self.src, first, "").line;
            return self.error(span, format!("%{name} is already defined (on line {line})"));
        }
        let id = match node {
            None => self.graph.add_input(name, ty),
            Some((op, inputs)) => self.graph.push_node(op, inputs, ty, name),
        };
        self.values.insert(name.to_string(), (id, span));
        Ok(id)
    }

    fn dtype(&mut self) -> PResult<DType> {
        let (name, span) = self.ident("a dtype")?;
        match DType::from_name(&name) {
            Some(d) => Ok(d),
            None => self.error(
                span,
                format!("unknown dtype '{name}'; expected one of {}", DType::ALL.map(|d| d.name()).join(", ")),
            ),
        }
    }

    fn tensor_type(&mut self) -> PResult<TensorType> {
        let start = self.span();
        let dtype = self.dtype()?;
        self.expect("[")?;
        let dims = self.list("]", |p| match p.bump() {
            (Tok::Number(n), span) => match n.parse::<usize>() {
                Ok(v) => Ok(Dim::Known(v)),
                Err(_) => p.error(span, format!("expected a dimension size, found {n}")),
            },
            (Tok::Ident(s), _) => Ok(Dim::Sym(s)),
            (t, span) => p.error(span, format!("expected a dimension, found {}", t.describe())),
        })?;
        let ty = TensorType { dtype, dims };
        // Element counts are multiplied everywhere; keep them far from overflow.
        let count = ty.dims.iter().filter_map(Dim::known).try_fold(1u64, |acc, d| acc.checked_mul(d as u64));
        if count.is_none_or(|c| c > MAX_ELEMENTS) {
            let end = self.toks[self.pos - 1].1.end;
            return self.error(Span::new(start.start, end), format!("{ty} has more than 2^48 elements"));
        }
        Ok(ty)
    }

    fn statement(&mut self, weights: &mut WeightLoader) -> PResult<()> {
        let (name, name_span) = self.value_name()?;
        self.expect("=")?;
        let (op_name, op_span) = self.ident("an op name")?;
        if op_name == "const" {
            let ty = self.tensor_type()?;
            let tensor = self.const_data(&ty, weights)?;
            self.define(&name, name_span, Some((Op::Const(Arc::new(tensor)), vec![])), ty)?;
            self.node_spans.push(Span::new(name_span.start, self.toks[self.pos - 1].1.end));
            return Ok(());
        }
        let mut operands = Vec::new();
        if matches!(self.peek(), Tok::Value(_)) {
            loop {
                operands.push(self.use_value()?);
                if !self.eat(",") {
                    break;
                }
            }
        }
        let attrs = if self.eat("{") { self.attributes()? } else { Attrs { items: vec![] } };
        let colon = self.span();
        if !self.eat(":") {
            return self.expected("':' and the result type");
        }
        let type_span_start = self.span().start;
        let ty = self.tensor_type()?;
        let type_span = Span::new(type_span_start, self.toks[self.pos - 1].1.end);
        let _ = colon;
        let operand_types: Vec<TensorType> = operands.iter().map(|(v, _)| self.graph.ty(*v).clone()).collect();
        let op = self.build_op(&op_name, op_span, attrs, &operand_types)?;
        let (lo, hi) = op.arity();
        if operands.len() < lo || operands.len() > hi {
            let want = match (lo, hi) {
                (l, h) if l == h => format!("{l}"),
                (l, usize::MAX) => format!("at least {l}"),
                (l, h) => format!("{l} to {h}"),
            };
            return self.error(op_span, format!("'{op_name}' takes {want} operand(s), got {}", operands.len()));
        }
        if operand_types.iter().all(TensorType::is_static) {
            let refs: Vec<&TensorType> = operand_types.iter().collect();
            match infer_type(&op, &refs) {
                Err(e) => {
                    let span = e.operand.map_or(op_span, |i| operands[i].1);
                    let shown: Vec<String> = operands
                        .iter()
                        .zip(&operand_types)
                        .map(|((v, _), t)| format!("%{}: {t}", self.graph.name_of(*v)))
                        .collect();
                    return self.error(span, format!("'{op_name}': {} (operands: {})", e.message, shown.join(", ")));
                }
                Ok(inferred) if inferred != ty => {
                    return self
                        .error(type_span, format!("'{op_name}' gives {inferred}, but the result is declared {ty}"));
                }
                Ok(_) => {}
            }
        }
        let ids = operands.iter().map(|(v, _)| *v).collect();
        self.define(&name, name_span, Some((op, ids)), ty)?;
        self.node_spans.push(Span::new(name_span.start, type_span.end));
        Ok(())
    }

    fn const_data(&mut self, ty: &TensorType, weights: &mut WeightLoader) -> PResult<Tensor> {
        let start = self.span();
        let shape = match ty.shape() {
            Ok(s) => s,
            Err(sym) => return self.error(start, format!("a constant needs a static shape, '{sym}' is symbolic")),
        };
        if let Tok::Global(key) = self.peek().clone() {
            self.bump();
            let t = weights(&key, ty).or_else(|e| self.error(start, format!("cannot load constant @{key}: {e}")))?;
            if t.ty() != *ty {
                return self.error(start, format!("constant @{key} is {} but is declared {ty}", t.ty()));
            }
            return Ok(t);
        }
        let scalar = shape.is_empty();
        let items: Vec<(String, Span)> = if scalar {
            vec![self.scalar_literal()?]
        } else {
            self.expect("[")?;
            self.list("]", |p| p.scalar_literal())?
        };
        let count: usize = shape.iter().product();
        if items.len() != count {
            let end = self.toks[self.pos - 1].1.end;
            return self
                .error(Span::new(start.start, end), format!("{ty} needs {count} value(s), found {}", items.len()));
        }
        let bad = |p: &Self, (text, span): &(String, Span)| {
            p.error::<Tensor>(*span, format!("'{text}' is not a valid {} value", ty.dtype))
        };
        let data = match ty.dtype {
            DType::Bool => {
                let mut v = Vec::with_capacity(count);
                for it in &items {
                    match it.0.as_str() {
                        "true" => v.push(true),
                        "false" => v.push(false),
                        _ => return bad(self, it),
                    }
                }
                Data::Bool(v)
            }
            DType::I64 | DType::I32 => {
                let mut v = Vec::with_capacity(count);
                for it in &items {
                    match it.0.parse::<i64>() {
                        Ok(x) if ty.dtype == DType::I64 || i32::try_from(x).is_ok() => v.push(x),
                        _ => return bad(self, it),
                    }
                }
                if ty.dtype == DType::I64 {
                    Data::I64(v)
                } else {
                    Data::I32(v.into_iter().map(|x| x as i32).collect())
                }
            }
            dt => {
                let mut v = Vec::with_capacity(count);
                for it in &items {
                    match parse_f32(&it.0) {
                        Some(x) if dt == DType::F32 || dt.round(x as f64) as f32 == x || x.is_nan() => v.push(x),
                        Some(_) => return self.error(it.1, format!("{} is not exactly representable in {dt}", it.0)),
                        None => return bad(self, it),
                    }
                }
                Data::Float(v)
            }
        };
        Tensor::new(ty.dtype, shape, data).or_else(|e| self.error(start, e.0))
    }

    fn scalar_literal(&mut self) -> PResult<(String, Span)> {
        match self.bump() {
            (Tok::Number(n), span) | (Tok::Ident(n), span) => Ok((n, span)),
            (t, span) => self.error(span, format!("expected a number, found {}", t.describe())),
        }
    }

    fn attributes(&mut self) -> PResult<Attrs> {
        let items = self.list("}", |p| {
            let (key, span) = p.ident("an attribute name")?;
            p.expect("=")?;
            let value = match p.bump() {
                (Tok::Number(n), _) => AttrValue::Number(n),
                (Tok::Ident(w), _) => AttrValue::Word(w),
                (Tok::Str(s), _) => AttrValue::Str(s),
                (Tok::Punct("["), _) => AttrValue::List(p.list("]", |q| match q.bump() {
                    (Tok::Number(n), span) => Ok((n, span)),
                    (t, span) => q.error(span, format!("expected an integer, found {}", t.describe())),
                })?),
                (t, span) => return p.error(span, format!("expected an attribute value, found {}", t.describe())),
            };
            Ok((key, value, span))
        })?;
        for (i, (k, _, span)) in items.iter().enumerate() {
            if items[..i].iter().any(|(k2, _, _)| k2 == k) {
                return self.error(*span, format!("attribute '{k}' is given twice"));
            }
        }
        Ok(Attrs { items })
    }

    fn build_op(&self, name: &str, span: Span, mut attrs: Attrs, operands: &[TensorType]) -> PResult<Op> {
        let rank = operands.first().map_or(0, TensorType::rank);
        let mut b = OpBuilder { p: self, op: name, op_span: span, attrs: &mut attrs, rank };
        let op = b.build(name, operands)?;
        if let Some((k, _, span)) = attrs.items.first() {
            return self.error(*span, format!("unknown attribute '{k}' for '{name}'"));
        }
        Ok(op)
    }
}

/// Reads an op's attributes by name, normalising axes against the rank of
/// the first operand. Each `take` removes the attribute, so anything left
/// over is unknown.
struct OpBuilder<'p, 'a, 'b> {
    p: &'p Parser<'a>,
    op: &'b str,
    op_span: Span,
    attrs: &'b mut Attrs,
    rank: usize,
}

impl OpBuilder<'_, '_, '_> {
    fn take(&mut self, key: &str) -> Option<(AttrValue, Span)> {
        let i = self.attrs.items.iter().position(|(k, _, _)| k == key)?;
        let (_, v, s) = self.attrs.items.remove(i);
        Some((v, s))
    }

    fn require(&mut self, key: &str) -> PResult<(AttrValue, Span)> {
        match self.take(key) {
            Some(v) => Ok(v),
            None => self.p.error(self.op_span, format!("'{}' needs the attribute '{key}'", self.op)),
        }
    }

    fn bad<T>(&self, span: Span, key: &str, what: &str) -> PResult<T> {
        self.p.error(span, format!("attribute '{key}' of '{}' must be {what}", self.op))
    }

    fn int(&mut self, key: &str) -> PResult<i64> {
        match self.require(key)? {
            (AttrValue::Number(n), span) => n.parse().or_else(|_| self.bad(span, key, "an integer")),
            (_, span) => self.bad(span, key, "an integer"),
        }
    }

    fn float(&mut self, key: &str) -> PResult<Option<f64>> {
        match self.take(key) {
            None => Ok(None),
            Some((AttrValue::Number(n), span)) => match parse_f64(&n) {
                Some(x) => Ok(Some(x)),
                None => self.bad(span, key, "a number"),
            },
            Some((_, span)) => self.bad(span, key, "a number"),
        }
    }

    fn boolean(&mut self, key: &str, default: bool) -> PResult<bool> {
        match self.take(key) {
            None => Ok(default),
            Some((AttrValue::Word(w), _)) if w == "true" => Ok(true),
            Some((AttrValue::Word(w), _)) if w == "false" => Ok(false),
            Some((_, span)) => self.bad(span, key, "true or false"),
        }
    }

    fn ints(&mut self, key: &str) -> PResult<(Vec<i64>, Span)> {
        match self.require(key)? {
            (AttrValue::List(items), span) => {
                let mut out = Vec::new();
                for (n, s) in items {
                    out.push(n.parse::<i64>().or_else(|_| self.bad(s, key, "a list of integers"))?);
                }
                Ok((out, span))
            }
            (_, span) => self.bad(span, key, "a list of integers"),
        }
    }

    fn sizes(&mut self, key: &str) -> PResult<Vec<usize>> {
        let (v, span) = self.ints(key)?;
        v.iter().map(|&x| usize::try_from(x).or_else(|_| self.bad(span, key, "a list of sizes >= 0"))).collect()
    }

    fn norm_axis(&self, axis: i64, rank: usize, span: Span, key: &str) -> PResult<usize> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            return self.p.error(span, format!("{key} {axis} is out of range for rank {rank}"));
        }
        Ok(if axis < 0 { axis + r } else { axis } as usize)
    }

    fn axis(&mut self) -> PResult<usize> {
        let span = self.attrs.items.iter().find(|i| i.0 == "axis").map_or(self.op_span, |i| i.2);
        let a = self.int("axis")?;
        self.norm_axis(a, self.rank, span, "axis")
    }

    /// Sorted, de-duplicated axes for an operand of rank `rank`.
    fn axes(&mut self, rank: usize) -> PResult<Vec<usize>> {
        let (v, span) = self.ints("axes")?;
        let mut out = Vec::new();
        for a in v {
            out.push(self.norm_axis(a, rank, span, "axis")?);
        }
        out.sort_unstable();
        if out.windows(2).any(|w| w[0] == w[1]) {
            return self.p.error(span, "axes are repeated");
        }
        Ok(out)
    }

    fn build(&mut self, name: &str, operands: &[TensorType]) -> PResult<Op> {
        if let Some(u) = UnaryOp::ALL.iter().find(|u| u.name() == name) {
            if *u == UnaryOp::Gelu {
                return match self.take("approx") {
                    None => Ok(Op::Unary(UnaryOp::Gelu)),
                    Some((AttrValue::Str(s), _)) if s == "none" => Ok(Op::Unary(UnaryOp::Gelu)),
                    Some((AttrValue::Str(s), _)) if s == "tanh" => Ok(Op::Unary(UnaryOp::GeluTanh)),
                    Some((_, span)) => self.bad(span, "approx", "\"none\" or \"tanh\""),
                };
            }
            return Ok(Op::Unary(*u));
        }
        if let Some(b) = BinaryOp::ALL.iter().find(|b| b.name() == name) {
            return Ok(Op::Binary(*b));
        }
        if let Some(r) = ReduceOp::ALL.iter().find(|r| r.name() == name) {
            let axes = self.axes(self.rank)?;
            let keep_dims = self.boolean("keep_dims", false)?;
            return Ok(Op::Reduce { op: *r, axes, keep_dims });
        }
        Ok(match name {
            "leaky_relu" => Op::LeakyRelu { alpha: self.float("alpha")?.unwrap_or(0.01) },
            "where" => Op::Where,
            "cast" => {
                let (v, span) = self.require("to")?;
                let to = match v {
                    AttrValue::Word(w) => DType::from_name(&w),
                    _ => None,
                };
                let to = to.map_or_else(|| self.bad(span, "to", "a dtype"), Ok)?;
                Op::Cast { to, saturate: self.boolean("saturate", true)? }
            }
            "clip" => Op::Clip { min: self.float("min")?, max: self.float("max")? },
            "matmul" => Op::MatMul,
            "attention" => {
                let scale = self.float("scale")?;
                let scale =
                    scale.map_or_else(|| self.p.error(self.op_span, "'attention' needs the attribute 'scale'"), Ok)?;
                Op::Attention { scale, causal: self.boolean("causal", false)? }
            }
            "softmax" => Op::Softmax { axis: self.axis()? },
            "log_softmax" => Op::LogSoftmax { axis: self.axis()? },
            "layer_norm" | "rms_norm" => {
                let axis = self.axis()?;
                let epsilon = self.float("epsilon")?.unwrap_or(1e-5);
                if name == "layer_norm" {
                    Op::LayerNorm { axis, epsilon }
                } else {
                    Op::RmsNorm { axis, epsilon }
                }
            }
            "transpose" => {
                let (perm, span) = self.ints("perm")?;
                let perm = perm
                    .iter()
                    .map(|&a| self.norm_axis(a, self.rank, span, "perm entry"))
                    .collect::<PResult<Vec<_>>>()?;
                Op::Transpose { perm }
            }
            "reshape" => Op::Reshape { shape: self.sizes("shape")? },
            "expand" => Op::Expand { shape: self.sizes("shape")? },
            "squeeze" => Op::Squeeze { axes: self.axes(self.rank)? },
            "unsqueeze" => {
                // Unsqueeze axes index the output, whose rank grows by their count.
                let added = self.attrs.items.iter().find_map(|(k, v, _)| match v {
                    AttrValue::List(items) if k == "axes" => Some(items.len()),
                    _ => None,
                });
                Op::Unsqueeze { axes: self.axes(self.rank + added.unwrap_or(0))? }
            }
            "slice" => self.slice(operands)?,
            "concat" => Op::Concat { axis: self.axis()? },
            "gather" => Op::Gather { axis: self.axis()? },
            _ => return self.p.error(self.op_span, format!("unknown op '{name}'")),
        })
    }

    fn slice(&mut self, operands: &[TensorType]) -> PResult<Op> {
        let (axes, axes_span) = self.ints("axes")?;
        let (starts, _) = self.ints("starts")?;
        let (ends, _) = self.ints("ends")?;
        let steps = match self.attrs.items.iter().any(|i| i.0 == "steps") {
            true => self.ints("steps")?.0,
            false => vec![1; axes.len()],
        };
        if starts.len() != axes.len() || ends.len() != axes.len() || steps.len() != axes.len() {
            return self.p.error(axes_span, "slice needs axes, starts, ends and steps of the same length");
        }
        let mut out = Vec::new();
        for i in 0..axes.len() {
            let axis = self.norm_axis(axes[i], self.rank, axes_span, "axis")?;
            let s = SliceAxis { axis, start: starts[i], end: ends[i], step: steps[i] };
            if let Some(dim) = operands.first().and_then(|t| t.dims.get(axis)).and_then(Dim::known) {
                if !s.is_normalized(dim) {
                    return self.p.error(
                        axes_span,
                        format!(
                            "slice {}:{}:{} on axis {axis} (size {dim}) is not in normal form: \
                             0 <= start, end <= size for a positive step, -1 <= start, end < size for a negative one",
                            s.start, s.end, s.step
                        ),
                    );
                }
            }
            out.push(s);
        }
        Ok(Op::Slice { axes: out })
    }
}

fn parse_f64(s: &str) -> Option<f64> {
    match s {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ if s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') => s.parse().ok(),
        _ => None,
    }
}

fn parse_f32(s: &str) -> Option<f32> {
    match s {
        "nan" => Some(f32::NAN),
        "inf" | "+inf" => Some(f32::INFINITY),
        "-inf" => Some(f32::NEG_INFINITY),
        _ if s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') => s.parse().ok(),
        _ => None,
    }
}
