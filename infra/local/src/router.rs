//! API Gateway (HTTP API) route selection: a literal segment beats a `{param}`, which beats
//! a greedy `{proxy+}`; a path that matches no route is 404, a path that matches only under
//! other methods is 405 with `Allow`.
//!
//! The paths are matched by [`matchit`]'s route tree, which picks one route per path
//! whatever the method. API Gateway picks among the routes that accept the request's
//! method (a `POST` skips a `GET`-only literal route for a `POST` parameter route), so each
//! method a route names has a tree of its own (its routes and the `ANY` routes), and `ANY`
//! has one for the methods no route names. Greedy routes are in trees of their own,
//! searched after the others: a `{proxy+}` route loses to every route without one, and
//! matchit would refuse a catch-all beside a parameter at the same segment.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;

/// The method of `ANY` routes, which accept every method.
const ANY: &str = "ANY";

#[derive(Debug, Clone)]
pub struct Route<T> {
    /// The path's parameter names in order: the trees name them by position, so two routes
    /// that name the same parameter differently share one path.
    param_names: Vec<String>,
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

/// A route the tree cannot hold (a greedy segment before the end, or one beside a
/// parameter at the same segment of another greedy route).
#[derive(Debug, thiserror::Error)]
#[error("route {key} cannot be served: {source}")]
pub struct RouteError {
    key: String,
    source: matchit::InsertError,
}

/// A matchit path and, at its leaf, the routes on it: indices into `Router::routes`, in the
/// order they were added, so the first added wins between two routes of one path.
type Tree = matchit::Router<Vec<usize>>;

/// The paths that accept one method.
#[derive(Debug, Clone, Default)]
struct Trees {
    exact: Tree,
    /// Searched only when `exact` has no match.
    greedy: Tree,
}

impl Trees {
    fn insert(&mut self, path: &TreePath, index: usize) -> Result<(), matchit::InsertError> {
        let tree = if path.greedy {
            &mut self.greedy
        } else {
            &mut self.exact
        };
        // matchit holds one value per path: take it out, add the route, put it back.
        let mut routes = tree.remove(path.pattern.as_str()).unwrap_or_default();
        routes.push(index);
        routes.sort_unstable();
        tree.insert(path.pattern.as_str(), routes)
    }

    /// The first route on the best path, and the raw parameters (`p<i>` and value).
    fn at(&self, path: &str) -> Option<(usize, Vec<(String, String)>)> {
        let matched = self.exact.at(path).or_else(|_| self.greedy.at(path)).ok()?;
        let first = *matched.value.first()?;
        let values = matched
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some((first, values))
    }
}

#[derive(Debug, Clone)]
pub struct Router<T> {
    routes: Vec<Route<T>>,
    /// By method, and `ANY`: the trees of the routes that accept it.
    trees: BTreeMap<String, Trees>,
}

impl<T> Router<T> {
    pub fn new() -> Self {
        Self {
            routes: Vec::new(),
            trees: BTreeMap::from([(ANY.to_owned(), Trees::default())]),
        }
    }

    /// Adds a route; after an error the router is incomplete and is to be dropped.
    pub fn add(&mut self, method: &str, path: &str, target: T) -> Result<(), RouteError> {
        let method = method.to_ascii_uppercase();
        let key = format!("{method} {path}");
        let tree_path = TreePath::of(path);
        let index = self.routes.len();
        let error = |source| RouteError {
            key: key.clone(),
            source,
        };
        if method == ANY {
            for trees in self.trees.values_mut() {
                trees.insert(&tree_path, index).map_err(error)?;
            }
        } else {
            if !self.trees.contains_key(&method) {
                // A method's first route: its trees start as `ANY`'s, with every ANY route.
                let any = self.trees.get(ANY).cloned().unwrap_or_default();
                self.trees.insert(method.clone(), any);
            }
            if let Some(trees) = self.trees.get_mut(&method) {
                trees.insert(&tree_path, index).map_err(error)?;
            }
        }
        self.routes.push(Route {
            key,
            param_names: tree_path.param_names,
            target,
        });
        Ok(())
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
        let path = normalized(raw_path);
        let method = method.to_ascii_uppercase();
        let own = self.trees.get(&method).or_else(|| self.trees.get(ANY));
        if let Some((index, raw_params)) = own.and_then(|trees| trees.at(&path)) {
            return self.found(index, &raw_params);
        }
        // Every tree holds the `ANY` routes, so none of them takes the path: a tree that
        // does has a route of its own method there.
        let allow: Vec<String> = self
            .trees
            .iter()
            .filter(|(name, trees)| name.as_str() != ANY && trees.at(&path).is_some())
            .map(|(name, _)| name.clone())
            .collect();
        if allow.is_empty() {
            Match::NotFound
        } else {
            Match::MethodNotAllowed { allow }
        }
    }

