//! API Gateway (HTTP API) route selection: a literal segment beats a `{param}`, which beats
//! a greedy `{proxy+}`; a path that matches no route is 404, a path that matches only under
//! other methods is 405 with `Allow`.

use percent_encoding::percent_decode_str;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

#[derive(Debug, Clone)]
pub struct Route<T> {
    /// `None` for `ANY`.
    method: Option<String>,
    segments: Vec<Segment>,
    pub key: String,
    pub target: T,
}

#[derive(Debug)]
pub enum Match<'a, T> {
    Found {
        route: &'a Route<T>,
        params: Vec<(String, String)>,
    },
    /// The path exists, not for this method.
    MethodNotAllowed {
        allow: Vec<String>,
    },
    NotFound,
    /// A path parameter did not decode to UTF-8.
    BadPath,
}

#[derive(Debug, Clone)]
pub struct Router<T> {
    routes: Vec<Route<T>>,
}

impl<T> Router<T> {
    pub fn new() -> Self {
        Self { routes: Vec::new() }
    }

    pub fn add(&mut self, method: &str, path: &str, target: T) {
        let segments = split(path)
            .map(|s| {
                if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                    Segment::Greedy(name.to_owned())
                } else if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Segment::Param(name.to_owned())
                } else {
                    Segment::Literal(s.to_owned())
                }
            })
            .collect();
        let method = method.to_ascii_uppercase();
        self.routes.push(Route {
            key: format!("{method} {path}"),
            method: (method != "ANY").then_some(method),
            segments,
            target,
        });
        // Most specific first, so the first match wins.
        self.routes
            .sort_by_key(|r| std::cmp::Reverse(specificity(&r.segments)));
    }

    pub fn for_each_target(&mut self, mut change: impl FnMut(&mut T)) {
        for route in &mut self.routes {
            change(&mut route.target);
        }
    }

    pub fn route_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.routes.iter().map(|r| r.key.clone()).collect();
        keys.sort();
        keys
    }

    pub fn find(&self, method: &str, raw_path: &str) -> Match<'_, T> {
        let parts: Vec<&str> = split(raw_path).collect();
        let mut allow = Vec::new();
        for route in &self.routes {
            let Some(params) = match_segments(&route.segments, &parts) else {
                continue;
            };
            match &route.method {
                Some(m) if !m.eq_ignore_ascii_case(method) => {
                    allow.push(m.clone());
                    continue;
                }
                _ => {}
            }
            let mut decoded = Vec::with_capacity(params.len());
            for (name, raw) in params {
                match percent_decode_str(&raw).decode_utf8() {
                    Ok(value) => decoded.push((name, value.into_owned())),
                    Err(_) => return Match::BadPath,
                }
            }
            return Match::Found {
                route,
                params: decoded,
            };
        }
        if allow.is_empty() {
            Match::NotFound
        } else {
            allow.sort();
            allow.dedup();
            Match::MethodNotAllowed { allow }
        }
    }
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Orders routes: more literal segments first, then more segments, greedy last.
fn specificity(segments: &[Segment]) -> (bool, usize, usize) {
    let literals = segments
        .iter()
        .filter(|s| matches!(s, Segment::Literal(_)))
        .count();
    let greedy = segments.iter().any(|s| matches!(s, Segment::Greedy(_)));
    (!greedy, literals, segments.len())
}

fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                if i >= parts.len() {
                    return None;
                }
                params.push((name.clone(), parts[i..].join("/")));
                return Some(params);
            }
            Segment::Literal(lit) => {
                if parts.get(i) != Some(&lit.as_str()) {
                    return None;
                }
            }
            Segment::Param(name) => {
                let part = parts.get(i)?;
                params.push((name.clone(), (*part).to_owned()));
            }
        }
    }
    (segments.len() == parts.len()).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router<&'static str> {
        let mut r = Router::new();
        r.add("GET", "/api/orders", "list");
        r.add("POST", "/api/orders", "create");
        r.add("GET", "/api/orders/{order_number}", "one");
        r.add("GET", "/api/orders/assignDriver", "literal");
        r.add("ANY", "/api/files/{proxy+}", "greedy");
        r
    }

    fn target(m: Match<'_, &'static str>) -> (&'static str, Vec<(String, String)>) {
        match m {
            Match::Found { route, params } => (route.target, params),
            other => panic!("expected a match, got {other:?}"),
        }
    }

    #[test]
    fn literal_beats_parameter() {
        let r = router();
        assert_eq!(
            target(r.find("GET", "/api/orders/assignDriver")).0,
            "literal"
        );
        let (t, params) = target(r.find("GET", "/api/orders/CV-123"));
        assert_eq!(t, "one");
        assert_eq!(
            params,
            vec![("order_number".to_owned(), "CV-123".to_owned())]
        );
    }

    #[test]
    fn parameters_are_percent_decoded() {
        let (_, params) = target(router().find("GET", "/api/orders/CV%20123%2F4"));
        assert_eq!(params[0].1, "CV 123/4");
        assert!(matches!(
            router().find("GET", "/api/orders/%FF"),
            Match::BadPath
        ));
    }

    #[test]
    fn methods_and_misses() {
        let r = router();
        assert_eq!(target(r.find("POST", "/api/orders")).0, "create");
        match r.find("DELETE", "/api/orders") {
            Match::MethodNotAllowed { allow } => assert_eq!(allow, vec!["GET", "POST"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(r.find("GET", "/api/nothing"), Match::NotFound));
        assert!(matches!(r.find("GET", "/api/orders/a/b"), Match::NotFound));
        assert!(matches!(r.find("GET", "/api/files"), Match::NotFound));
    }

    #[test]
    fn greedy_takes_the_rest() {
        let (t, params) = target(router().find("PUT", "/api/files/a/b/c"));
        assert_eq!(t, "greedy");
        assert_eq!(params[0].1, "a/b/c");
    }

    #[test]
    fn trailing_slash_is_the_same_path() {
        assert_eq!(target(router().find("GET", "/api/orders/")).0, "list");
    }
}
