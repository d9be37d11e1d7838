//! The registration check: what a template reads and calls, checked against the namespace and the
//! sandbox before anyone renders it.
//!
//! Each file is parsed (minijinja's parser) and walked with the scopes Jinja2 gives it: a `for`
//! loop binds its target to an item of what it iterates, `set` and `with` bind names to what
//! they are set to, macro arguments are unknown. So `{% for service_instance in
//! service_instances %}{{ service_instance.environment.acount_id }}` is found as readily as a
//! misspelt top-level variable. The walk reports, with file and line:
//!
//! - a variable or attribute the [`Namespace`] does not have (reads guarded by `is defined`,
//!   `is undefined` or `| default` are allowed, as they are meant to probe);
//! - an unknown filter, test or method, and the ones Paved refuses (see [`crate::jinja2`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};

use crate::TemplateFile;
use crate::jinja2;

/// What a template may read: a tree of known attributes, open where values are not known in
/// advance (outputs, the inside of inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    root: Shape,
}

impl Namespace {
    /// Any variable may be read (for templates checked without a bundle).
    pub fn open() -> Namespace {
        Namespace { root: Shape::Any }
    }

    /// A namespace whose top-level variables are `fields`; `template` names what reads it in
    /// messages (`a service template`).
    pub fn new(template: impl Into<String>, fields: Vec<(&str, Shape)>) -> Namespace {
        Namespace {
            root: Shape::Object {
                fields: fields
                    .into_iter()
                    .map(|(name, shape)| (name.to_owned(), shape))
                    .collect(),
                kind: ObjectKind::Root(template.into()),
            },
        }
    }
}

/// The shape of one value of the namespace.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Anything may be read below this value.
    Any,
    /// A mapping with exactly these keys.
    Object {
        fields: BTreeMap<String, Shape>,
        kind: ObjectKind,
    },
    /// A list whose items have this shape.
    List(Box<Shape>),
}

impl Shape {
    /// A mapping with exactly `fields`.
    pub fn object(fields: Vec<(&str, Shape)>) -> Shape {
        Shape::Object {
            fields: fields
                .into_iter()
                .map(|(name, shape)| (name.to_owned(), shape))
                .collect(),
            kind: ObjectKind::Attributes,
        }
    }

    /// Inputs validated by a schema that declares `names` (`schema` is `input` or `pipeline`);
    /// `None` when there is no such schema, so no inputs.
    pub fn inputs(schema: &'static str, names: Option<Vec<String>>) -> Shape {
        match names {
            Some(names) => Shape::Object {
                fields: names.into_iter().map(|name| (name, Shape::Any)).collect(),
                kind: ObjectKind::Inputs { schema },
            },
            None => Shape::Object {
                fields: BTreeMap::new(),
                kind: ObjectKind::NoInputs { schema },
            },
        }
    }
}

