//! [`RouteTable`]: route templates matched against the request path by the layer itself.

use std::borrow::Cow;
use std::fmt;

use http::{Extensions, Uri};

use super::RouteExtractor;

/// Route templates the layer matches request paths against, in axum's syntax (`/users/{id}`,
/// `/v{version}`, `/files/{*path}`, `{{` and `}}` for literal braces) and with axum 0.8's
/// precedence (tested against its `matchit` router).
///
/// With axum, [`Router`](crate::Router) builds this table from the routes as they are added;
/// write one for hyper and tonic services, or wherever no router reports its match, and give
/// it to [`MetricsLayer::routes`](crate::MetricsLayer::routes). Paths no template matches are
/// recorded without an `http_route` label; the raw path is never a label.
///
/// ```
/// use metrics_axum::{MetricsLayer, RouteTable};
/// use metrics_toolkit::HttpServerMetrics;
/// use tower_layer::Layer;
///
/// let routes = RouteTable::new(["/users/{id}", "/users/{id}/orders"])?;
/// assert_eq!(routes.matching("/users/7/orders"), Some("/users/{id}/orders"));
///
/// let http = HttpServerMetrics::builder().build();
/// let hello = tower::service_fn(|_: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("hello")))
/// });
/// let service = MetricsLayer::new(http).routes(routes).layer(hello);
/// # let _ = service;
/// # Ok::<(), metrics_axum::RouteTableError>(())
/// ```
//
// Hand-written rather than axum's `matchit`, because it measured faster and allocates nothing:
// 133 instructions per match against matchit 0.8.4's 200 with one route, 209 against 287 with
// twenty (callgrind), +1,111 instructions per request around a router against +1,163
// (`benches/scripts/instructions.sh`); and matchit allocates its backtracking list whenever a
// literal and a parameter share a position (`/users/me`, `/users/{id}`), which this table
// never does. `tests/route_table.rs` checks it against matchit on generated templates.
#[derive(Clone)]
pub struct RouteTable {
    root: Node,
    /// Each template's label, by index. `None` for what axum gives no `MatchedPath`, such as
    /// the paths below a `nest_service`: routed, so no other template may match them, but
    /// recorded without a route.
    labels: Vec<Option<Box<str>>>,
    /// Each template as written, by the same index.
    templates: Vec<Box<str>>,
}

/// One path segment position of the table: a trie over segments, since templates differ
/// segment by segment.
#[derive(Clone, Default)]
struct Node {
    /// Literal segments, each with the rest of the templates that start with it.
    literals: Vec<(Box<str>, Node)>,
    /// Segments of a literal prefix and a parameter (`v{version}`), longest prefix first, as
    /// axum tries them, each with the rest of its templates.
    prefixed: Vec<(Box<str>, Node)>,
    /// A `{param}` segment, when some template has one here.
    param: Option<Box<Node>>,
    /// The template whose `{*rest}` starts here (matching one or more remaining bytes).
    catch_all: Option<usize>,
    /// The template that ends here.
    end: Option<usize>,
    /// Whether a parameter, a prefixed parameter or a catch-all could take over here from a
    /// literal branch that fails further on: kept, not recomputed per request.
    wild: bool,
}