    fn found(&self, index: usize, raw_params: &[(String, String)]) -> Match<'_, T> {
        let Some(route) = self.routes.get(index) else {
            return Match::NotFound;
        };
        let mut params = Vec::with_capacity(route.param_names.len());
        for (position, name) in route.param_names.iter().enumerate() {
            let tree_name = format!("p{position}");
            let Some((_, raw)) = raw_params.iter().find(|(k, _)| *k == tree_name) else {
                return Match::NotFound;
            };
            match percent_decode_str(raw).decode_utf8() {
                Ok(value) => params.push((name.clone(), value.into_owned())),
                Err(_) => return Match::BadPath,
            }
        }
        Match::Found { route, params }
    }
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A route's path in matchit's syntax.
struct TreePath {
    /// `{name}` becomes `{p<i>}` and `{name+}` `{*p<i>}`; braces in literals are escaped.
    pattern: String,
    param_names: Vec<String>,
    greedy: bool,
}

impl TreePath {
    fn of(path: &str) -> Self {
        let mut pattern = String::new();
        let mut param_names = Vec::new();
        let mut greedy = false;
        for segment in split(path) {
            pattern.push('/');
            let position = param_names.len();
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
                pattern.push_str(&format!("{{*p{position}}}"));
                param_names.push(name.to_owned());
                greedy = true;
            } else if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                pattern.push_str(&format!("{{p{position}}}"));
                param_names.push(name.to_owned());
            } else {
                pattern.push_str(&segment.replace('{', "{{").replace('}', "}}"));
            }
        }
        if pattern.is_empty() {
            pattern.push('/');
        }
        Self {
            pattern,
            param_names,
            greedy,
        }
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The path without empty segments: `/api/orders/` and `//api/orders` are `/api/orders`.
fn normalized(path: &str) -> String {
    let mut normalized: String = split(path).flat_map(|s| ["/", s]).collect();
    if normalized.is_empty() {
        normalized.push('/');
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router<&'static str> {
        let mut r = Router::new();
        for (method, path, target) in [
            ("GET", "/api/orders", "list"),
            ("POST", "/api/orders", "create"),
            ("GET", "/api/orders/{order_number}", "one"),
            ("GET", "/api/orders/assignDriver", "literal"),
            ("ANY", "/api/files/{proxy+}", "greedy"),
        ] {
            r.add(method, path, target).expect("route");
        }
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
    fn a_method_the_literal_lacks_falls_to_the_parameter() {
        let mut r = router();
        r.add("POST", "/api/orders/{number}", "post one")
            .expect("route");
        let (t, params) = target(r.find("POST", "/api/orders/assignDriver"));
        assert_eq!(t, "post one");
        assert_eq!(
            params,
            vec![("number".to_owned(), "assignDriver".to_owned())]
        );
        assert_eq!(
            target(r.find("GET", "/api/orders/assignDriver")).0,
            "literal"
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
        assert_eq!(
            r.route_keys(),
            vec![
                "ANY /api/files/{proxy+}",
                "GET /api/orders",
                "GET /api/orders/assignDriver",
                "GET /api/orders/{order_number}",
                "POST /api/orders",
            ]
        );
    }

    #[test]
    fn greedy_takes_the_rest() {
        let (t, params) = target(router().find("PUT", "/api/files/a/b/c"));
        assert_eq!(t, "greedy");
        assert_eq!(params, vec![("proxy".to_owned(), "a/b/c".to_owned())]);
        // Added after a method's tree exists, an ANY route reaches that method too.
        let mut r = router();
        r.add("ANY", "/api/{proxy+}", "everything").expect("route");
        assert_eq!(target(r.find("GET", "/api/other/x")).0, "everything");
        assert_eq!(target(r.find("PATCH", "/api/other")).0, "everything");
        // A greedy route loses to any route without one, even with fewer literals.
        r.add("GET", "/api/files/{id}", "file").expect("route");
        assert_eq!(target(r.find("GET", "/api/files/a")).0, "file");
        assert_eq!(target(r.find("GET", "/api/files/a/b")).0, "greedy");
    }

    #[test]
    fn trailing_slash_is_the_same_path() {
        assert_eq!(target(router().find("GET", "/api/orders/")).0, "list");
        assert_eq!(target(router().find("GET", "//api//orders")).0, "list");
    }

    #[test]
    fn unservable_routes_are_errors() {
        let mut r = router();
        let err = r
            .add("GET", "/api/{proxy+}/more", "middle")
            .expect_err("greedy in the middle");
        assert!(err.to_string().contains("GET /api/{proxy+}/more"), "{err}");
    }
}