/// How a mapping's unknown keys are reported.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectKind {
    /// The top level, read by the template named here.
    Root(String),
    /// Attributes of a namespace object.
    Attributes,
    /// Inputs declared by a schema.
    Inputs { schema: &'static str },
    /// Inputs of a schema the bundle does not have.
    NoInputs { schema: &'static str },
}

/// One problem the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckProblem {
    pub file: String,
    pub line: usize,
    /// `unknown-variable`, `unknown-filter`, `unknown-test`, `unknown-method`, `refused`.
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for CheckProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` line {}: {}", self.file, self.line, self.message)
    }
}

/// Checks every file against `namespace`; files that do not parse are skipped (the syntax check
/// reports them). Problems are in file order, then line order, each unknown name once per file.
pub fn check_templates(files: &[TemplateFile], namespace: &Namespace) -> Vec<CheckProblem> {
    let known = jinja2::Known::new();
    let mut problems = Vec::new();
    // A file's path may be a template too (`{{ service.name }}/main.py`).
    let sources = files.iter().flat_map(|file| {
        let templated_path = (file.path.contains("{{") || file.path.contains("{%"))
            .then_some((&file.path, &file.path));
        std::iter::once((&file.path, &file.text)).chain(templated_path)
    });
    for (path, text) in sources {
        let Ok(parsed) =
            minijinja::machinery::parse(text, path, minijinja::syntax::SyntaxConfig::default())
        else {
            continue;
        };
        let mut walker = Walker {
            file: path,
            known: &known,
            scopes: vec![BTreeMap::new()],
            root: &namespace.root,
            reported: BTreeSet::new(),
            macro_depth: 0,
            problems: Vec::new(),
        };
        walker.stmt(&parsed);
        let mut found = walker.problems;
        found.sort_by_key(|problem| problem.line);
        problems.extend(found);
    }
    problems
}

/// What a name or expression is known to be.
#[derive(Debug, Clone)]
enum Known<'n> {
    /// A value of the namespace, with the path it was read by.
    Namespace { path: String, shape: &'n Shape },
    /// Anything: a literal, a computed value, a macro argument.
    Unknown,
}

struct Walker<'a, 'n> {
    file: &'a str,
    known: &'a jinja2::Known,
    /// Names bound by loops, `set`, `with`, macros, imports: innermost last.
    scopes: Vec<BTreeMap<String, Known<'n>>>,
    root: &'n Shape,
    /// Messages already reported, so a name read on many lines is reported once.
    reported: BTreeSet<String>,
    /// How many macro bodies the walk is in.
    macro_depth: usize,
    problems: Vec<CheckProblem>,
}

impl<'a, 'n> Walker<'a, 'n> {
    fn report(&mut self, line: u16, rule: &'static str, message: String) {
        if self.reported.insert(message.clone()) {
            self.problems.push(CheckProblem {
                file: self.file.to_owned(),
                line: usize::from(line),
                rule,
                message,
            });
        }
    }

    fn bind(&mut self, name: &str, value: Known<'n>) {
        self.scopes
            .last_mut()
            .expect("there is always a scope")
            .insert(name.to_owned(), value);
    }

    /// Binds every name of an assignment target (`x`, `a, b`, `ns.attr` binds nothing).
    fn bind_target(&mut self, target: &Expr<'_>, value: Known<'n>) {
        match target {
            Expr::Var(var) => self.bind(var.id, value),
            Expr::Tuple(tuple) => {
                for item in &tuple.items {
                    self.bind_target(item, Known::Unknown);
                }
            }
            Expr::List(list) => {
                for item in &list.items {
                    self.bind_target(item, Known::Unknown);
                }
            }
            other => {
                self.expr(other);
            }
        }
    }

    fn in_scope<T>(&mut self, walk: impl FnOnce(&mut Self) -> T) -> T {
        self.scopes.push(BTreeMap::new());
        let result = walk(self);
        self.scopes.pop();
        result
    }

    fn stmts(&mut self, stmts: &[Stmt<'_>]) {
        for stmt in stmts {
            self.stmt(stmt);
        }
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) {
        match stmt {
            Stmt::Template(template) => self.stmts(&template.children),
            Stmt::EmitExpr(emit) => {
                self.expr(&emit.expr);
            }
            Stmt::EmitRaw(_) => {}
            Stmt::ForLoop(for_loop) => {
                let items = self.expr(&for_loop.iter);
                let item = self.index(items);
                self.in_scope(|walker| {
                    walker.bind_target(&for_loop.target, item);
                    walker.bind("loop", Known::Unknown);
                    if let Some(filter) = &for_loop.filter_expr {
                        walker.expr(filter);
                    }
                    walker.stmts(&for_loop.body);
                });
                self.in_scope(|walker| walker.stmts(&for_loop.else_body));
            }
            Stmt::IfCond(cond) => {
                self.expr(&cond.expr);
                self.stmts(&cond.true_body);
                self.stmts(&cond.false_body);
            }
            Stmt::WithBlock(with) => {
                let values: Vec<Known<'n>> = with
                    .assignments
                    .iter()
                    .map(|(_, value)| self.expr(value))
                    .collect();
                self.in_scope(|walker| {
                    for ((target, _), value) in with.assignments.iter().zip(values) {
                        walker.bind_target(target, value);
                    }
                    walker.stmts(&with.body);
                });
            }
            Stmt::Set(set) => {
                let value = self.expr(&set.expr);
                self.bind_target(&set.target, value);
            }
            Stmt::SetBlock(set) => {
                if let Some(filter) = &set.filter {
                    self.expr(filter);
                }
                self.in_scope(|walker| walker.stmts(&set.body));
                self.bind_target(&set.target, Known::Unknown);
            }
            Stmt::AutoEscape(block) => {
                self.expr(&block.enabled);
                self.stmts(&block.body);
            }
            Stmt::FilterBlock(block) => {
                self.expr(&block.filter);
                self.stmts(&block.body);
            }
            Stmt::Block(block) => self.in_scope(|walker| walker.stmts(&block.body)),
            Stmt::Import(import) => {
                self.expr(&import.expr);
                self.bind_target(&import.name, Known::Unknown);
            }
            Stmt::FromImport(import) => {
                self.expr(&import.expr);
                for (name, alias) in &import.names {
                    self.bind_target(alias.as_ref().unwrap_or(name), Known::Unknown);
                }
            }
            Stmt::Extends(extends) => {
                self.expr(&extends.name);
            }
            Stmt::Include(include) => {
                self.expr(&include.name);
            }
            Stmt::Macro(declaration) => {
                self.bind(declaration.name, Known::Unknown);
                self.macro_body(declaration);
            }
            Stmt::CallBlock(block) => {
                self.call(&block.call, block.call.span().start_line);
                self.macro_body(&block.macro_decl);
            }
            Stmt::Continue(_) | Stmt::Break(_) => {}
            Stmt::Do(call) => {
                self.call(&call.call, call.call.span().start_line);
            }
        }
    }

    /// A macro's body sees its arguments (unknown), `caller`, and the names of the template
    /// around it. `varargs` and `kwargs` (extra arguments) are refused: minijinja's macros take
    /// only the arguments they declare.
    fn macro_body(&mut self, declaration: &ast::Macro<'_>) {
        for default in &declaration.defaults {
            self.expr(default);
        }
        self.in_scope(|walker| {
            for argument in &declaration.args {
                walker.bind_target(argument, Known::Unknown);
            }
            walker.bind("caller", Known::Unknown);
            walker.macro_depth += 1;
            walker.stmts(&declaration.body);
            walker.macro_depth -= 1;
        });
    }

    fn lookup(&self, name: &str) -> Option<Known<'n>> {
        self.scopes
            .iter()
            .rev()
            .find_map(|scope| scope.get(name))
            .cloned()
    }

    /// Walks an expression and says what it evaluates to, reporting unknown names on the way.
    fn expr(&mut self, expr: &Expr<'_>) -> Known<'n> {
        self.expr_probed(expr, false)
    }

    /// `probed`: the expression is tested for being defined, so its last attribute may be
    /// missing.
    fn expr_probed(&mut self, expr: &Expr<'_>, probed: bool) -> Known<'n> {
        let line = span_line(expr);
        match expr {
            Expr::Var(var) => {
                if let Some(known) = self.lookup(var.id) {
                    return known;
                }
                if self.known.is_global(var.id) {
                    return Known::Unknown;
                }
                if self.macro_depth > 0 && matches!(var.id, "varargs" | "kwargs") {
                    self.report(
                        line,
                        "refused",
                        format!(
                            "`{}` is refused: a macro takes only the arguments it declares; \
                             declare each one (with a default if it is optional)",
                            var.id
                        ),
                    );
                    return Known::Unknown;
                }
                if let Some(reason) = jinja2::refused_global(var.id) {
                    self.report(line, "refused", reason);
                    return Known::Unknown;
                }
                self.attribute(
                    Known::Namespace {
                        path: String::new(),
                        shape: self.root,
                    },
                    var.id,
                    line,
                    probed,
                )
            }
            Expr::Const(_) => Known::Unknown,
            Expr::Slice(slice) => {
                self.expr(&slice.expr);
                for bound in [&slice.start, &slice.stop, &slice.step]
                    .into_iter()
                    .flatten()
                {
                    self.expr(bound);
                }
                Known::Unknown
            }
            Expr::UnaryOp(op) => {
                self.expr(&op.expr);
                Known::Unknown
            }
            Expr::BinOp(op) => {
                self.expr(&op.left);
                self.expr(&op.right);
                Known::Unknown
            }
            Expr::Compare(compare) => {
                self.expr(&compare.expr);
                for operand in &compare.ops {
                    self.expr(&operand.expr);
                }
                Known::Unknown
            }
            Expr::IfExpr(if_expr) => {
                self.expr(&if_expr.test_expr);
                let value = self.expr(&if_expr.true_expr);
                if let Some(other) = &if_expr.false_expr {
                    self.expr(other);
                }
                value
            }
            Expr::Filter(filter) => {
                // `x.y | default(...)` probes `x.y`.
                let probes = matches!(filter.name, "default" | "d");
                let input = filter
                    .expr
                    .as_ref()
                    .map(|input| self.expr_probed(input, probes));
                self.args(&filter.args);
                if let Some(reason) = jinja2::refused_filter(filter.name) {
                    self.report(line, "refused", reason);
                } else if !self.known.is_filter(filter.name) {
                    self.report(
                        line,
                        "unknown-filter",
                        format!("unknown filter `{}`", filter.name),
                    );
                }
                // Filters that pass their input through keep what is known about it.
                match (filter.name, input) {
                    ("list" | "reverse" | "sort" | "unique", Some(known)) => known,
                    _ => Known::Unknown,
                }
            }
            Expr::Test(test) => {
                let probes = matches!(test.name, "defined" | "undefined");
                self.expr_probed(&test.expr, probes);
                self.args(&test.args);
                if !self.known.is_test(test.name) {
                    self.report(
                        line,
                        "unknown-test",
                        format!("unknown test `{}`", test.name),
                    );
                }
                Known::Unknown
            }
            Expr::GetAttr(get) => {
                let parent = self.expr(&get.expr);
                self.attribute(parent, get.name, line, probed)
            }
            Expr::GetItem(get) => {
                let parent = self.expr(&get.expr);
                let subscript = self.expr(&get.subscript_expr);
                let _ = subscript;
                match &get.subscript_expr {
                    Expr::Const(constant) => match constant.value.as_str() {
                        Some(key) => self.attribute(parent, key, line, probed),
                        None => self.index(parent),
                    },
                    _ => self.index(parent),
                }
            }
            Expr::Call(call) => self.call(call, line),
            Expr::List(list) => {
                for item in &list.items {
                    self.expr(item);
                }
                Known::Unknown
            }
            Expr::Tuple(tuple) => {
                for item in &tuple.items {
                    self.expr(item);
                }
                Known::Unknown
            }
            Expr::Map(map) => {
                for item in map.keys.iter().chain(&map.values) {
                    self.expr(item);
                }
                Known::Unknown
            }
        }
    }

    fn args(&mut self, args: &[CallArg<'_>]) {
        for arg in args {
            match arg {
                CallArg::Pos(expr)
                | CallArg::Kwarg(_, expr)
                | CallArg::PosSplat(expr)
                | CallArg::KwargSplat(expr) => {
                    self.expr(expr);
                }
            }
        }
    }

    /// A call: a method (`x.items()`), a function (`range(3)`, a macro) or anything else.
    fn call(&mut self, call: &ast::Call<'_>, line: u16) -> Known<'n> {
        self.args(&call.args);
        match &call.expr {
            Expr::GetAttr(method) => {
                let receiver = self.expr(&method.expr);
                if let Some(reason) = jinja2::refused_method(method.name) {
                    self.report(line, "refused", reason);
                } else if !self.known.is_method(method.name) {
                    let unknown_receiver_member = match &receiver {
                        Known::Namespace {
                            shape: Shape::Object { fields, .. },
                            ..
                        } => !fields.contains_key(method.name),
                        Known::Namespace { .. } => true,
                        // A macro of an imported template, a namespace, a loop: anything.
                        Known::Unknown => false,
                    };
                    if unknown_receiver_member {
                        self.report(
                            line,
                            "unknown-method",
                            format!("unknown method `{}`", method.name),
                        );
                    }
                }
                // Methods that hand back a mapping's values keep nothing known.
                Known::Unknown
            }
            Expr::Var(var) if var.id == "loop" || self.lookup(var.id).is_some() => Known::Unknown,
            other => {
                self.expr(other);
                Known::Unknown
            }
        }
    }

    /// `parent[number]` or `parent[expression]`.
    fn index(&mut self, parent: Known<'n>) -> Known<'n> {
        match parent {
            Known::Namespace {
                path,
                shape: Shape::List(item),
            } => Known::Namespace {
                path: format!("{path}[]"),
                shape: item,
            },
            _ => Known::Unknown,
        }
    }

    /// `parent.name`, reporting it when the namespace says it does not exist.
    fn attribute(&mut self, parent: Known<'n>, name: &str, line: u16, probed: bool) -> Known<'n> {
        let Known::Namespace { path, shape } = parent else {
            return Known::Unknown;
        };
        let full = if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        match shape {
            Shape::Any => Known::Namespace {
                path: full,
                shape: &Shape::Any,
            },
            Shape::Object { fields, kind } => match fields.get(name) {
                Some(shape) => Known::Namespace { path: full, shape },
                None if probed => Known::Unknown,
                None => {
                    let message = match kind {
                        ObjectKind::Root(template) => format!(
                            "unknown variable `{full}`: {template} can read {}",
                            list(fields.keys())
                        ),
                        ObjectKind::Attributes => format!(
                            "unknown variable `{full}`: `{path}` has {}",
                            if fields.is_empty() {
                                "no attributes".to_owned()
                            } else {
                                list(fields.keys())
                            }
                        ),
                        ObjectKind::Inputs { schema } => format!(
                            "unknown variable `{full}`: `{name}` is not an input of the {schema} \
                             schema, which declares {}",
                            list(fields.keys())
                        ),
                        ObjectKind::NoInputs { schema } => format!(
                            "unknown variable `{full}`: the bundle has no {schema} schema, so \
                             there are no {schema} inputs"
                        ),
                    };
                    self.report(line, "unknown-variable", message);
                    Known::Unknown
                }
            },
            Shape::List(_) if name.bytes().all(|b| b.is_ascii_digit()) => {
                self.index(Known::Namespace { path, shape })
            }
            Shape::List(_) if probed => Known::Unknown,
            Shape::List(_) => {
                self.report(
                    line,
                    "unknown-variable",
                    format!(
                        "unknown variable `{full}`: `{path}` is a list; loop over it \
                         (`{{% for item in {path} %}}`) to read its items"
                    ),
                );
                Known::Unknown
            }
        }
    }
}

fn list<'s>(items: impl Iterator<Item = &'s String>) -> String {
    let items: Vec<String> = items.map(|item| format!("`{item}`")).collect();
    if items.is_empty() {
        "nothing".to_owned()
    } else {
        items.join(", ")
    }
}

fn span_line(expr: &Expr<'_>) -> u16 {
    match expr {
        Expr::Var(node) => node.span().start_line,
        Expr::Const(node) => node.span().start_line,
        Expr::Slice(node) => node.span().start_line,
        Expr::UnaryOp(node) => node.span().start_line,
        Expr::BinOp(node) => node.span().start_line,
        Expr::Compare(node) => node.span().start_line,
        Expr::IfExpr(node) => node.span().start_line,
        Expr::Filter(node) => node.span().start_line,
        Expr::Test(node) => node.span().start_line,
        Expr::GetAttr(node) => node.span().start_line,
        Expr::GetItem(node) => node.span().start_line,
        Expr::Call(node) => node.span().start_line,
        Expr::List(node) => node.span().start_line,
        Expr::Tuple(node) => node.span().start_line,
        Expr::Map(node) => node.span().start_line,
    }
}