/// What one template segment is.
enum Segment<'a> {
    Literal(Cow<'a, str>),
    /// A literal prefix, then a parameter to the end of the segment.
    PrefixedParam(&'a str),
    Param,
    CatchAll,
}

impl RouteTable {
    /// A table of these templates. Fails on a template that does not start with `/`, has a
    /// parameter that does not end its segment (`/{id}.json`), a catch-all that is not last, or
    /// that conflicts with another (`/users/{id}` and `/users/{name}`).
    pub fn new<I>(templates: I) -> Result<Self, RouteTableError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut table = Self::empty();
        for template in templates {
            let template = template.as_ref();
            table.insert(template, Some(template))?;
        }
        Ok(table)
    }

    pub(crate) fn empty() -> Self {
        Self {
            root: Node::default(),
            labels: Vec::new(),
            templates: Vec::new(),
        }
    }

    /// Whether `template` is in the table, written exactly so.
    #[cfg(feature = "axum")]
    pub(crate) fn contains(&self, template: &str) -> bool {
        self.templates.iter().any(|t| **t == *template)
    }

    /// Adds `template`, recorded under `label` when it matches.
    pub(crate) fn insert(
        &mut self,
        template: &str,
        label: Option<&str>,
    ) -> Result<(), RouteTableError> {
        let error = |reason: &str| RouteTableError {
            template: template.to_owned(),
            reason: reason.to_owned(),
        };
        let Some(rest) = template.strip_prefix('/') else {
            return Err(error("a route template starts with `/`"));
        };
        let index = self.templates.len();
        let mut node = &mut self.root;
        let mut segments = rest.split('/').peekable();
        while let Some(text) = segments.next() {
            let last = segments.peek().is_none();
            match parse_segment(text).map_err(error)? {
                Segment::Literal(literal) => {
                    let at = match node.literals.iter().position(|(l, _)| **l == *literal) {
                        Some(at) => at,
                        None => {
                            node.literals.push((literal.into(), Node::default()));
                            node.literals.len() - 1
                        }
                    };
                    node = &mut node.literals[at].1;
                }
                Segment::PrefixedParam(prefix) => {
                    let at = match node.prefixed.iter().position(|(p, _)| **p == *prefix) {
                        Some(at) => at,
                        None => {
                            let at = node
                                .prefixed
                                .iter()
                                .position(|(p, _)| p.len() < prefix.len())
                                .unwrap_or(node.prefixed.len());
                            node.prefixed.insert(at, (prefix.into(), Node::default()));
                            node.wild = true;
                            at
                        }
                    };
                    node = &mut node.prefixed[at].1;
                }
                Segment::Param => {
                    if node.catch_all.is_some() {
                        return Err(error("conflicts with a catch-all at the same position"));
                    }
                    node.wild = true;
                    node = node.param.get_or_insert_with(Box::default);
                }
                Segment::CatchAll => {
                    if !last {
                        return Err(error("a catch-all `{*name}` must be the last segment"));
                    }
                    if node.param.is_some() || node.catch_all.is_some() {
                        return Err(error("conflicts with a parameter at the same position"));
                    }
                    node.catch_all = Some(index);
                    node.wild = true;
                    self.push(template, label);
                    return Ok(());
                }
            }
        }
        if let Some(existing) = node.end {
            let reason = format!("conflicts with `{}`", self.templates[existing]);
            return Err(error(&reason));
        }
        node.end = Some(index);
        self.push(template, label);
        Ok(())
    }

    fn push(&mut self, template: &str, label: Option<&str>) {
        self.labels.push(label.map(Into::into));
        self.templates.push(template.into());
    }

    /// The number of templates.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the table has no template (every request is recorded without a route).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The template `path` matches, if any. Literal segments win over `{param}`, which wins
    /// over `{*rest}`; when the more specific branch fails further on, the next is tried.
    ///
    /// ```
    /// use metrics_axum::RouteTable;
    ///
    /// let table = RouteTable::new(["/users/{id}", "/users/me", "/static/{*file}"])?;
    /// assert_eq!(table.matching("/users/42"), Some("/users/{id}"));
    /// assert_eq!(table.matching("/users/me"), Some("/users/me"));
    /// assert_eq!(table.matching("/static/css/site.css"), Some("/static/{*file}"));
    /// assert_eq!(table.matching("/users/42/extra"), None);
    /// # Ok::<(), metrics_axum::RouteTableError>(())
    /// ```
    #[inline]
    pub fn matching(&self, path: &str) -> Option<&str> {
        self.labels[self.index_of(path)?].as_deref()
    }

    /// The position in [`labels`](Self::labels) of the template `path` matches.
    #[inline]
    pub(crate) fn index_of(&self, path: &str) -> Option<usize> {
        self.root.find(path.as_bytes().strip_prefix(b"/")?)
    }

    /// Each template as written, in the order added.
    #[cfg(feature = "axum")]
    pub(crate) fn templates(&self) -> &[Box<str>] {
        &self.templates
    }

    /// The label of each template, in the order added.
    pub(crate) fn labels(&self) -> &[Option<Box<str>>] {
        &self.labels
    }
}

