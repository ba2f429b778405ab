//! [`RouteTable`]: route templates matched against the request path by the layer itself.

use std::fmt;

use http::{Extensions, Uri};

use super::RouteExtractor;

/// Route templates the layer matches request paths against, in axum's syntax (`/users/{id}`,
/// `/files/{*path}`) and with axum 0.8's precedence (tested against its `matchit` router).
///
/// Use it where no router reports its match: around a whole axum `Router` (the cheapest
/// placement, since axum's `Router::layer` boxes every route's service, future and body once
/// more), or for hyper and tonic services. Paths no template matches are recorded as
/// `unmatched`; the raw path is never a label.
///
/// The table must list the application's routes with their nest prefixes: a route missing from
/// it is recorded as `unmatched`.
///
/// ```
/// use axum::{routing::get, Router};
/// use metrics_axum::{MetricsLayer, RouteTable};
/// use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
/// use tower_layer::Layer;
///
/// let registry = MetricsRegistry::builder().service_name("users").build().unwrap();
/// let http = HttpServerMetrics::builder().register(&registry);
/// let routes = RouteTable::new(["/users/{id}", "/users/{id}/orders"])?;
///
/// let router: Router = Router::new()
///     .route("/users/{id}", get(|| async { "a user" }))
///     .route("/users/{id}/orders", get(|| async { "orders" }));
/// // Around the router, answering with axum's body type for `axum::serve`.
/// let app = MetricsLayer::new(http)
///     .route_extractor(routes)
///     .axum_body()
///     .layer(router);
/// let _for_axum_serve = app.into_make_service();
/// # Ok::<(), metrics_axum::RouteTableError>(())
/// ```
#[derive(Clone)]
pub struct RouteTable {
    root: Node,
    templates: Vec<Box<str>>,
}

/// One path segment position of the table: a trie over segments, since templates differ
/// segment by segment.
#[derive(Clone, Default)]
struct Node {
    /// Literal segments, each with the rest of the templates that start with it.
    literals: Vec<(Box<str>, Node)>,
    /// A `{param}` segment, when some template has one here.
    param: Option<Box<Node>>,
    /// The template whose `{*rest}` starts here (matching one or more remaining bytes).
    catch_all: Option<usize>,
    /// The template that ends here.
    end: Option<usize>,
}

/// What one template segment is.
enum Segment<'a> {
    Literal(&'a str),
    Param,
    CatchAll,
}

impl RouteTable {
    /// A table of these templates. Fails on a template that does not start with `/`, has a
    /// parameter that is not a whole segment (`/{id}.json`), a catch-all that is not last, or
    /// that conflicts with another (`/users/{id}` and `/users/{name}`).
    pub fn new<I>(templates: I) -> Result<Self, RouteTableError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut table = Self {
            root: Node::default(),
            templates: Vec::new(),
        };
        for template in templates {
            table.insert(template.as_ref())?;
        }
        Ok(table)
    }

    fn insert(&mut self, template: &str) -> Result<(), RouteTableError> {
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
                Segment::Param => {
                    if node.catch_all.is_some() {
                        return Err(error("conflicts with a catch-all at the same position"));
                    }
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
                    self.templates.push(template.into());
                    return Ok(());
                }
            }
        }
        if let Some(existing) = node.end {
            let reason = format!("conflicts with `{}`", self.templates[existing]);
            return Err(error(&reason));
        }
        node.end = Some(index);
        self.templates.push(template.into());
        Ok(())
    }

    /// The number of templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether the table has no template (every request is `unmatched`).
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
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
        Some(&self.templates[self.index_of(path)?])
    }

    /// The position in [`templates`](Self::templates) of the template `path` matches.
    #[inline]
    pub(crate) fn index_of(&self, path: &str) -> Option<usize> {
        self.root.find(path.as_bytes().strip_prefix(b"/")?)
    }

    /// The templates, in the order given.
    pub(crate) fn templates(&self) -> &[Box<str>] {
        &self.templates
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
            let alternatives = node.param.is_some() || node.catch_all.is_some();
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
    let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
        if text.contains(['{', '}']) {
            return Err("a parameter `{name}` must be a whole path segment");
        }
        return Ok(Segment::Literal(text));
    };
    let (segment, name) = match inner.strip_prefix('*') {
        Some(name) => (Segment::CatchAll, name),
        None => (Segment::Param, inner),
    };
    if name.is_empty() || name.contains(['{', '}', '*']) {
        return Err("a parameter needs a name (`{id}`, `{*path}`)");
    }
    Ok(segment)
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
