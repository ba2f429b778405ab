//! `RouteTable`: axum's matching precedence and the templates axum routes (checked against
//! axum's own `matchit` router), and clear errors for templates it cannot hold.

use metrics_axum::RouteTable;
use proptest::prelude::*;

/// Template segments: literals that overlap with request segments, parameters, a catch-all.
fn template_segment() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("users"),
        Just("us"),
        Just("me"),
        Just("a"),
        Just(""),
        Just("{id}"),
        Just("{name}"),
        Just("v{version}"),
        Just("ve{b}"),
        Just("v1"),
        Just("ve"),
        Just("{{x}}"),
    ]
}

fn template() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(template_segment(), 1..4),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(segments, catch_all)| {
            let mut template = format!("/{}", segments.join("/"));
            if catch_all {
                template.push_str("/{*rest}");
            }
            template
        })
}

fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just("users"),
        Just("me"),
        Just("a"),
        Just(""),
        Just("42"),
        Just("us"),
        Just("usersx"),
        Just("x.y"),
        Just("v2"),
        Just("v"),
        Just("v1"),
        Just("ve"),
        Just("vex"),
        Just("{x}"),
    ];
    prop::collection::vec(segment, 0..5).prop_map(|segments| format!("/{}", segments.join("/")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// For every set of templates axum accepts, every path finds the template axum finds.
    #[test]
    fn matches_like_axum(templates in prop::collection::vec(template(), 1..7),
                         paths in prop::collection::vec(path(), 1..16)) {
        let mut reference = matchit::Router::new();
        let mut accepted = Vec::new();
        for template in &templates {
            if reference.insert(template.as_str(), template.clone()).is_ok() {
                accepted.push(template.clone());
            }
        }
        let table = RouteTable::new(&accepted).expect("templates matchit accepts");
        prop_assert_eq!(table.len(), accepted.len());
        for path in &paths {
            let expected = reference.at(path).ok().map(|m| m.value.as_str());
            prop_assert_eq!(table.matching(path), expected, "path {} in {:?}", path, accepted);
        }
    }
}

#[test]
fn precedence_is_literal_then_parameter_then_catch_all_with_backtracking() {
    let table = RouteTable::new([
        "/users/{id}",
        "/users/me",
        "/users/me/settings",
        "/users/{id}/orders",
        "/files/{*path}",
        "/files/index",
        "/",
    ])
    .expect("table");
    let cases = [
        ("/users/7", Some("/users/{id}")),
        ("/users/me", Some("/users/me")),
        ("/users/me/settings", Some("/users/me/settings")),
        // `me` is a literal, but only `{id}` continues with `orders`.
        ("/users/me/orders", Some("/users/{id}/orders")),
        ("/users/", None),
        ("/users/7/", None),
        ("/files/index", Some("/files/index")),
        ("/files/a/b.css", Some("/files/{*path}")),
        ("/files/", None),
        ("/", Some("/")),
        ("", None),
        ("*", None),
        ("/nowhere", None),
    ];
    for (path, expected) in cases {
        assert_eq!(table.matching(path), expected, "{path}");
    }
}

#[test]
fn templates_it_cannot_hold_are_refused_with_the_reason() {
    let cases = [
        (vec!["users/{id}"], "users/{id}", "starts with `/`"),
        (
            vec!["/a/{id}.json"],
            "/a/{id}.json",
            "ends its path segment",
        ),
        (vec!["/a/{}"], "/a/{}", "needs a name"),
        (vec!["/a/{*}"], "/a/{*}", "needs a name"),
        (
            vec!["/a/{*rest}/b"],
            "/a/{*rest}/b",
            "must be the last segment",
        ),
        (
            vec!["/a/{x}", "/a/{y}"],
            "/a/{y}",
            "conflicts with `/a/{x}`",
        ),
        (vec!["/a/{x}", "/a/{*rest}"], "/a/{*rest}", "conflicts"),
        (vec!["/a/{*rest}", "/a/{x}"], "/a/{x}", "conflicts"),
        (vec!["/a", "/a"], "/a", "conflicts with `/a`"),
    ];
    for (templates, refused, reason) in cases {
        let error = RouteTable::new(&templates).expect_err(refused);
        assert_eq!(error.template(), refused, "{templates:?}");
        let message = error.to_string();
        assert!(message.contains(reason), "{templates:?}: {message}");
        assert!(message.contains(refused), "{templates:?}: {message}");
    }
    // What axum routes beyond whole-segment parameters: a literal before a parameter, and
    // escaped braces.
    let table = RouteTable::new(["/api/v{version}/items", "/{{literal}}"]).expect("table");
    assert_eq!(
        table.matching("/api/v2/items"),
        Some("/api/v{version}/items")
    );
    assert_eq!(table.matching("/{literal}"), Some("/{{literal}}"));
    assert!(RouteTable::new(Vec::<String>::new())
        .expect("empty")
        .is_empty());
}