impl Node {
    /// The template matching `path`, the bytes of a request path after a `/`.
    ///
    /// Walks down without recursion while a position offers one way on (the common case);
    /// only where a parameter or catch-all could take over from a failed branch does it
    /// recurse, to come back to it. Bytes, not `str`: every cut is at a `/`, and byte slices
    /// need no character-boundary checks.
    fn find(&self, path: &[u8]) -> Option<usize> {
        let (mut node, mut path) = (self, path);
        loop {
            let alternatives = node.wild;
            if let Some((child, rest)) = node.literal(path) {
                match rest {
                    Some(rest) if !alternatives => {
                        (node, path) = (child, rest);
                        continue;
                    }
                    None if !alternatives => return child.end,
                    _ => {
                        if let Some(found) = child.rest(rest) {
                            return Some(found);
                        }
                    }
                }
            }
            for (prefix, child) in &node.prefixed {
                let Some(value) = path.strip_prefix(prefix.as_bytes()) else {
                    continue;
                };
                // The parameter takes the rest of the segment, by the same rule as below.
                let found = match value.iter().position(|b| *b == b'/') {
                    None if value.is_empty() => None,
                    None => child.end,
                    Some(at) => child.find(&value[at + 1..]),
                };
                if found.is_some() {
                    return found;
                }
            }
            if let Some(param) = node.param.as_deref() {
                match path.iter().position(|b| *b == b'/') {
                    // As in axum, a parameter may be empty only when more of the path follows.
                    None if path.is_empty() => {}
                    None => {
                        if param.end.is_some() {
                            return param.end;
                        }
                    }
                    Some(at) if node.catch_all.is_none() => {
                        (node, path) = (param, &path[at + 1..]);
                        continue;
                    }
                    Some(at) => {
                        if let Some(found) = param.find(&path[at + 1..]) {
                            return Some(found);
                        }
                    }
                }
            }
            return node.catch_all.filter(|_| !path.is_empty());
        }
    }

    /// The literal child that `path` starts with as a whole segment, and what follows it.
    #[inline]
    fn literal<'p>(&self, path: &'p [u8]) -> Option<(&Node, Option<&'p [u8]>)> {
        for (literal, child) in &self.literals {
            let literal = literal.as_bytes();
            // Compared in place: segments are short, shorter than a call to `memcmp`.
            let Some(head) = path.get(..literal.len()) else {
                continue;
            };
            if !head.iter().zip(literal).all(|(a, b)| a == b) {
                continue;
            }
            match path.get(literal.len()) {
                None => return Some((child, None)),
                Some(b'/') => return Some((child, Some(&path[literal.len() + 1..]))),
                // `literal` is only a prefix of this segment.
                Some(_) => {}
            }
        }
        None
    }

    #[inline]
    fn rest(&self, rest: Option<&[u8]>) -> Option<usize> {
        match rest {
            None => self.end,
            Some(rest) => self.find(rest),
        }
    }
}

fn parse_segment(text: &str) -> Result<Segment<'_>, &'static str> {
    if text.contains("{{") || text.contains("}}") {
        return unescaped(text).map(|literal| Segment::Literal(Cow::Owned(literal)));
    }
    let Some(start) = text.find('{') else {
        if text.contains('}') {
            return Err("a `}` without its `{` (write `}}` for a literal one)");
        }
        return Ok(Segment::Literal(Cow::Borrowed(text)));
    };
    let (prefix, param) = text.split_at(start);
    let Some(inner) = param[1..].strip_suffix('}') else {
        return Err(
            "a parameter `{name}` ends its path segment (`/{id}`, `/v{id}`, not `/{id}.json`)",
        );
    };
    let (segment, name) = match inner.strip_prefix('*') {
        Some(_) if !prefix.is_empty() => {
            return Err("a catch-all `{*name}` must be a whole path segment")
        }
        Some(name) => (Segment::CatchAll, name),
        None if prefix.is_empty() => (Segment::Param, inner),
        None => (Segment::PrefixedParam(prefix), inner),
    };
    if name.is_empty() || name.contains(['{', '}', '*']) {
        return Err("a parameter needs a name (`{id}`, `{*path}`)");
    }
    Ok(segment)
}

/// A literal segment with `{{` and `}}` written for `{` and `}`.
fn unescaped(text: &str) -> Result<String, &'static str> {
    let mut literal = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if matches!(c, '{' | '}') && chars.next() != Some(c) {
            return Err("escaped braces (`{{`, `}}`) and a parameter in one segment");
        }
        literal.push(c);
    }
    Ok(literal)
}

impl RouteExtractor for RouteTable {
    #[inline]
    fn route<'a>(&'a self, uri: &'a Uri, _extensions: &'a Extensions) -> Option<&'a str> {
        self.matching(uri.path())
    }
}

impl fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteTable")
            .field("templates", &self.templates)
            .finish_non_exhaustive()
    }
}

/// A template [`RouteTable::new`] refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTableError {
    template: String,
    reason: String,
}

impl RouteTableError {
    /// The template that was refused.
    pub fn template(&self) -> &str {
        &self.template
    }
}

impl fmt::Display for RouteTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid route template `{}`: {}",
            self.template, self.reason
        )
    }
}

impl std::error::Error for RouteTableError {}
