//! The routes of an API function, as its declaration states them (`DEPLOY` in the
//! function's module): method, path, whether the session authorizer runs, any throttle,
//! and the permission a caller needs, which the runtime checks before the handler reads
//! anything.

use crate::auth::Permission;

/// An HTTP method a route answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// As a route key writes it (`GET`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// As a logical id writes it (`Get`).
    pub const fn title(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Head => "Head",
            Method::Post => "Post",
            Method::Put => "Put",
            Method::Patch => "Patch",
            Method::Delete => "Delete",
        }
    }
}

/// API Gateway's per-route budget, tighter than the stage's default: requests past it
/// are refused (429) before any function runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    pub burst: u32,
    /// Requests a second.
    pub rate: u32,
}

/// One route of the API that reaches the function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    /// Whether the session authorizer runs first (`AuthorizationType: CUSTOM`). Without
    /// it the function checks its own credentials (a partner key, a signed link, an
    /// optional token) or needs none.
    pub authorizer: bool,
    /// The route's part of its resource name (`<Function><name>Route`): the method's
    /// title unless two routes of one function share a method.
    pub name: Option<&'static str>,
    pub throttle: Option<Throttle>,
    /// The permission a caller needs (checked before the body is read): callers without
    /// it get 403 whatever they send. None where who may call depends on the object.
    pub requires: Option<Permission>,
}

impl Route {
    const fn new(method: Method, path: &'static str) -> Self {
        Self {
            method,
            path,
            authorizer: true,
            name: None,
            throttle: None,
            requires: None,
        }
    }

    pub const fn get(path: &'static str) -> Self {
        Self::new(Method::Get, path)
    }

    pub const fn head(path: &'static str) -> Self {
        Self::new(Method::Head, path)
    }

    pub const fn post(path: &'static str) -> Self {
        Self::new(Method::Post, path)
    }

    pub const fn put(path: &'static str) -> Self {
        Self::new(Method::Put, path)
    }

    pub const fn patch(path: &'static str) -> Self {
        Self::new(Method::Patch, path)
    }

    pub const fn delete(path: &'static str) -> Self {
        Self::new(Method::Delete, path)
    }

    /// The session authorizer does not run: the function authenticates the caller itself.
    pub const fn without_authorizer(mut self) -> Self {
        self.authorizer = false;
        self
    }

    /// Names the route's resource (`<Function><name>Route`) where the method alone is
    /// not unique within the function.
    pub const fn named(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    pub const fn throttle(mut self, burst: u32, rate: u32) -> Self {
        self.throttle = Some(Throttle { burst, rate });
        self
    }

    /// Callers need `permission` (behind the session authorizer only: without it the
    /// function authenticates, and checks, itself).
    pub const fn requires(mut self, permission: Permission) -> Self {
        self.requires = Some(permission);
        self
    }

    /// Whether this is the route of `key` (`POST /api/orders/assignDriver`).
    pub fn is(&self, key: &str) -> bool {
        key.split_once(' ') == Some((self.method.as_str(), self.path))
    }

    /// `POST /api/auth/login`: the key API Gateway routes by.
    pub fn key(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}
